//! Storage ports: one narrow trait per need, so each function depends only on
//! what it calls. [`dynamodb`] is the production adapter; [`memory`] serves
//! unit tests of the domain and the handlers, and `faulty` is the same with
//! faults injected, for the operations' unit tests.

use std::collections::BTreeSet;
use std::future::Future;

use crate::domain::{ActivityEvent, ActivityPage};
use crate::domain::{AddressClaim, NameClaim, Standing};
use crate::domain::{Ceremony, CeremonyKey, PasskeyRecord};
use crate::domain::{CodePurpose, EmailAddress, PendingCode};
use crate::domain::{FactorUse, PendingSignIn, SealedSecret};
use crate::domain::{Rotation, Session, SessionId, User, UserId, Username};
use crate::passwords::PasswordHash;

pub mod dynamodb;
#[cfg(test)]
pub mod faulty;
#[cfg(any(test, feature = "test-support"))]
pub mod memory;

pub use crate::config::TableNames;

use crate::BoxError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("username already taken")]
    UsernameTaken,
    /// The database cannot be reached, timed out or throttled us: worth a retry.
    #[error("database unavailable")]
    Unavailable(#[source] BoxError),
    /// Refused, or answered with data that does not decode: a defect, not
    /// worth a retry.
    #[error("database request failed")]
    Failed(#[source] BoxError),
}

/// What login needs to check a password: the owner, the stored hash, and
/// the credential generation the hash belongs to.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user_id: UserId,
    pub password_hash: PasswordHash,
    pub generation: u64,
    /// Whether a login must be completed with a second factor.
    pub second_factor: bool,
    /// Whether an operator disabled the account.
    pub disabled: bool,
}

/// A new password hash for a user, from the hash it replaces: the user's
/// credential generation moves from `generation` to the next, so every
/// session of the user but `keep` is left behind with the old password.
#[derive(Debug)]
pub struct PasswordChange {
    pub user_id: UserId,
    pub username: Username,
    pub from: PasswordHash,
    pub to: PasswordHash,
    pub generation: u64,
    pub keep: SessionId,
}

impl PasswordChange {
    /// The generation the change moves the credentials to.
    pub fn next_generation(&self) -> u64 {
        self.generation + 1
    }
}

pub trait UserStore: Send + Sync {
    /// Stores the user and claims the username, both or neither.
    /// Fails with [`StoreError::UsernameTaken`] if the name is claimed.
    fn create_user(&self, user: &User, hash: &PasswordHash) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn get_user(&self, id: &UserId) -> impl Future<Output = Result<Option<User>, StoreError>> + Send;
}

/// What verifying an address came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailVerification {
    /// The code is consumed, the address verified on the profile and claimed.
    Verified,
    /// The code was used, replaced or voided meanwhile, or the profile's
    /// address is no longer the one it was sent to: nothing changed.
    CodeGone,
    /// Another account verified the address first: nothing changed.
    AddressTaken,
}

/// Addresses on profiles, the claims of verified ones, and the one-time
/// codes that prove them. Every read is strongly consistent.
pub trait EmailStore: Send + Sync {
    /// Stores `code` over any code of its user and purpose, which it voids.
    fn put_code(&self, code: &PendingCode) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn pending_code(
        &self,
        user_id: &UserId,
        purpose: CodePurpose,
    ) -> impl Future<Output = Result<Option<PendingCode>, StoreError>> + Send;

    /// Spends one try of `code`, if it is still the stored code with tries
    /// left; `false`, and nothing written, otherwise.
    fn spend_try(&self, code: &PendingCode) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The account that holds `address`, verified.
    fn address_owner(&self, address: &EmailAddress) -> impl Future<Output = Result<Option<UserId>, StoreError>> + Send;

