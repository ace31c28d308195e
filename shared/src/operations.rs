//! The four operations, as rules over the storage ports. HTTP stays outside.

use secrecy::SecretString;

use crate::domain::{Password, User, UserId, Username};
use crate::lockout::{lock_seconds, WINDOW_SECONDS};
use crate::passwords::{hash_password, verify_password};
use crate::store::{CredentialStore, LoginAttemptStore, RevocationStore, UserStore};
use crate::tokens::{now_unix, Claims, IssuedToken, TokenIssuer, TokenVerifier};
use crate::ApiError;

/// Signs a user up. The username is claimed atomically with the user's
/// creation, so of two simultaneous sign-ups for one name exactly one wins.
pub async fn create_user(
    store: &impl UserStore,
    password_min_length: usize,
    username: &str,
    password: SecretString,
) -> Result<User, ApiError> {
    let username = Username::parse(username)?;
    let password = Password::parse(password, password_min_length)?;
    let hash = hash_password(password).await?;
    let user = User::new(username);
    store.create_user(&user, &hash).await?;
    tracing::info!(user_id = %user.id, "user created");
    Ok(user)
}

/// Reads a user's public profile for the holder of a valid, unrevoked token.
/// The revocation check and the read run at once (one round trip of latency,
/// not two); a revoked token gets 401 whatever the id.
pub async fn get_user<S>(verifier: &TokenVerifier, store: &S, token: &str, raw_id: &str) -> Result<User, ApiError>
where
    S: UserStore + RevocationStore,
{
    let claims = verifier.verify(token)?;
    let id = UserId::parse(raw_id);
    let read = async {
        match &id {
            Some(id) => store.get_user(id).await,
            None => Ok(None),
        }
    };
    let (revoked, user) = tokio::join!(store.is_revoked(&claims.jti), read);
    refuse_if_revoked(&claims, revoked?)?;
    user?.ok_or(ApiError::NotFound)
}

/// Checks a username and password and issues an access token. An unknown or
/// malformed username costs the same argon2 work as a wrong password and gets
/// the same answer, so the answer does not tell whether a user exists.
/// Failures are counted per username, known or not ([`crate::lockout`]): a
/// locked username is refused before any argon2 work.
pub async fn login<S>(
    store: &S,
    issuer: &TokenIssuer,
    username: &str,
    password: SecretString,
) -> Result<IssuedToken, ApiError>
where
    S: CredentialStore + LoginAttemptStore,
{
    let Ok(username) = Username::parse(username) else {
        // No such name can exist: nothing to count, the same work and answer.
        verify_password(password, None).await?;
        tracing::info!("login failed");
        return Err(ApiError::InvalidCredentials);
    };
    let now = now_unix();
    // Both reads at once: one round trip of latency instead of two, for one
    // wasted read unit when the name is locked. The lock is judged first, so
    // a failed credentials read never turns a 429 into a 503.
    let (attempts, credentials) = tokio::join!(store.attempts(&username, now), store.credentials(&username));
    let attempts = attempts?;
    if attempts.locked_until > now {
        tracing::info!("login refused: username locked");
        return Err(ApiError::TooManyRequests { retry_after: attempts.locked_until - now });
    }
    let credentials = credentials?;
    let user_id = credentials.as_ref().map(|found| found.user_id.clone());
    let matches = verify_password(password, credentials.map(|found| found.password_hash)).await?;
    match user_id {
        Some(user_id) if matches => {
            if attempts.failures > 0 {
                store.reset(&username).await?;
            }
            let token = issuer.issue(&user_id)?;
            tracing::info!(user_id = %user_id, "login succeeded");
            Ok(token)
        }
        _ => {
            let failures = store.record_failure(&username, now, WINDOW_SECONDS).await?;
            if let Some(seconds) = lock_seconds(failures) {
                // `now` is whole seconds, rounded down: one more so the lock
                // lasts at least `seconds`, never a fraction of one.
                store.lock(&username, now + seconds + 1, WINDOW_SECONDS).await?;
            }
            tracing::info!(failures, "login failed");
            Err(ApiError::InvalidCredentials)
        }
    }
}

/// Verifies a bearer token and checks that it has not been revoked.
pub async fn authenticate(
    verifier: &TokenVerifier,
    revocations: &impl RevocationStore,
    token: &str,
) -> Result<Claims, ApiError> {
    let claims = verifier.verify(token)?;
    refuse_if_revoked(&claims, revocations.is_revoked(&claims.jti).await?)?;
    Ok(claims)
}

fn refuse_if_revoked(claims: &Claims, revoked: bool) -> Result<(), ApiError> {
    if revoked {
        tracing::info!(jti = %claims.jti, "revoked token presented");
        return Err(ApiError::InvalidToken);
    }
    Ok(())
}

