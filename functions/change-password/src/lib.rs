//! `POST /users/me/password`: changes the caller's password, checked as login
//! checks it; every other session of the caller ends.

use lambda_http::{Body, Request, Response};
use secrecy::SecretString;
use serde::Deserialize;
use user_auth_core::clock::{self, SharedClock};
use user_auth_core::config::{self, Env};
use user_auth_core::domain::FactorKeys;
use user_auth_core::edge::{bearer_token, client, json_body, no_content, JsonBody};
use user_auth_core::mail::SharedMailer;
use user_auth_core::operations::{self, FactorProof, PasswordChangeAttempt};
use user_auth_core::passwords::{self, SharedHasher};
use user_auth_core::sdk_settings::SdkSettings;
use user_auth_core::store::dynamodb::DynamoStore;
use user_auth_core::store::{
    ActivityStore, CredentialStore, LoginAttemptStore, SecondFactorStore, SessionStore, UserStore,
};
use user_auth_core::tokens::TokenVerifier;
use user_auth_core::{startup, ApiError, BoxError};

/// What every request uses, built once per process.
pub struct ChangePassword<S> {
    pub store: S,
    pub passwords: SharedHasher,
    pub verifier: TokenVerifier,
    pub password_min_length: usize,
    pub mailer: SharedMailer,
    pub factor_keys: FactorKeys,
    pub clock: SharedClock,
}

/// The production wiring: `main` serves what this builds, and the tests build it the same way.
pub async fn build(env: &Env) -> Result<ChangePassword<DynamoStore>, BoxError> {
    let sdk = SdkSettings::from_env(env)?;
    Ok(ChangePassword {
        store: startup::password_checking_store(env, &sdk)?,
        passwords: passwords::argon2id(),
        verifier: startup::token_verifier(env)?,
        password_min_length: config::password_min_length(env)?,
        mailer: startup::mailer(env, &sdk)?,
        factor_keys: startup::factor_keys(env)?,
        clock: clock::system(),
    })
}

/// The body of `POST /users/me/password`, with a code of the second factor
/// when the account has one (its `Debug` redacts both passwords).
#[derive(Debug, Deserialize)]
pub struct PasswordChangeBody {
    pub current_password: SecretString,
    pub new_password: SecretString,
    #[serde(default)]
    pub code: Option<String>,
}

impl JsonBody for PasswordChangeBody {
    const EXPECTED: &'static str =
        "the request body must be a JSON object with the string fields \"current_password\" and \"new_password\"";
}

pub async fn handle<S>(app: &ChangePassword<S>, request: Request) -> Result<Response<Body>, ApiError>
where
    S: SessionStore + UserStore + CredentialStore + LoginAttemptStore + SecondFactorStore + ActivityStore,
{
    let token = bearer_token(&request)?;
    let body: PasswordChangeBody = json_body(&request)?;
    let attempt = PasswordChangeAttempt {
        current: body.current_password,
        new: body.new_password,
        source_ip: client(&request).source_ip,
    };
    let now = app.clock.now();
    let caller = operations::authenticate(&app.store, &app.verifier, now, token).await?.from(client(&request));
    let proof = FactorProof { keys: &app.factor_keys, code: body.code };
    let (store, passwords) = (&app.store, &app.passwords);
    operations::change_password(store, passwords, app.password_min_length, now, &caller, attempt, proof).await?;
    operations::notify_password_changed(&*app.mailer, &caller.user).await;
    Ok(no_content())
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use user_auth_core::test_support::{call, Fixture, SignedIn, MIN_LENGTH, PASSWORD};

    use super::*;

    fn app(alice: &SignedIn) -> ChangePassword<user_auth_core::store::memory::MemoryStore> {
        ChangePassword {
            store: alice.store.clone(),
            passwords: passwords::argon2id(),
            verifier: alice.keys.verifier(),
            password_min_length: MIN_LENGTH,
            mailer: std::sync::Arc::new(user_auth_core::mail::memory::MemoryMailer::default()),
            factor_keys: user_auth_core::test_support::factor_keys(),
            clock: clock::system(),
        }
    }

    fn event(token: &str, current: &str, new: &str) -> Fixture {
        let body = json!({ "current_password": current, "new_password": new }).to_string();
        Fixture::parse(include_str!("../fixtures/change-password.json")).bearer(token).body(&body)
    }

    #[tokio::test]
    async fn changes_the_password_and_ends_the_other_sessions() {
        let alice = SignedIn::new("alice").await;
        let other = alice.log_in_again().await;
        let new = "a brand new passphrase to remember";
        let answer = call(handle(&app(&alice), event(&alice.access_token, PASSWORD, new).request())).await;
        assert_eq!((answer.status, &answer.json), (204, &serde_json::Value::Null), "{answer:?}");
        assert!(alice.store.session(&alice.user_id, &other).await.unwrap().is_none(), "the other session lives");
        assert!(alice.store.session(&alice.user_id, &alice.session_id).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn refusals_are_json_errors() {
        let alice = SignedIn::new("alice").await;
        let app = app(&alice);
        let token = alice.access_token.as_str();
        let new = "a brand new passphrase to remember";
        let cases = [
            (event(token, "not the password at all", new), 401, "invalid_credentials"),
            (event(token, PASSWORD, "short"), 400, "invalid_password"),
            (event(token, PASSWORD, PASSWORD), 400, "invalid_password"),
            (event("garbage", PASSWORD, new), 401, "invalid_token"),
            (event(token, PASSWORD, new).without_header("authorization"), 401, "invalid_token"),
            (event(token, PASSWORD, new).body(r#"{"new_password":"x"}"#), 400, "invalid_request"),
        ];
        for (event, status, code) in cases {
            let answer = call(handle(&app, event.request())).await;
            assert_eq!((answer.status, answer.error_code()), (status, Some(code)), "{answer:?}");
        }
    }
}
