use secrecy::{ExposeSecret, SecretString};

use crate::domain::{normalized, ActivityType, Password, PasswordError, User};
use crate::mail::{self, templates, MailKind, Mailer};
use crate::passwords::PasswordHasher;
use crate::store::{
    ActivityStore, CredentialStore, LoginAttemptStore, PasswordChange, SecondFactorStore, SessionStore,
};
use crate::ApiError;

use super::logout::end_sessions_but;
use super::{check_password_and_factor, record, Caller, FactorProof};

/// Tells the user's verified address, if there is one, that the password
/// was changed: a change made with a stolen password does not go unseen. A
/// mail that cannot be sent is logged and counted, and changes nothing.
pub async fn notify_password_changed(mailer: &dyn Mailer, user: &User) {
    if let Some(email) = user.email.as_ref().filter(|email| email.verified) {
        let mail = templates::password_changed(&email.address, user.username.as_str());
        mail::send_or_log(mailer, MailKind::PasswordChanged, mail).await;
    }
}

/// A password change request: the password in use, the one to use from now
/// on, and the address it comes from (for the lockout). Its `Debug` output
/// redacts both passwords.
#[derive(Debug)]
pub struct PasswordChangeAttempt {
    pub current: SecretString,
    pub new: SecretString,
    pub source_ip: String,
}

