//! The operations, one module each, as rules over the storage ports. HTTP
//! stays outside: each function's handler parses the request, calls its
//! operation, and turns the result into a response.
//!
//! Every operation takes its ports first, then its settings, then the time
//! (`now`, from the function's clock), then the caller's input.

mod admit_sign_up;
mod authorize;
mod change_password;
mod create_user;
mod delete_user;
mod get_user;
mod list_sessions;
mod login;
mod logout;
mod refresh;
mod revoke_session;

pub use admit_sign_up::{admit_sign_up, SIGN_UP_WINDOW_SECONDS};
pub use authorize::authorize;
pub use change_password::{change_password, PasswordChangeAttempt};
pub use create_user::create_user;
pub use delete_user::{delete_user, DeletionAttempt};
pub use get_user::{get_user, Whose};
pub use list_sessions::list_sessions;
pub use login::{login, LoginAttempt};
pub use logout::{logout, LogoutScope};
pub use refresh::{refresh, RefreshPolicy};
pub use revoke_session::revoke_session;

use secrecy::{ExposeSecret, SecretString};

use crate::domain::{normalized, Session, SessionId, User, UserId, Username};
use crate::lockout::{self, LockoutError};
use crate::passwords::{HashingError, PasswordHash, PasswordHasher};
use crate::store::{CredentialStore, Credentials, LoginAttemptStore, SessionStore, UserStore};
use crate::telemetry;
use crate::tokens::{IssuedToken, TokenVerifier};
use crate::ApiError;

/// What an access token claims: its user and its session, not yet checked
/// against the store.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Claimed {
    user_id: UserId,
    session_id: SessionId,
}

/// Who presented an access token, checked: a user that exists, and its
/// active session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user: User,
    pub session_id: SessionId,
}

/// A new access token and the session's current refresh token: what login
/// and refresh answer. Its `Debug` output is redacted.
pub struct IssuedSession {
    pub access: IssuedToken,
    pub refresh_token: String,
}

impl std::fmt::Debug for IssuedSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IssuedSession {{ expires_in: {}, [REDACTED] }}", self.access.expires_in)
    }
}

/// What an access token claims, if it is genuine and unexpired at `now`.
/// Neither its session nor its user is checked: see [`authenticate`].
fn claimed(verifier: &TokenVerifier, now: u64, token: &str) -> Result<Claimed, ApiError> {
    let claims = verifier.verify(token, now)?;
    match (UserId::parse(&claims.sub), SessionId::parse(&claims.sid)) {
        (Some(user_id), Some(session_id)) => Ok(Claimed { user_id, session_id }),
        _ => Err(ApiError::InvalidToken),
    }
}

/// The one refusal of a token whose session has ended, or whose user is
/// gone, whoever checked it. An account deletion ends every session with the
/// user, in one transaction; the user is checked as well, so that a session
/// record that outlived its user (stored by a login racing the deletion, or
/// by anything else) still opens nothing.
fn admit_caller(claimed: Claimed, session: Option<&Session>, user: Option<User>, now: u64) -> Result<Caller, ApiError> {
    if !session.is_some_and(|session| session.is_active(now)) {
        tracing::info!(session_id = %claimed.session_id, "access token of an ended session presented");
        return Err(ApiError::InvalidToken);
    }
    let Some(user) = user.filter(|user| user.id == claimed.user_id) else {
        tracing::warn!(session_id = %claimed.session_id, "access token of a deleted user presented");
        return Err(ApiError::InvalidToken);
    };
    Ok(Caller { user, session_id: claimed.session_id })
}

/// Verifies a bearer token at `now`, and checks that its session is active
/// and its user exists: two reads at once, one round trip.
pub async fn authenticate<S>(store: &S, verifier: &TokenVerifier, now: u64, token: &str) -> Result<Caller, ApiError>
where
    S: SessionStore + UserStore,
{
    let claimed = claimed(verifier, now, token)?;
    let (session, user) =
        tokio::join!(store.session(&claimed.user_id, &claimed.session_id), store.get_user(&claimed.user_id));
    admit_caller(claimed, session?.as_ref(), user?, now)
}

/// Checks a password for a username at `now`, from a source address, under
/// the lockout ([`crate::lockout`]): the attempt is claimed (counted as a
/// failure) before any argon2 work, refused while its address is locked or
/// the name is closed to it, and forgotten if the password is right. An
/// unknown name costs the same argon2 work and gets the same answer as a
/// wrong password. Login, password change and account deletion all check
/// passwords here.
async fn check_password<S>(
    store: &S,
    passwords: &dyn PasswordHasher,
    now: u64,
    username: &Username,
    address: &str,
    password: SecretString,
) -> Result<Credentials, ApiError>
where
    S: CredentialStore + LoginAttemptStore,
{
    // The lockout's two items and the credentials at once: one round trip of
    // latency, for one wasted read unit when the check is refused. The lock
    // is judged first, so a failed credentials read never turns a 429 into a
    // 503 (the attempt is counted all the same: counting errs on the safe side).
    let (standing, credentials) =
        tokio::join!(lockout::standing(store, username, address, now), store.credentials(username));
    // The name's user, if the read says: an address is known to a user, not
    // to a name that may have changed hands.
    let owner = credentials.as_ref().ok().and_then(|found| found.as_ref().map(|found| found.user_id.clone()));
    let claimed =
        lockout::claim(store, username, address, &standing?, owner.as_ref(), now).await.inspect_err(|err| {
            if let LockoutError::Locked { retry_after } = err {
                let username = telemetry::username_pseudonym(username.as_str());
                tracing::info!(source_ip = address, username, retry_after, "password check refused: locked");
            }
        })?;
    let credentials = credentials?;
    let stored = credentials.as_ref().map(|found| found.password_hash.clone());
    let matches = verify_normalized(passwords, password, stored).await?;
    match credentials {
        Some(found) if matches => {
            lockout::record_success(store, username, address, &found.user_id, claimed, now).await?;
            Ok(found)
        }
        _ => {
            let username = telemetry::username_pseudonym(username.as_str());
            tracing::info!(source_ip = address, username, failures = claimed.failures, "password check failed");
            Err(ApiError::InvalidCredentials)
        }
    }
}

