//! Storage ports: one narrow trait per need, so each function depends only on
//! what it calls. [`dynamodb`] is the production adapter; [`memory`] serves
//! unit tests of the domain and the handlers.

use std::future::Future;

use crate::domain::{User, UserId, Username};
use crate::lockout::Attempts;
use crate::passwords::PasswordHash;

pub mod dynamodb;
pub mod memory;

use crate::error::Cause;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("username already taken")]
    UsernameTaken,
    /// The database cannot be reached, timed out or throttled us: worth a retry.
    #[error("database unavailable")]
    Unavailable(#[source] Cause),
    /// Refused, or answered with data that does not decode: a defect, not
    /// worth a retry.
    #[error("database request failed")]
    Failed(#[source] Cause),
}

/// The DynamoDB tables, by name. Their keys are in [`dynamodb::schema`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableNames {
    pub users: String,
    pub usernames: String,
    pub revoked_tokens: String,
    pub login_attempts: String,
}

impl Default for TableNames {
    fn default() -> Self {
        TableNames {
            users: "users".into(),
            usernames: "usernames".into(),
            revoked_tokens: "revoked-tokens".into(),
            login_attempts: "login-attempts".into(),
        }
    }
}

/// What login needs to check a password: the owner and the stored hash.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user_id: UserId,
    pub password_hash: PasswordHash,
}

pub trait UserStore: Send + Sync {
    /// Stores the user and claims the username, both or neither.
    /// Fails with [`StoreError::UsernameTaken`] if the name is claimed.
    fn create_user(&self, user: &User, hash: &PasswordHash) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn get_user(&self, id: &UserId) -> impl Future<Output = Result<Option<User>, StoreError>> + Send;
}

pub trait CredentialStore: Send + Sync {
    /// A strongly consistent read: a user who just signed up can log in.
    fn credentials(&self, username: &Username) -> impl Future<Output = Result<Option<Credentials>, StoreError>> + Send;
}

/// Failed logins per username, shared by every login instance. The policy
/// over these counts is [`crate::lockout`]'s.
pub trait LoginAttemptStore: Send + Sync {
    /// The failures counted for this name and its lock, as of `now` (Unix
    /// seconds): a window that has ended counts as none.
    fn attempts(&self, username: &Username, now: u64) -> impl Future<Output = Result<Attempts, StoreError>> + Send;

    /// Counts a failure atomically and returns the failures in the current
    /// window; `now` and the window are Unix seconds.
    fn record_failure(
        &self,
        username: &Username,
        now: u64,
        window: u64,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Refuses logins for this name until `until` (Unix seconds); the count
    /// is kept for `window` seconds after that.
    fn lock(&self, username: &Username, until: u64, window: u64)
        -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Forgets the failures: after a successful login.
    fn reset(&self, username: &Username) -> impl Future<Output = Result<(), StoreError>> + Send;
}

pub trait RevocationStore: Send + Sync {
    /// Records that the token `jti` is revoked until `expires_at` (Unix seconds).
    fn revoke(&self, jti: &str, expires_at: u64) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn is_revoked(&self, jti: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;
}
