//! `POST /auth/recovery/confirm`: sets a new password with the recovery
//! code mailed to the account's verified address; every session ends.

use lambda_http::{Body, Request, Response};
use secrecy::SecretString;
use serde::Deserialize;
use user_auth_core::clock::{self, SharedClock};
use user_auth_core::config::{self, Env};
use user_auth_core::domain::CodeHasher;
use user_auth_core::edge::{client, json_body, no_content, JsonBody};
use user_auth_core::mail::SharedMailer;
use user_auth_core::operations::{self, AccountName, RecoveryConfirmation};
use user_auth_core::passwords::{self, SharedHasher};
use user_auth_core::sdk_settings::SdkSettings;
use user_auth_core::store::dynamodb::DynamoStore;
use user_auth_core::store::{
    ActivityStore, CredentialStore, EmailStore, LoginAttemptStore, RecoveryStore, SessionStore, UserStore,
};
use user_auth_core::{startup, ApiError, BoxError};

/// What every request uses, built once per process.
pub struct ConfirmRecovery<S> {
    pub store: S,
    pub passwords: SharedHasher,
    pub mailer: SharedMailer,
    pub codes: CodeHasher,
    pub password_min_length: usize,
    pub clock: SharedClock,
}

/// The production wiring: `main` serves what this builds, and the tests build it the same way.
pub async fn build(env: &Env) -> Result<ConfirmRecovery<DynamoStore>, BoxError> {
    let sdk = SdkSettings::from_env(env)?;
    Ok(ConfirmRecovery {
        store: startup::password_checking_store(env, &sdk)?,
        passwords: passwords::argon2id(),
        mailer: startup::mailer(env, &sdk)?,
        codes: startup::code_hasher(env)?,
        password_min_length: config::password_min_length(env)?,
        clock: clock::system(),
    })
}

/// The body of `POST /auth/recovery/confirm` (its `Debug` redacts the password).
#[derive(Debug, Deserialize)]
pub struct RecoveryConfirmationBody {
    pub username: Option<String>,
    pub email: Option<String>,
    pub code: String,
    pub new_password: SecretString,
}

impl JsonBody for RecoveryConfirmationBody {
    const EXPECTED: &'static str = "the request body must be a JSON object with one of the string fields \
                                    \"username\" and \"email\", and the string fields \"code\" and \"new_password\"";
}

pub async fn handle<S>(app: &ConfirmRecovery<S>, request: Request) -> Result<Response<Body>, ApiError>
where
    S: CredentialStore + UserStore + EmailStore + RecoveryStore + SessionStore + LoginAttemptStore + ActivityStore,
{
    let body: RecoveryConfirmationBody = json_body(&request)?;
    let confirmation = RecoveryConfirmation {
        name: AccountName::parse(body.username.as_deref(), body.email.as_deref())?,
        code: body.code,
        new_password: body.new_password,
        client: client(&request),
    };
    let now = app.clock.now();
    operations::confirm_recovery(
        &app.store,
        &app.passwords,
        &*app.mailer,
        &app.codes,
        app.password_min_length,
        now,
        confirmation,
    )
    .await?;
    Ok(no_content())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;
    use user_auth_core::domain::{CodePurpose, EmailAddress, OneTimeCode, PendingCode};
    use user_auth_core::mail::memory::MemoryMailer;
    use user_auth_core::test_support::{call, code_hasher, now, Fixture, SignedIn, MIN_LENGTH};

    use super::*;

    const NEW_PASSWORD: &str = "a brand new passphrase to remember";

    /// Alice with a verified address, a recovery code mailed to it, and the app.
    async fn alice_with_recovery_code(
    ) -> (SignedIn, OneTimeCode, ConfirmRecovery<user_auth_core::store::memory::MemoryStore>, Arc<MemoryMailer>) {
        let alice = SignedIn::with_email("alice", "alice@example.org").await;
        let address = EmailAddress::parse("alice@example.org").unwrap();
        let verify = OneTimeCode::generate().unwrap();
        let pending = PendingCode::new(
            &code_hasher(),
            CodePurpose::VerifyEmail,
            alice.user_id.clone(),
            &verify,
            address.clone(),
            now(),
        );
        alice.store.put_code(&pending).await.unwrap();
        alice.store.verify_email(&pending, now()).await.unwrap();
        let code = OneTimeCode::generate().unwrap();
        let pending =
            PendingCode::new(&code_hasher(), CodePurpose::Recovery, alice.user_id.clone(), &code, address, now());
        alice.store.put_code(&pending).await.unwrap();
        let mailer = Arc::new(MemoryMailer::default());
        let app = ConfirmRecovery {
            store: alice.store.clone(),
            passwords: passwords::argon2id(),
            mailer: mailer.clone(),
            codes: code_hasher(),
            password_min_length: MIN_LENGTH,
            clock: clock::system(),
        };
        (alice, code, app, mailer)
    }

    fn event(name: (&str, &str), code: &str, new_password: &str) -> Fixture {
        let body = json!({ name.0: name.1, "code": code, "new_password": new_password }).to_string();
        Fixture::parse(include_str!("../fixtures/confirm-recovery.json")).body(&body)
    }

    #[tokio::test]
    async fn the_code_sets_a_new_password_and_ends_every_session() {
        let (alice, code, app, mailer) = alice_with_recovery_code().await;
        let answer =
            call(handle(&app, event(("email", "Alice@Example.org"), code.expose(), NEW_PASSWORD).request())).await;
        assert_eq!(answer.status, 204, "{answer:?}");
        assert!(alice.store.session(&alice.user_id, &alice.session_id).await.unwrap().is_none());
        let sent = mailer.sent();
        assert_eq!(sent.len(), 1);
        assert!(sent[0].subject.contains("was reset"), "{sent:?}");
        // Used once.
        let again = call(handle(&app, event(("username", "alice"), code.expose(), NEW_PASSWORD).request())).await;
        assert_eq!((again.status, again.error_code()), (400, Some("invalid_code")), "{again:?}");
    }

    #[tokio::test]
    async fn a_weak_password_is_refused_and_leaves_the_code_unspent() {
        let (_alice, code, app, _) = alice_with_recovery_code().await;
        let weak = call(handle(&app, event(("username", "alice"), code.expose(), "short").request())).await;
        assert_eq!((weak.status, weak.error_code()), (400, Some("invalid_password")), "{weak:?}");
        let answer = call(handle(&app, event(("username", "alice"), code.expose(), NEW_PASSWORD).request())).await;
        assert_eq!(answer.status, 204, "{answer:?}");
    }

    #[tokio::test]
    async fn every_code_that_does_not_pass_gets_one_answer() {
        let (_alice, code, app, _) = alice_with_recovery_code().await;
        let wrong = if code.expose() == "00000000" { "11111111" } else { "00000000" };
        let cases = [
            event(("username", "alice"), wrong, NEW_PASSWORD),
            event(("username", "alice"), "not a code", NEW_PASSWORD),
            event(("username", "nobody"), code.expose(), NEW_PASSWORD),
            event(("email", "nobody@example.org"), code.expose(), NEW_PASSWORD),
            // A weak password with a wrong code says nothing of the password.
            event(("username", "alice"), wrong, "short"),
        ];
        for event in cases {
            let answer = call(handle(&app, event.request())).await;
            assert_eq!((answer.status, answer.error_code()), (400, Some("invalid_code")), "{answer:?}");
        }
    }
}
