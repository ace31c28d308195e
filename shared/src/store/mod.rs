//! Storage ports: one narrow trait per need, so each function depends only on
//! what it calls. [`dynamodb`] is the production adapter; [`memory`] serves
//! unit tests of the domain and the handlers.

use std::future::Future;

use crate::domain::{Rotation, Session, SessionId, User, UserId, Username};
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
    pub sessions: String,
    pub login_attempts: String,
}

impl Default for TableNames {
    fn default() -> Self {
        TableNames {
            users: "users".into(),
            usernames: "usernames".into(),
            sessions: "sessions".into(),
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

/// A new password hash for a user, from the hash it replaces; every session
/// of the user but `keep` ends with the old password.
#[derive(Debug)]
pub struct PasswordChange {
    pub user_id: UserId,
    pub username: Username,
    pub from: PasswordHash,
    pub to: PasswordHash,
    pub keep: SessionId,
}

pub trait UserStore: Send + Sync {
    /// Stores the user and claims the username, both or neither.
    /// Fails with [`StoreError::UsernameTaken`] if the name is claimed.
    fn create_user(&self, user: &User, hash: &PasswordHash) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn get_user(&self, id: &UserId) -> impl Future<Output = Result<Option<User>, StoreError>> + Send;
}

/// Deleting an account, all of it or none of it.
pub trait AccountStore: Send + Sync {
    /// Deletes the user, its username claim (the password hash with it) and
    /// every session it has, at once; then any session a login racing the
    /// deletion stored meanwhile. `false`, and nothing deleted, when the
    /// user or its claim is gone already (a concurrent deletion won).
    fn delete_account(&self, user: &User) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

pub trait CredentialStore: Send + Sync {
    /// A strongly consistent read: a user who just signed up can log in.
    fn credentials(&self, username: &Username) -> impl Future<Output = Result<Option<Credentials>, StoreError>> + Send;

    /// Replaces the hash and ends every other session at once. `false`, and
    /// nothing changed, when the stored hash is no longer `from` (a
    /// concurrent change won) or the claim is gone.
    fn change_password(&self, change: &PasswordChange) -> impl Future<Output = Result<bool, StoreError>> + Send;
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

/// Sessions, keyed by their user and their id. Every read is strongly
/// consistent: an ended session must stop its tokens at once, everywhere.
pub trait SessionStore: Send + Sync {
    /// Stores a new session.
    fn create_session(&self, session: &Session) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn session(
        &self,
        user_id: &UserId,
        id: &SessionId,
    ) -> impl Future<Output = Result<Option<Session>, StoreError>> + Send;

    /// Every session of the user, ended ones included until they are removed.
    fn sessions(&self, user_id: &UserId) -> impl Future<Output = Result<Vec<Session>, StoreError>> + Send;

    /// The ids of every session of the user, read without decoding the rest
    /// of each item: ending them all must not fail on one bad item.
    fn session_ids(&self, user_id: &UserId) -> impl Future<Output = Result<Vec<SessionId>, StoreError>> + Send;

    /// Applies a refresh's rotation in one conditional write, and returns the
    /// session as it left it; `None` when the spent token is not the current
    /// one (spent already, or never this session's) or the session has ended.
    fn rotate(&self, rotation: &Rotation) -> impl Future<Output = Result<Option<Session>, StoreError>> + Send;

    /// Ends the session; `false` if there was none.
    fn end_session(&self, user_id: &UserId, id: &SessionId) -> impl Future<Output = Result<bool, StoreError>> + Send;
}
