//! The operations, one module each, as rules over the storage ports. HTTP
//! stays outside: each function's handler parses the request, calls its
//! operation, and turns the result into a response.
//!
//! Every operation takes its ports first, then the time (`now`, from the
//! function's clock) where a rule needs it, then the caller's input.

mod create_user;
mod get_user;
mod login;
mod logout;

pub use create_user::create_user;
pub use get_user::get_user;
pub use login::login;
pub use logout::logout;

use crate::store::RevocationStore;
use crate::tokens::{Claims, TokenVerifier};
use crate::ApiError;

/// Verifies a bearer token at `now` and checks that it has not been revoked.
pub async fn authenticate(
    revocations: &impl RevocationStore,
    verifier: &TokenVerifier,
    now: u64,
    token: &str,
) -> Result<Claims, ApiError> {
    let claims = verifier.verify(token, now)?;
    refuse_if_revoked(&claims, revocations.is_revoked(&claims.jti).await?)?;
    Ok(claims)
}

/// The one refusal of a revoked token, whoever checked it.
fn refuse_if_revoked(claims: &Claims, revoked: bool) -> Result<(), ApiError> {
    if revoked {
        tracing::info!(jti = %claims.jti, "revoked token presented");
        return Err(ApiError::InvalidToken);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::UserId;
    use crate::passwords::Argon2id;
    use crate::store::memory::MemoryStore;
    use crate::test_support::{now, TestKeys, MIN_LENGTH, PASSWORD};

    #[tokio::test]
    async fn the_whole_story_over_the_memory_store() {
        let store = MemoryStore::default();
        let keys = TestKeys::generate();
        let (issuer, verifier) = (keys.issuer(), keys.verifier());

        let user = create_user(&store, &Argon2id, MIN_LENGTH, "Alice", PASSWORD.into()).await.unwrap();
        assert_eq!(user.username.as_str(), "alice");
        let err = create_user(&store, &Argon2id, MIN_LENGTH, "ALICE", PASSWORD.into()).await.unwrap_err();
        assert_eq!(err.code(), "username_taken");

        let token = login(&store, &Argon2id, &issuer, now(), "alice", PASSWORD.into()).await.unwrap();
        let bearer = token.access_token.as_str();
        assert_eq!(get_user(&store, &verifier, now(), bearer, user.id.as_str()).await.unwrap(), user);
        assert_eq!(get_user(&store, &verifier, now(), bearer, "nope").await.unwrap_err().code(), "not_found");
        let missing = UserId::new_random();
        let err = get_user(&store, &verifier, now(), bearer, missing.as_str()).await.unwrap_err();
        assert_eq!(err.code(), "not_found");
        let err = get_user(&store, &verifier, now(), "garbage", user.id.as_str()).await.unwrap_err();
        assert_eq!(err.code(), "invalid_token");

        let claims = authenticate(&store, &verifier, now(), bearer).await.unwrap();
        assert_eq!(claims.sub, user.id.as_str());

        logout(&store, &verifier, now(), bearer).await.unwrap();
        let err = authenticate(&store, &verifier, now(), bearer).await.unwrap_err();
        assert_eq!(err.code(), "invalid_token");
        // Revoked wins over a missing or malformed id: no 404 for a dead token.
        for id in [user.id.as_str(), missing.as_str(), "nope"] {
            let err = get_user(&store, &verifier, now(), bearer, id).await.unwrap_err();
            assert_eq!(err.code(), "invalid_token", "{id}");
        }
        let err = logout(&store, &verifier, now(), bearer).await.unwrap_err();
        assert_eq!(err.code(), "invalid_token");
    }

    #[tokio::test]
    async fn a_token_is_refused_once_its_time_is_up() {
        let store = MemoryStore::default();
        let keys = TestKeys::generate();
        let issued_at = now();
        let token = keys.issuer().issue(&UserId::new_random(), issued_at).unwrap().access_token;
        let ttl = keys.settings.ttl.as_secs();
        assert!(authenticate(&store, &keys.verifier(), issued_at + ttl - 1, &token).await.is_ok());
        let err = authenticate(&store, &keys.verifier(), issued_at + ttl, &token).await.unwrap_err();
        assert_eq!(err.code(), "invalid_token");
    }
}