/// Checks a candidate password in its NFKC form, as every password has been
/// hashed since passwords are normalised. A hash made before that was made
/// from the password as typed: a candidate that NFKC changes is checked as
/// typed too when the first check fails. That second run happens whether or
/// not a hash is stored, so that it does not tell whether the user exists.
async fn verify_normalized(
    passwords: &dyn PasswordHasher,
    candidate: SecretString,
    stored: Option<PasswordHash>,
) -> Result<bool, HashingError> {
    let normal = normalized(&candidate);
    let changed = normal.expose_secret() != candidate.expose_secret();
    if passwords.verify(normal, stored.clone()).await? {
        return Ok(true);
    }
    match changed {
        true => passwords.verify(candidate, stored).await,
        false => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Client;
    use crate::passwords::Argon2id;
    use crate::store::memory::MemoryStore;
    use crate::test_support::{now, TestKeys, LIFETIME, MIN_LENGTH, PASSWORD};

    fn attempt(username: &str) -> LoginAttempt {
        LoginAttempt { username: username.into(), password: PASSWORD.into(), client: Client::default() }
    }

    #[tokio::test]
    async fn the_whole_story_over_the_memory_store() {
        let store = MemoryStore::default();
        let keys = TestKeys::generate();
        let (issuer, verifier) = (keys.issuer(), keys.verifier());

        let user = create_user(&store, &Argon2id, MIN_LENGTH, "Alice", PASSWORD.into()).await.unwrap();
        assert_eq!(user.username.as_str(), "alice");
        let err = create_user(&store, &Argon2id, MIN_LENGTH, "ALICE", PASSWORD.into()).await.unwrap_err();
        assert_eq!(err.code(), "username_taken");

        let issued = login(&store, &Argon2id, &issuer, LIFETIME, now(), attempt("alice")).await.unwrap();
        let bearer = issued.access.access_token.as_str();
        let by_id = |id| Whose::Id(id);
        assert_eq!(get_user(&store, &verifier, now(), bearer, by_id(user.id.as_str())).await.unwrap(), user);
        assert_eq!(get_user(&store, &verifier, now(), bearer, Whose::Caller).await.unwrap(), user);
        assert_eq!(get_user(&store, &verifier, now(), bearer, by_id("nope")).await.unwrap_err().code(), "not_found");
        let missing = UserId::new_random();
        let err = get_user(&store, &verifier, now(), bearer, by_id(missing.as_str())).await.unwrap_err();
        assert_eq!(err.code(), "not_found");
        let err = get_user(&store, &verifier, now(), "garbage", by_id(user.id.as_str())).await.unwrap_err();
        assert_eq!(err.code(), "invalid_token");

        let caller = authenticate(&store, &verifier, now(), bearer).await.unwrap();
        assert_eq!(caller.user, user);

        logout(&store, &verifier, now(), bearer, LogoutScope::Local).await.unwrap();
        let err = authenticate(&store, &verifier, now(), bearer).await.unwrap_err();
        assert_eq!(err.code(), "invalid_token");
        // An ended session wins over a missing or malformed id: no 404 for a dead token.
        for whose in [by_id(user.id.as_str()), by_id(missing.as_str()), by_id("nope"), Whose::Caller] {
            let err = get_user(&store, &verifier, now(), bearer, whose).await.unwrap_err();
            assert_eq!(err.code(), "invalid_token", "{whose:?}");
        }
        let err = logout(&store, &verifier, now(), bearer, LogoutScope::Local).await.unwrap_err();
        assert_eq!(err.code(), "invalid_token");
    }

    #[tokio::test]
    async fn a_token_is_refused_once_its_time_is_up_or_its_session_is_gone() {
        let store = MemoryStore::default();
        let keys = TestKeys::generate();
        create_user(&store, &Argon2id, MIN_LENGTH, "dora", PASSWORD.into()).await.unwrap();
        let issued_at = now();
        let issued = login(&store, &Argon2id, &keys.issuer(), LIFETIME, issued_at, attempt("dora")).await.unwrap();
        let token = issued.access.access_token;
        let ttl = keys.settings.ttl.as_secs();
        assert!(authenticate(&store, &keys.verifier(), issued_at + ttl - 1, &token).await.is_ok());
        let err = authenticate(&store, &keys.verifier(), issued_at + ttl, &token).await.unwrap_err();
        assert_eq!(err.code(), "invalid_token");
        // A token of a session that was never stored.
        let stray = keys.issuer().issue(&UserId::new_random(), &SessionId::new_random(), issued_at).unwrap();
        let err = authenticate(&store, &keys.verifier(), issued_at, &stray.access_token).await.unwrap_err();
        assert_eq!(err.code(), "invalid_token");
    }
}