    /// Puts `address` on the user's profile, unverified, and gives up the
    /// claim of `release` (the verified address it replaces), at once.
    /// `false`, and nothing changed, when the user is gone.
    fn set_email(
        &self,
        user_id: &UserId,
        address: &EmailAddress,
        release: Option<&EmailAddress>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Consumes `code`, if it is still the stored code, with tries left and
    /// in time at `now`, and marks its address verified on its user and
    /// claimed for it: all of it or none.
    fn verify_email(
        &self,
        code: &PendingCode,
        now: u64,
    ) -> impl Future<Output = Result<EmailVerification, StoreError>> + Send;
}

/// A password set by recovery: the new hash on the user's name, the
/// credential generation moved on (every session then opens nothing), and
/// the recovery code consumed, all at once, on the condition that the code
/// is still the one checked and the credentials the ones read.
#[derive(Debug)]
pub struct PasswordReset {
    pub code: PendingCode,
    pub username: Username,
    pub to: PasswordHash,
    /// The user's credential generation, as read (its name's is the same).
    pub generation: u64,
    pub now: u64,
}

/// Account recovery: how often it may be asked for, and the reset itself.
pub trait RecoveryStore: Send + Sync {
    /// Counts a recovery request from `address` in the window from `start`
    /// to `end` (Unix seconds), if fewer than `limit` were counted in it;
    /// `false`, and nothing written, otherwise.
    fn count_recovery(
        &self,
        address: &str,
        start: u64,
        end: u64,
        limit: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Counts a recovery request for the user at `now` if the user has had
    /// none in the last minute and fewer than five in the hour; `false`, and
    /// nothing written, otherwise.
    fn admit_recovery(&self, user_id: &UserId, now: u64) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Applies the reset; `false`, and nothing changed, when the code was
    /// used, replaced or voided meanwhile, or the credentials changed.
    fn reset_password(&self, reset: &PasswordReset) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// The second factor on a user's item, and the logins waiting for it.
/// Every write is conditional on what the rule read, so that a code is
/// spent once however many requests present it at the same time.
pub trait SecondFactorStore: Send + Sync {
    /// Puts `sealed` on the user as the pending secret, over any pending
    /// one; `false`, and nothing written, when the user is gone or has an
    /// active factor.
    fn put_pending_totp(
        &self,
        user_id: &UserId,
        sealed: &SealedSecret,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Makes the pending secret `sealed` the user's factor, with step `step`
    /// used and `recovery_codes`, and makes its name ask for the factor at
    /// login, at once; `false`, and nothing written, when the pending secret
    /// is no longer `sealed` or a factor is active.
    fn activate_totp(
        &self,
        user: &User,
        sealed: &SealedSecret,
        step: u64,
        recovery_codes: &BTreeSet<String>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Spends `used` (a step later than the last used, or a recovery code
    /// still left) and, when given, replaces the recovery codes; `false`,
    /// and nothing written, when it was spent meanwhile.
    fn spend_factor(
        &self,
        user_id: &UserId,
        used: &FactorUse,
        replace: Option<&BTreeSet<String>>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Removes the factor and its recovery codes from the user and the
    /// demand from its name, at once; `false`, and nothing written, when
    /// the factor is gone.
    fn remove_totp(&self, user: &User) -> impl Future<Output = Result<bool, StoreError>> + Send;

    fn put_pending_sign_in(&self, pending: &PendingSignIn) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A strongly consistent read of the pending sign-in of a token's hash.
    fn pending_sign_in(
        &self,
        token_hash: &str,
    ) -> impl Future<Output = Result<Option<PendingSignIn>, StoreError>> + Send;

    /// Spends a try of `pending` if it has one left; `false` otherwise.
    fn spend_sign_in_try(&self, pending: &PendingSignIn) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Consumes `pending` (in time at `now`, with tries left), spends `used`
    /// and stores `session`, on the condition that the user is still of the
    /// credential generation `pending` was of: all of it or none.
    fn complete_sign_in(
        &self,
        pending: &PendingSignIn,
        used: &FactorUse,
        session: &Session,
        now: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// What operators do to an account, each all at once or not at all.
pub trait OperatorStore: Send + Sync {
    /// Marks the user and its name disabled, with `disabled`'s when, why and
    /// by whom, and
    /// moves the credential generation on, so that every session of the
    /// account opens nothing from then on, even once it is enabled again;
    /// `false`, and nothing changed, when the user or its name is gone.
    fn disable_account(
        &self,
        user: &User,
        disabled: &crate::domain::Disabled,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Clears the mark; `false`, and nothing changed, when the user or its
    /// name is gone.
    fn enable_account(&self, user: &User) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// Each user's passkeys, and the WebAuthn ceremonies waiting for a browser.
pub trait PasskeyStore: Send + Sync {
    /// Keeps a ceremony's state until it expires, over any under its key
    /// (a new registration voids the user's last).
    fn put_ceremony(&self, ceremony: &Ceremony) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Consumes the ceremony under `key`: its state if it was there and in
    /// time at `now`. One deletion, so of concurrent answers to one
    /// ceremony exactly one gets its state.
    fn take_ceremony(
        &self,
        key: &CeremonyKey,
        now: u64,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    /// Stores a new passkey; `false`, and nothing written, when the user
    /// holds one of that id already.
    fn add_passkey(&self, record: &PasskeyRecord) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The user's passkeys, oldest first; a strongly consistent read.
    fn passkeys(&self, user_id: &UserId) -> impl Future<Output = Result<Vec<PasskeyRecord>, StoreError>> + Send;

    /// One passkey of the user; a strongly consistent read.
    fn passkey(
        &self,
        user_id: &UserId,
        id: &str,
    ) -> impl Future<Output = Result<Option<PasskeyRecord>, StoreError>> + Send;

    /// Records a sign-in with the passkey at `at`, and its credential when
    /// its sign counter or backup state moved; `false` when it is gone.
    fn passkey_used(
        &self,
        user_id: &UserId,
        id: &str,
        at: u64,
        credential: Option<&str>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Deletes one passkey; `false` when the user held none of that id.
    fn remove_passkey(&self, user_id: &UserId, id: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// Each user's security activity, newest first, kept for a number of days.
pub trait ActivityStore: Send + Sync {
    /// Stores the event, over any event of its user with the same key: a
    /// login's attempt is recorded as failed, then as what it came to.
    fn record(&self, event: &ActivityEvent) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// At most `limit` of the user's events, newest first, from after the
    /// event keyed `after` when given; the page's `next` is absent when no
    /// event follows it.
    fn activity(
        &self,
        user_id: &UserId,
        limit: usize,
        after: Option<&str>,
    ) -> impl Future<Output = Result<ActivityPage, StoreError>> + Send;
}

/// The most recovery requests a user may make in an hour, and how long after
/// one the next may come.
pub const RECOVERIES_PER_USER_PER_HOUR: u64 = 5;
pub const RECOVERY_INTERVAL_SECONDS: u64 = 60;

/// Deleting an account, all of it or none of it.
pub trait AccountStore: Send + Sync {
    /// Deletes the user, its username claim (the password hash with it), its
    /// address's claim, its codes and every session it has, at once; then any session a login racing the
    /// deletion stored meanwhile, and its passkeys (which sign nothing in
    /// once the user is gone). `false`, and nothing deleted, when the
    /// user or its claim is gone already (a concurrent deletion won).
    fn delete_account(&self, user: &User) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

pub trait CredentialStore: Send + Sync {
    /// A strongly consistent read: a user who just signed up can log in.
    fn credentials(&self, username: &Username) -> impl Future<Output = Result<Option<Credentials>, StoreError>> + Send;

    /// Replaces the hash and moves the credential generation on, on the
    /// username and the user at once, and moves the kept session along:
    /// every other session is then of an older generation, and opens nothing
    /// whenever it was stored. `false`, and nothing changed, when the stored
    /// hash is no longer `from` (a concurrent change won), the claim is gone,
    /// or the kept session has ended. Ending the other sessions' records is
    /// the caller's next step, not a condition of the change.
    fn change_password(&self, change: &PasswordChange) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// Password checks per username and source address, and per username
/// alone, shared by every instance. The policy over these counts is
/// [`crate::lockout`]'s; every read is strongly consistent, every write
/// conditional or idempotent.
pub trait LoginAttemptStore: Send + Sync {
    /// Both counts for a check from `address` at `username`, as of `now`
    /// (Unix seconds): a window that has ended counts as none.
    fn standing(
        &self,
        username: &Username,
        address: &str,
        now: u64,
    ) -> impl Future<Output = Result<Standing, StoreError>> + Send;

    /// Writes the claim if the address's stored count is still the one it
    /// expects and no lock holds at its time; `false`, and nothing written,
    /// otherwise.
    fn claim_address(
        &self,
        username: &Username,
        address: &str,
        claim: &AddressClaim,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Counts a failure for the name as the claim says; `false`, and nothing
    /// written, when the name is at its cap (or its count changed under a
    /// fresh start).
    fn claim_name(
        &self,
        username: &Username,
        claim: &NameClaim,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// After a success: the address's failures forgotten, and the address
    /// known to `owner`, the user it logged in as, until `known_until`.
    fn mark_known(
        &self,
        username: &Username,
        address: &str,
        owner: &UserId,
        known_until: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// After a success: the name's count forgotten.
    fn forget_name(&self, username: &Username) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Sign-ups per source address and window, shared by every instance.
pub trait SignUpStore: Send + Sync {
    /// Counts a sign-up from `address` in the window that starts at `start`
    /// and ends at `end` (Unix seconds), if fewer than `limit` were counted
    /// in it; `false`, and nothing written, otherwise.
    fn count_sign_up(
        &self,
        address: &str,
        start: u64,
        end: u64,
        limit: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// Sessions, keyed by their user and their id. Every read is strongly
/// consistent: an ended session must stop its tokens at once, everywhere.
pub trait SessionStore: Send + Sync {
    /// Stores a new session, whatever the credentials: for set-up and tests.
    /// Login uses [`SessionStore::start_session`].
    fn create_session(&self, session: &Session) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Stores a new session of the user whose password was just checked, if
    /// the username is still that user's, with the hash checked: a login that
    /// checked a password that a concurrent change replaced, or whose account
    /// a concurrent deletion removed, starts nothing. `false`, and nothing
    /// stored, otherwise.
    fn start_session(
        &self,
        session: &Session,
        username: &Username,
        checked: &PasswordHash,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

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

    /// Each session of the user with when it was last refreshed (or
    /// started), read without decoding the rest of each item.
    fn session_ages(&self, user_id: &UserId) -> impl Future<Output = Result<Vec<(SessionId, u64)>, StoreError>> + Send;

    /// Ends the sessions, in at most one call per hundred of them.
    fn end_sessions(&self, user_id: &UserId, ids: &[SessionId]) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Applies a refresh's rotation in one conditional write, and returns the
    /// session as it left it; `None` when the spent token is not the current
    /// one (spent already, or never this session's) or the session has ended.
    fn rotate(&self, rotation: &Rotation) -> impl Future<Output = Result<Option<Session>, StoreError>> + Send;

    /// Ends the session; `false` if there was none.
    fn end_session(&self, user_id: &UserId, id: &SessionId) -> impl Future<Output = Result<bool, StoreError>> + Send;
}
