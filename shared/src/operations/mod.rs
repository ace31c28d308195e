//! The operations, one module each, as rules over the storage ports. HTTP
//! stays outside: each function's handler parses the request, calls its
//! operation, and turns the result into a response.
//!
//! Every operation takes its ports first, then its settings, then the time
//! (`now`, from the function's clock), then the caller's input.

mod create_user;
mod get_user;
mod list_sessions;
mod login;
mod logout;
mod refresh;
mod revoke_session;

pub use create_user::create_user;
pub use get_user::get_user;
pub use list_sessions::list_sessions;
pub use login::{login, LoginAttempt};
pub use logout::{logout, LogoutScope};
pub use refresh::{refresh, RefreshPolicy};
pub use revoke_session::revoke_session;

use crate::domain::{Session, SessionId, UserId};
use crate::store::SessionStore;
use crate::tokens::{IssuedToken, TokenVerifier};
use crate::ApiError;

/// Who presented an access token: its user and its session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user_id: UserId,
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

/// The caller an access token names, if it is genuine and unexpired at `now`.
/// Its session is not checked: see [`authenticate`].
fn caller(verifier: &TokenVerifier, now: u64, token: &str) -> Result<Caller, ApiError> {
    let claims = verifier.verify(token, now)?;
    match (UserId::parse(&claims.sub), SessionId::parse(&claims.sid)) {
        (Some(user_id), Some(session_id)) => Ok(Caller { user_id, session_id }),
        _ => Err(ApiError::InvalidToken),
    }
}

/// The one refusal of a token whose session has ended, whoever checked it.
fn refuse_unless_active(caller: &Caller, session: Option<&Session>, now: u64) -> Result<(), ApiError> {
    if !session.is_some_and(|session| session.is_active(now)) {
        tracing::info!(session_id = %caller.session_id, "access token of an ended session presented");
        return Err(ApiError::InvalidToken);
    }
    Ok(())
}

/// Verifies a bearer token at `now` and checks that its session is active:
/// one strongly consistent read.
pub async fn authenticate(
    sessions: &impl SessionStore,
    verifier: &TokenVerifier,
    now: u64,
    token: &str,
) -> Result<Caller, ApiError> {
    let caller = caller(verifier, now, token)?;
    let session = sessions.session(&caller.user_id, &caller.session_id).await?;
    refuse_unless_active(&caller, session.as_ref(), now)?;
    Ok(caller)
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
        assert_eq!(get_user(&store, &verifier, now(), bearer, user.id.as_str()).await.unwrap(), user);
        assert_eq!(get_user(&store, &verifier, now(), bearer, "nope").await.unwrap_err().code(), "not_found");
        let missing = UserId::new_random();
        let err = get_user(&store, &verifier, now(), bearer, missing.as_str()).await.unwrap_err();
        assert_eq!(err.code(), "not_found");
        let err = get_user(&store, &verifier, now(), "garbage", user.id.as_str()).await.unwrap_err();
        assert_eq!(err.code(), "invalid_token");

        let caller = authenticate(&store, &verifier, now(), bearer).await.unwrap();
        assert_eq!(caller.user_id, user.id);

        logout(&store, &verifier, now(), bearer, LogoutScope::Local).await.unwrap();
        let err = authenticate(&store, &verifier, now(), bearer).await.unwrap_err();
        assert_eq!(err.code(), "invalid_token");
        // An ended session wins over a missing or malformed id: no 404 for a dead token.
        for id in [user.id.as_str(), missing.as_str(), "nope"] {
            let err = get_user(&store, &verifier, now(), bearer, id).await.unwrap_err();
            assert_eq!(err.code(), "invalid_token", "{id}");
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
