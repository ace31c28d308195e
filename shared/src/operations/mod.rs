//! The operations, one module each, as rules over the storage ports. HTTP
//! stays outside: each function's handler parses the request, calls its
//! operation, and turns the result into a response.
//!
//! Every operation takes its ports first, then its settings, then the time
//! (`now`, from the function's clock), then the caller's input.

mod activity;
mod admit_sign_up;
mod authenticate;
mod authorize;
mod change_email;
mod change_password;
mod check_password;
mod confirm_totp;
mod create_user;
mod delete_user;
mod enrol_totp;
mod get_user;
mod list_sessions;
mod login;
mod logout;
mod new_recovery_codes;
pub mod operator;
mod passkeys;
mod recovery;
mod refresh;
mod remove_totp;
mod revoke_session;
mod second_factor;
mod verify_email;
mod verify_mfa;

pub use activity::{list_activity, record, ActivityPageView};
pub use admit_sign_up::{admit_sign_up, SIGN_UP_WINDOW_SECONDS};
pub use authenticate::{authenticate, Caller};
pub use authorize::authorize;
pub use change_email::{change_email, EmailChangeAttempt};
pub use change_password::{change_password, notify_password_changed, PasswordChangeAttempt};
pub use confirm_totp::confirm_totp;
pub use create_user::{create_user, register, welcome, SignUp};
pub use delete_user::{delete_user, DeletionAttempt};
pub use enrol_totp::enrol_totp;
pub use get_user::{get_user, Whose};
pub use list_sessions::list_sessions;
pub use login::{login, LoginAttempt, LoginOutcome, LoginPolicy, SecondFactorChallenge};
pub use logout::{logout, LogoutScope};
pub use new_recovery_codes::new_recovery_codes;
pub use passkeys::{
    finish_passkey_registration, list_passkeys, passkey_sign_in, remove_passkey, start_passkey_registration,
    start_passkey_sign_in, PasskeyRemoval, PasskeySignIn, PasskeySignInStart,
};
pub use recovery::{admit_recovery_request, confirm_recovery, send_recovery_code, AccountName, RecoveryConfirmation};
pub use refresh::{refresh, RefreshPolicy};
pub use remove_totp::{remove_totp, FactorRemoval};
pub use revoke_session::revoke_session;
pub use second_factor::{check_password_and_factor, notify_factor_changed, prove_factor, FactorProof};
pub use verify_email::{send_verification_code, verify_email};
pub use verify_mfa::{verify_mfa, FactorSignIn};

use authenticate::{admit_caller, admit_claimed, claimed};
use check_password::{check_password, PasswordCheck};
use second_factor::{claim_attempt, forget_attempt};

use crate::tokens::IssuedToken;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Client;
    use crate::domain::{SessionId, UserId};
    use crate::passwords::Argon2id;
    use crate::store::memory::MemoryStore;
    use crate::test_support::{now, TestKeys, LOGIN, MIN_LENGTH, PASSWORD};

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

        let issued =
            login(&store, &Argon2id, &issuer, LOGIN, now(), attempt("alice")).await.unwrap().into_session().unwrap();
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

        logout(&store, &caller, LogoutScope::Local).await.unwrap();
        let err = authenticate(&store, &verifier, now(), bearer).await.unwrap_err();
        assert_eq!(err.code(), "invalid_token");
        // An ended session wins over a missing or malformed id: no 404 for a dead token.
        for whose in [by_id(user.id.as_str()), by_id(missing.as_str()), by_id("nope"), Whose::Caller] {
            let err = get_user(&store, &verifier, now(), bearer, whose).await.unwrap_err();
            assert_eq!(err.code(), "invalid_token", "{whose:?}");
        }
    }

    #[tokio::test]
    async fn a_token_is_refused_once_its_time_is_up_or_its_session_is_gone() {
        let store = MemoryStore::default();
        let keys = TestKeys::generate();
        create_user(&store, &Argon2id, MIN_LENGTH, "dora", PASSWORD.into()).await.unwrap();
        let issued_at = now();
        let issued = login(&store, &Argon2id, &keys.issuer(), LOGIN, issued_at, attempt("dora"))
            .await
            .unwrap()
            .into_session()
            .unwrap();
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
