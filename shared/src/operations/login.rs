use secrecy::SecretString;

use crate::domain::{Client, Session, SessionId, SessionLifetime, UserId, Username};
use crate::passwords::PasswordHasher;
use crate::store::{CredentialStore, LoginAttemptStore, SessionStore};
use crate::tokens::refresh::RefreshToken;
use crate::tokens::TokenIssuer;
use crate::ApiError;

use super::{check_password, IssuedSession};

/// A login request: the credentials, and who sends them.
#[derive(Debug)]
pub struct LoginAttempt {
    pub username: String,
    pub password: SecretString,
    pub client: Client,
}

/// Checks a username and password at `now` and starts a session: an access
/// token and the session's first refresh token. An unknown or malformed
/// username costs the same argon2 work as a wrong password and gets the same
/// answer, so the answer does not tell whether a user exists. Failures are
/// counted per username, known or not, and a locked username is refused
/// before any argon2 work ([`check_password`], [`crate::lockout`]).
pub async fn login<S>(
    store: &S,
    passwords: &dyn PasswordHasher,
    issuer: &TokenIssuer,
    lifetime: SessionLifetime,
    now: u64,
    attempt: LoginAttempt,
) -> Result<IssuedSession, ApiError>
where
    S: CredentialStore + LoginAttemptStore + SessionStore,
{
    let LoginAttempt { username, password, client } = attempt;
    let Ok(username) = Username::parse(&username) else {
        // No such name can exist: nothing to count, the same work and answer.
        passwords.verify(password, None).await?;
        tracing::info!("login failed");
        return Err(ApiError::InvalidCredentials);
    };
    let credentials = check_password(store, passwords, now, &username, password).await?;
    let issued = start_session(store, issuer, lifetime, now, credentials.user_id.clone(), client).await?;
    tracing::info!(user_id = %credentials.user_id, "login succeeded");
    Ok(issued)
}

async fn start_session(
    sessions: &impl SessionStore,
    issuer: &TokenIssuer,
    lifetime: SessionLifetime,
    now: u64,
    user_id: UserId,
    client: Client,
) -> Result<IssuedSession, ApiError> {
    let id = SessionId::new_random();
    let first = RefreshToken::first(user_id.clone(), id.clone())?;
    let session = Session::start(id, user_id, client, first.hash(), lifetime, now);
    sessions.create_session(&session).await?;
    let access = issuer.issue_within(&session.user_id, &session.id, now, session.ends_at())?;
    Ok(IssuedSession { access, refresh_token: first.encode() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Client;
    use crate::operations::create_user;
    use crate::passwords::Argon2id;
    use crate::store::memory::MemoryStore;
    use crate::test_support::{now, CountingHasher, TestKeys, LIFETIME, MIN_LENGTH, PASSWORD};

    fn attempt(username: &str, password: &str) -> LoginAttempt {
        LoginAttempt { username: username.into(), password: password.into(), client: Client::default() }
    }

    async fn store_with(username: &str) -> MemoryStore {
        let store = MemoryStore::default();
        create_user(&store, &Argon2id, MIN_LENGTH, username, PASSWORD.into()).await.unwrap();
        store
    }

    #[tokio::test]
    async fn login_failures_are_indistinguishable() {
        let store = store_with("bob").await;
        let issuer = TestKeys::generate().issuer();
        for (username, password) in
            [("bob", "wrong password here"), ("nobody", PASSWORD), ("!!", PASSWORD), ("bob", "")]
        {
            let err =
                login(&store, &Argon2id, &issuer, LIFETIME, now(), attempt(username, password)).await.unwrap_err();
            assert_eq!(err.code(), "invalid_credentials", "{username}/{password}");
            assert_eq!(err.to_string(), ApiError::InvalidCredentials.to_string());
        }
    }

    #[tokio::test]
    async fn a_sixth_failure_locks_the_username_known_or_not_and_runs_no_argon2() {
        let store = store_with("erin").await;
        let issuer = TestKeys::generate().issuer();
        let passwords = CountingHasher::new(Argon2id);
        let at = now();
        for name in ["erin", "ghost"] {
            for _ in 0..5 {
                let err = login(&store, &passwords, &issuer, LIFETIME, at, attempt(name, "a wrong password"))
                    .await
                    .unwrap_err();
                assert_eq!(err.code(), "invalid_credentials");
            }
            // Locked for 2^0 s after the fifth failure, plus one for the
            // rounding, even with the right password.
            let before = passwords.verifications();
            let err = login(&store, &passwords, &issuer, LIFETIME, at, attempt(name, PASSWORD)).await.unwrap_err();
            assert!(matches!(err, ApiError::TooManyRequests { retry_after: 2 }), "{name}: {err:?}");
            assert_eq!(passwords.verifications(), before, "a locked login ran argon2");
            let err = login(&store, &passwords, &issuer, LIFETIME, at + 1, attempt(name, PASSWORD)).await.unwrap_err();
            assert!(matches!(err, ApiError::TooManyRequests { retry_after: 1 }), "{name}: {err:?}");
        }
        assert!(login(&store, &passwords, &issuer, LIFETIME, at + 2, attempt("erin", PASSWORD)).await.is_ok());
    }

    #[tokio::test]
    async fn a_successful_login_resets_the_count() {
        let store = store_with("fay").await;
        let issuer = TestKeys::generate().issuer();
        let try_login =
            |password: &'static str| login(&store, &Argon2id, &issuer, LIFETIME, now(), attempt("fay", password));
        for _ in 0..4 {
            try_login("a wrong password").await.unwrap_err();
        }
        try_login(PASSWORD).await.unwrap();
        for _ in 0..4 {
            let err = try_login("a wrong password").await.unwrap_err();
            assert_eq!(err.code(), "invalid_credentials");
        }
        try_login(PASSWORD).await.unwrap();
    }
}
