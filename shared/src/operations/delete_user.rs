use secrecy::SecretString;

use crate::domain::ActivityType;
use crate::passwords::PasswordHasher;
use crate::store::{AccountStore, ActivityStore, CredentialStore, LoginAttemptStore, SecondFactorStore};
use crate::ApiError;

use super::{check_password_and_factor, record, Caller, FactorProof};

/// An account deletion request: the password, asked again, and the address
/// it comes from (for the lockout). Its `Debug` output redacts the password.
#[derive(Debug)]
pub struct DeletionAttempt {
    pub password: SecretString,
    pub source_ip: String,
}

/// Deletes the caller's account, after checking the password as login checks
/// it (a destructive act asks for it again; a wrong one counts as a failed
/// login). The user, its username claim with the password hash, and every
/// session go in one transaction: afterwards every token of the user is
/// refused, login fails as for a name never seen, and the name is free.
/// With a second factor, a code of it is asked for too.
pub async fn delete_user<S>(
    store: &S,
    passwords: &dyn PasswordHasher,
    now: u64,
    caller: &Caller,
    attempt: DeletionAttempt,
    proof: FactorProof<'_>,
) -> Result<(), ApiError>
where
    S: AccountStore + CredentialStore + LoginAttemptStore + SecondFactorStore + ActivityStore,
{
    let user = &caller.user;
    let credentials =
        check_password_and_factor(store, passwords, now, caller, &attempt.source_ip, attempt.password, proof).await?;
    // A claim of another user, or none: a concurrent deletion won.
    if credentials.user_id != user.id || !store.delete_account(user).await? {
        return Err(ApiError::InvalidToken);
    }
    tracing::info!(user_id = %user.id, "account deleted");
    // For its operators: the account's events outlive it until they expire.
    record(store, caller.event(ActivityType::AccountDeleted)).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Client;
    use crate::operations::{authenticate, create_user, get_user, login, refresh, LoginAttempt, RefreshPolicy, Whose};
    use crate::passwords::Argon2id;
    use crate::store::{SessionStore, UserStore};
    use crate::test_support::{factor_keys, no_code, now, SignedIn, LIFETIME, LOGIN, MIN_LENGTH, PASSWORD};
    use crate::tokens::refresh::RefreshKey;

    async fn delete_as(alice: &SignedIn, password: &str) -> Result<(), ApiError> {
        let verifier = alice.keys.verifier();
        let attempt = DeletionAttempt { password: password.into(), source_ip: "203.0.113.10".into() };
        let caller = authenticate(&alice.store, &verifier, now(), &alice.access_token).await?;
        delete_user(&alice.store, &Argon2id, now(), &caller, attempt, no_code(&factor_keys())).await
    }

    #[tokio::test]
    async fn deletes_the_user_its_name_and_every_session() {
        let alice = SignedIn::new("alice").await;
        let other = alice.another_session().await;
        let bob = alice.another_user("bob").await;
        let verifier = alice.keys.verifier();
        delete_as(&alice, PASSWORD).await.unwrap();

        assert!(alice.store.get_user(&alice.user_id).await.unwrap().is_none());
        assert!(alice.store.sessions(&alice.user_id).await.unwrap().is_empty());
        for token in [&alice.access_token, &other.access_token] {
            let err = get_user(&alice.store, &verifier, now(), token, Whose::Caller).await.unwrap_err();
            assert_eq!(err.code(), "invalid_token");
        }
        let attempt = LoginAttempt { username: "alice".into(), password: PASSWORD.into(), client: Client::default() };
        let err = login(&alice.store, &Argon2id, &alice.keys.issuer(), LOGIN, now(), attempt).await.unwrap_err();
        assert_eq!(err.code(), "invalid_credentials");
        // The name is free again, for a new user with a new id.
        let again = create_user(&alice.store, &Argon2id, MIN_LENGTH, "alice", PASSWORD.into()).await.unwrap();
        assert_ne!(again.id, alice.user_id);
        // Nobody else lost anything.
        assert!(authenticate(&bob.store, &verifier, now(), &bob.access_token).await.is_ok());
    }

    #[tokio::test]
    async fn a_wrong_password_deletes_nothing() {
        let alice = SignedIn::new("alice").await;
        let err = delete_as(&alice, "not the password at all").await.unwrap_err();
        assert_eq!(err.code(), "invalid_credentials");
        assert!(alice.store.get_user(&alice.user_id).await.unwrap().is_some());
        assert!(authenticate(&alice.store, &alice.keys.verifier(), now(), &alice.access_token).await.is_ok());
    }

    #[tokio::test]
    async fn a_session_that_outlived_its_user_opens_nothing() {
        let alice = SignedIn::new("alice").await;
        let session = alice.store.session(&alice.user_id, &alice.session_id).await.unwrap().unwrap();
        delete_as(&alice, PASSWORD).await.unwrap();
        // As a login racing the deletion would leave it.
        alice.store.create_session(&session).await.unwrap();

        let verifier = alice.keys.verifier();
        let err = authenticate(&alice.store, &verifier, now(), &alice.access_token).await.unwrap_err();
        assert_eq!(err.code(), "invalid_token");
        let err = get_user(&alice.store, &verifier, now(), &alice.access_token, Whose::Caller).await.unwrap_err();
        assert_eq!(err.code(), "invalid_token");
        let key = RefreshKey::from_signing_key_pem(&alice.keys.pair.private_key_pem).unwrap();
        let policy = RefreshPolicy { lifetime: LIFETIME, reuse_grace: 10 };
        let refreshed =
            refresh(&alice.store, &alice.keys.issuer(), &key, policy, now(), &alice.refresh_token, &Client::default())
                .await;
        assert_eq!(refreshed.unwrap_err().code(), "invalid_refresh_token");
        assert!(alice.store.session(&alice.user_id, &alice.session_id).await.unwrap().is_none(), "not ended");
    }
}