/// Changes the caller's password. The current one is checked as login checks
/// it (the same argon2id, the same lockout: a wrong one counts as a failed
/// login), the new one against the sign-up policy, before any argon2 work.
/// The new hash replaces the checked one and the user's credential
/// generation moves on, in one transaction that keeps the caller's own
/// session: every other session, and any that a login racing the change
/// stores under the old password, opens nothing from then on. A stolen
/// session does not outlive the password it was opened with. With a second
/// factor, a code of it is asked for too ([`check_password_and_factor`]).
pub async fn change_password<S>(
    store: &S,
    passwords: &dyn PasswordHasher,
    password_min_length: usize,
    now: u64,
    caller: &Caller,
    attempt: PasswordChangeAttempt,
    proof: FactorProof<'_>,
) -> Result<(), ApiError>
where
    S: SessionStore + CredentialStore + LoginAttemptStore + SecondFactorStore + ActivityStore,
{
    let PasswordChangeAttempt { current, new, source_ip } = attempt;
    let user = &caller.user;
    if normalized(&current).expose_secret() == normalized(&new).expose_secret() {
        return Err(PasswordError::Unchanged.into());
    }
    let new = Password::parse_for(&user.username, new, password_min_length)?;
    let credentials = check_password_and_factor(store, passwords, now, caller, &source_ip, current, proof).await?;
    let change = PasswordChange {
        user_id: user.id.clone(),
        username: user.username.clone(),
        from: credentials.password_hash,
        to: passwords.hash(new).await?,
        generation: credentials.generation,
        keep: caller.session_id.clone(),
    };
    if !store.change_password(&change).await? {
        if store.session(&user.id, &caller.session_id).await?.is_none() {
            // The caller's session ended meanwhile (a logout): nothing changed.
            return Err(ApiError::InvalidToken);
        }
        // A concurrent change from the same password won: the password
        // checked above is not the current one any more.
        tracing::info!(user_id = %user.id, "password change lost to a concurrent one");
        return Err(ApiError::InvalidCredentials);
    }
    // The other sessions open nothing already; their records go now. A
    // failure here leaves records that are refused and ended when shown.
    let changed = record(store, caller.event(ActivityType::PasswordChanged));
    let (ended, ()) = tokio::join!(end_sessions_but(store, &user.id, Some(&caller.session_id)), changed);
    match ended {
        Ok(ended) => tracing::info!(user_id = %user.id, sessions = ended, "password changed; the other sessions ended"),
        Err(err) => {
            tracing::warn!(error = %err, user_id = %user.id, "password changed; other sessions' records remain")
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Client;
    use crate::operations::{authenticate, login, refresh, LoginAttempt, RefreshPolicy};
    use crate::passwords::Argon2id;
    use crate::test_support::{
        factor_keys, no_code, now, CountingHasher, SignedIn, LIFETIME, LOGIN, MIN_LENGTH, PASSWORD,
    };
    use crate::tokens::refresh::RefreshKey;

    const NEW: &str = "a brand new passphrase to remember";
    /// Where every request of these tests comes from.
    const ADDRESS: &str = "203.0.113.10";

    fn change(current: &str, new: &str) -> PasswordChangeAttempt {
        PasswordChangeAttempt { current: current.into(), new: new.into(), source_ip: ADDRESS.into() }
    }

    async fn change_as(
        alice: &SignedIn,
        passwords: &dyn PasswordHasher,
        request: PasswordChangeAttempt,
    ) -> Result<(), ApiError> {
        let verifier = alice.keys.verifier();
        let caller = authenticate(&alice.store, &verifier, now(), &alice.access_token).await?;
        change_password(&alice.store, passwords, MIN_LENGTH, now(), &caller, request, no_code(&factor_keys())).await
    }

    async fn log_in(alice: &SignedIn, password: &str) -> Result<(), ApiError> {
        let client = Client { user_agent: String::new(), source_ip: ADDRESS.into() };
        let attempt = LoginAttempt { username: "alice".into(), password: password.into(), client };
        login(&alice.store, &Argon2id, &alice.keys.issuer(), LOGIN, now(), attempt).await.map(|_| ())
    }

    #[tokio::test]
    async fn the_new_password_logs_in_and_every_other_session_ends() {
        let alice = SignedIn::new("alice").await;
        let other = alice.another_session().await;
        change_as(&alice, &Argon2id, change(PASSWORD, NEW)).await.unwrap();

        let verifier = alice.keys.verifier();
        assert!(authenticate(&alice.store, &verifier, now(), &alice.access_token).await.is_ok(), "own session ended");
        let err = authenticate(&alice.store, &verifier, now(), &other.access_token).await.unwrap_err();
        assert_eq!(err.code(), "invalid_token");
        let key = RefreshKey::from_signing_key_pem(&alice.keys.pair.private_key_pem).unwrap();
        let policy = RefreshPolicy { lifetime: LIFETIME, reuse_grace: 10 };
        let issuer = alice.keys.issuer();
        let err = refresh(&alice.store, &issuer, &key, policy, now(), &other.refresh_token, &Client::default())
            .await
            .unwrap_err();
        assert_eq!(err.code(), "invalid_refresh_token");
        assert!(refresh(&alice.store, &issuer, &key, policy, now(), &alice.refresh_token, &Client::default())
            .await
            .is_ok());

        assert_eq!(log_in(&alice, PASSWORD).await.unwrap_err().code(), "invalid_credentials");
        log_in(&alice, NEW).await.unwrap();
    }

    #[tokio::test]
    async fn a_new_password_is_checked_before_any_argon2_work() {
        let alice = SignedIn::new("alice").await;
        let passwords = CountingHasher::new(Argon2id);
        for request in [change(PASSWORD, PASSWORD), change(PASSWORD, "short"), change("wrong but long enough", "x")] {
            let err = change_as(&alice, &passwords, request).await.unwrap_err();
            assert_eq!(err.code(), "invalid_password");
        }
        assert_eq!((passwords.verifications(), passwords.hashes()), (0, 0));
        log_in(&alice, PASSWORD).await.unwrap();
    }

    #[tokio::test]
    async fn a_wrong_current_password_counts_toward_the_lockout() {
        let alice = SignedIn::new("alice").await;
        let passwords = CountingHasher::new(Argon2id);
        for _ in 0..5 {
            let err = change_as(&alice, &passwords, change("not the password at all", NEW)).await.unwrap_err();
            assert_eq!(err.code(), "invalid_credentials");
        }
        // Locked now, for password changes and logins alike, with no argon2.
        let before = passwords.verifications();
        let err = change_as(&alice, &passwords, change(PASSWORD, NEW)).await.unwrap_err();
        assert!(matches!(err, ApiError::TooManyRequests { .. }), "{err:?}");
        assert_eq!(passwords.verifications(), before, "a locked change ran argon2");
        assert_eq!(log_in(&alice, PASSWORD).await.unwrap_err().code(), "too_many_requests");
        assert_eq!(passwords.hashes(), 0);
    }
}