/// Revokes the token at once for every function; the record expires with it.
pub async fn logout(verifier: &TokenVerifier, revocations: &impl RevocationStore, token: &str) -> Result<(), ApiError> {
    let claims = authenticate(verifier, revocations, token).await?;
    revocations.revoke(&claims.jti, claims.exp).await?;
    tracing::info!(user_id = %claims.sub, jti = %claims.jti, "token revoked");
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::store::memory::MemoryStore;
    use crate::tokens::{SigningKeyPair, TokenSettings};

    const PASSWORD: &str = "a perfectly long passphrase";

    fn keys() -> (TokenIssuer, TokenVerifier) {
        let settings = TokenSettings { issuer: "i".into(), audience: "a".into(), ttl: Duration::from_secs(60) };
        let pair = SigningKeyPair::generate().unwrap();
        (
            TokenIssuer::from_pem(&pair.private_key_pem, settings.clone()).unwrap(),
            TokenVerifier::from_pem(&pair.public_key_pem, &settings).unwrap(),
        )
    }

    #[tokio::test]
    async fn the_whole_story_over_the_memory_store() {
        let store = MemoryStore::default();
        let (issuer, verifier) = keys();

        let user = create_user(&store, 15, "Alice", PASSWORD.into()).await.unwrap();
        assert_eq!(user.username.as_str(), "alice");
        let err = create_user(&store, 15, "ALICE", PASSWORD.into()).await.unwrap_err();
        assert_eq!(err.code(), "username_taken");

        let token = login(&store, &issuer, "alice", PASSWORD.into()).await.unwrap();
        let bearer = token.access_token.as_str();
        assert_eq!(get_user(&verifier, &store, bearer, user.id.as_str()).await.unwrap(), user);
        assert_eq!(get_user(&verifier, &store, bearer, "nope").await.unwrap_err().code(), "not_found");
        let missing = UserId::new_random();
        assert_eq!(get_user(&verifier, &store, bearer, missing.as_str()).await.unwrap_err().code(), "not_found");
        assert_eq!(get_user(&verifier, &store, "garbage", user.id.as_str()).await.unwrap_err().code(), "invalid_token");

        let claims = authenticate(&verifier, &store, &token.access_token).await.unwrap();
        assert_eq!(claims.sub, user.id.as_str());

        logout(&verifier, &store, &token.access_token).await.unwrap();
        let err = authenticate(&verifier, &store, &token.access_token).await.unwrap_err();
        assert_eq!(err.code(), "invalid_token");
        // Revoked wins over a missing or malformed id: no 404 for a dead token.
        for id in [user.id.as_str(), missing.as_str(), "nope"] {
            let err = get_user(&verifier, &store, bearer, id).await.unwrap_err();
            assert_eq!(err.code(), "invalid_token", "{id}");
        }
        let err = logout(&verifier, &store, &token.access_token).await.unwrap_err();
        assert_eq!(err.code(), "invalid_token");
    }

    #[tokio::test]
    async fn login_failures_are_indistinguishable() {
        let store = MemoryStore::default();
        let (issuer, _) = keys();
        create_user(&store, 15, "bob", PASSWORD.into()).await.unwrap();
        for (username, password) in
            [("bob", "wrong password here"), ("nobody", PASSWORD), ("!!", PASSWORD), ("bob", "")]
        {
            let err = login(&store, &issuer, username, password.into()).await.unwrap_err();
            assert_eq!(err.code(), "invalid_credentials", "{username}/{password}");
            assert_eq!(err.to_string(), ApiError::InvalidCredentials.to_string());
        }
    }

    #[tokio::test]
    async fn a_sixth_failure_locks_the_username_known_or_not() {
        let store = MemoryStore::default();
        let (issuer, _) = keys();
        create_user(&store, 15, "erin", PASSWORD.into()).await.unwrap();
        for name in ["erin", "ghost"] {
            for _ in 0..5 {
                let err = login(&store, &issuer, name, "a wrong password".into()).await.unwrap_err();
                assert_eq!(err.code(), "invalid_credentials");
            }
            // Locked for 2^0 s after the fifth failure (up to one more for
            // the rounding), even with the right password.
            let err = login(&store, &issuer, name, PASSWORD.into()).await.unwrap_err();
            assert!(matches!(err, ApiError::TooManyRequests { retry_after: 1 | 2 }), "{name}: {err:?}");
        }
    }

    #[tokio::test]
    async fn a_successful_login_resets_the_count() {
        let store = MemoryStore::default();
        let (issuer, _) = keys();
        create_user(&store, 15, "fay", PASSWORD.into()).await.unwrap();
        for _ in 0..4 {
            login(&store, &issuer, "fay", "a wrong password".into()).await.unwrap_err();
        }
        login(&store, &issuer, "fay", PASSWORD.into()).await.unwrap();
        for _ in 0..4 {
            let err = login(&store, &issuer, "fay", "a wrong password".into()).await.unwrap_err();
            assert_eq!(err.code(), "invalid_credentials");
        }
        login(&store, &issuer, "fay", PASSWORD.into()).await.unwrap();
    }

    #[tokio::test]
    async fn sign_up_validates_before_storing() {
        let store = MemoryStore::default();
        assert_eq!(create_user(&store, 15, "a", PASSWORD.into()).await.unwrap_err().code(), "invalid_username");
        assert_eq!(create_user(&store, 15, "carol", "short".into()).await.unwrap_err().code(), "invalid_password");
        // Nothing was claimed by the failed attempts.
        create_user(&store, 15, "carol", PASSWORD.into()).await.unwrap();
    }
}
