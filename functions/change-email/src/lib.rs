//! `PUT /users/me/email`: puts another address on the caller's profile,
//! the password asked again, and mails the address a code that verifies it.

use lambda_http::{Body, Request, Response};
use secrecy::SecretString;
use serde::Deserialize;
use user_auth_core::clock::{self, SharedClock};
use user_auth_core::config::Env;
use user_auth_core::domain::{CodeHasher, FactorKeys, OwnProfileView};
use user_auth_core::edge::{accepted, bearer_token, client, json_body, JsonBody};
use user_auth_core::mail::SharedMailer;
use user_auth_core::operations::{self, EmailChangeAttempt, FactorProof};
use user_auth_core::passwords::{self, SharedHasher};
use user_auth_core::sdk_settings::SdkSettings;
use user_auth_core::store::dynamodb::DynamoStore;
use user_auth_core::store::{
    ActivityStore, CredentialStore, EmailStore, LoginAttemptStore, SecondFactorStore, SessionStore, UserStore,
};
use user_auth_core::tokens::TokenVerifier;
use user_auth_core::{startup, ApiError, BoxError};

/// What every request uses, built once per process.
pub struct ChangeEmail<S> {
    pub store: S,
    pub passwords: SharedHasher,
    pub verifier: TokenVerifier,
    pub mailer: SharedMailer,
    pub codes: CodeHasher,
    pub factor_keys: FactorKeys,
    pub clock: SharedClock,
}

/// The production wiring: `main` serves what this builds, and the tests build it the same way.
pub async fn build(env: &Env) -> Result<ChangeEmail<DynamoStore>, BoxError> {
    let sdk = SdkSettings::from_env(env)?;
    Ok(ChangeEmail {
        store: startup::password_checking_store(env, &sdk)?,
        passwords: passwords::argon2id(),
        verifier: startup::token_verifier(env)?,
        mailer: startup::mailer(env, &sdk)?,
        codes: startup::code_hasher(env)?,
        factor_keys: startup::factor_keys(env)?,
        clock: clock::system(),
    })
}

/// The body of `PUT /users/me/email`, with a code of the second factor when
/// the account has one (its `Debug` redacts the password).
#[derive(Debug, Deserialize)]
pub struct EmailChangeBody {
    pub email: String,
    pub password: SecretString,
    #[serde(default)]
    pub code: Option<String>,
}

impl JsonBody for EmailChangeBody {
    const EXPECTED: &'static str =
        "the request body must be a JSON object with the string fields \"email\" and \"password\"";
}

pub async fn handle<S>(app: &ChangeEmail<S>, request: Request) -> Result<Response<Body>, ApiError>
where
    S: SessionStore + UserStore + CredentialStore + LoginAttemptStore + EmailStore + SecondFactorStore + ActivityStore,
{
    let token = bearer_token(&request)?;
    let body: EmailChangeBody = json_body(&request)?;
    let proof = FactorProof { keys: &app.factor_keys, code: body.code };
    let source_ip = client(&request).source_ip;
    let attempt = EmailChangeAttempt { email: body.email, password: body.password, source_ip, proof };
    let now = app.clock.now();
    let caller = operations::authenticate(&app.store, &app.verifier, now, token).await?.from(client(&request));
    let (store, passwords, mailer) = (&app.store, &app.passwords, &*app.mailer);
    let user = operations::change_email(store, passwords, mailer, &app.codes, now, &caller, attempt).await?;
    Ok(accepted(&OwnProfileView::from(&user)))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;
    use user_auth_core::domain::CodePurpose;
    use user_auth_core::mail::memory::MemoryMailer;
    use user_auth_core::test_support::{call, code_hasher, Fixture, SignedIn, PASSWORD};

    use super::*;

    fn app(alice: &SignedIn, mailer: Arc<MemoryMailer>) -> ChangeEmail<user_auth_core::store::memory::MemoryStore> {
        ChangeEmail {
            store: alice.store.clone(),
            passwords: passwords::argon2id(),
            verifier: alice.keys.verifier(),
            mailer,
            codes: code_hasher(),
            factor_keys: user_auth_core::test_support::factor_keys(),
            clock: clock::system(),
        }
    }

    fn event(token: &str, email: &str, password: &str) -> Fixture {
        let body = json!({ "email": email, "password": password }).to_string();
        Fixture::parse(include_str!("../fixtures/change-email.json")).bearer(token).body(&body)
    }

    #[tokio::test]
    async fn puts_the_address_unverified_and_mails_it_a_code() {
        let alice = SignedIn::new("alice").await;
        let mailer = Arc::new(MemoryMailer::default());
        let answer = call(handle(
            &app(&alice, mailer.clone()),
            event(&alice.access_token, "Alice@Example.org", PASSWORD).request(),
        ))
        .await;
        assert_eq!(answer.status, 202, "{answer:?}");
        assert_eq!(
            (&answer.json["email"], &answer.json["email_verified"]),
            (&json!("alice@example.org"), &json!(false))
        );
        let sent = mailer.sent();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].to.as_str(), "alice@example.org");
        assert!(sent[0].text.starts_with("Your code: "), "{}", sent[0].text);
        let pending = alice.store.pending_code(&alice.user_id, CodePurpose::VerifyEmail).await.unwrap().unwrap();
        assert_eq!(pending.email.as_str(), "alice@example.org");
    }

    #[tokio::test]
    async fn refusals_are_json_errors_and_change_nothing() {
        let alice = SignedIn::new("alice").await;
        let mailer = Arc::new(MemoryMailer::default());
        let app = app(&alice, mailer.clone());
        let token = alice.access_token.as_str();
        let cases = [
            (event(token, "alice@example.org", "not the password at all"), 401, "invalid_credentials"),
            (event(token, "not an address", PASSWORD), 400, "invalid_email"),
            (
                event(token, "alice@example.org", PASSWORD).body(r#"{"email":"alice@example.org"}"#),
                400,
                "invalid_request",
            ),
            (event("garbage", "alice@example.org", PASSWORD), 401, "invalid_token"),
        ];
        for (event, status, code) in cases {
            let answer = call(handle(&app, event.request())).await;
            assert_eq!((answer.status, answer.error_code()), (status, Some(code)), "{answer:?}");
        }
        assert!(mailer.sent().is_empty());
        assert!(alice.store.get_user(&alice.user_id).await.unwrap().unwrap().email.is_none());
    }
}
