//! `DELETE /users/me`: deletes the caller's account, the password asked
//! again; the user, its username and every session go at once.

use lambda_http::{Body, Request, Response};
use secrecy::SecretString;
use serde::Deserialize;
use user_auth_core::clock::{self, SharedClock};
use user_auth_core::config::Env;
use user_auth_core::domain::FactorKeys;
use user_auth_core::edge::{bearer_token, client, json_body, no_content, JsonBody};
use user_auth_core::operations::{self, DeletionAttempt, FactorProof};
use user_auth_core::passwords::{self, SharedHasher};
use user_auth_core::sdk_settings::SdkSettings;
use user_auth_core::store::dynamodb::DynamoStore;
use user_auth_core::store::{
    AccountStore, ActivityStore, CredentialStore, LoginAttemptStore, SecondFactorStore, SessionStore, UserStore,
};
use user_auth_core::tokens::TokenVerifier;
use user_auth_core::{startup, ApiError, BoxError};

/// What every request uses, built once per process.
pub struct DeleteUser<S> {
    pub store: S,
    pub passwords: SharedHasher,
    pub verifier: TokenVerifier,
    pub factor_keys: FactorKeys,
    pub clock: SharedClock,
}

/// The production wiring: `main` serves what this builds, and the tests build it the same way.
pub async fn build(env: &Env) -> Result<DeleteUser<DynamoStore>, BoxError> {
    Ok(DeleteUser {
        store: startup::password_checking_store(env, &SdkSettings::from_env(env)?)?,
        passwords: passwords::argon2id(),
        verifier: startup::token_verifier(env)?,
        factor_keys: startup::factor_keys(env)?,
        clock: clock::system(),
    })
}

/// The body of `DELETE /users/me`: the password, asked again for a
/// destructive act, with a code of the second factor when the account has
/// one (its `Debug` redacts the password).
#[derive(Debug, Deserialize)]
pub struct AccountDeletionBody {
    pub password: SecretString,
    #[serde(default)]
    pub code: Option<String>,
}

impl JsonBody for AccountDeletionBody {
    const EXPECTED: &'static str = "the request body must be a JSON object with the string field \"password\"";
}

pub async fn handle<S>(app: &DeleteUser<S>, request: Request) -> Result<Response<Body>, ApiError>
where
    S: SessionStore
        + UserStore
        + AccountStore
        + CredentialStore
        + LoginAttemptStore
        + SecondFactorStore
        + ActivityStore,
{
    let token = bearer_token(&request)?;
    let body: AccountDeletionBody = json_body(&request)?;
    let attempt = DeletionAttempt { password: body.password, source_ip: client(&request).source_ip };
    let now = app.clock.now();
    let caller = operations::authenticate(&app.store, &app.verifier, now, token).await?.from(client(&request));
    let proof = FactorProof { keys: &app.factor_keys, code: body.code };
    operations::delete_user(&app.store, &app.passwords, now, &caller, attempt, proof).await?;
    Ok(no_content())
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use user_auth_core::test_support::{call, Fixture, SignedIn, PASSWORD};

    use super::*;

    fn app(alice: &SignedIn) -> DeleteUser<user_auth_core::store::memory::MemoryStore> {
        DeleteUser {
            store: alice.store.clone(),
            passwords: passwords::argon2id(),
            verifier: alice.keys.verifier(),
            factor_keys: user_auth_core::test_support::factor_keys(),
            clock: clock::system(),
        }
    }

    fn event(token: &str, password: &str) -> Fixture {
        let body = json!({ "password": password }).to_string();
        Fixture::parse(include_str!("../fixtures/delete-user.json")).bearer(token).body(&body)
    }

    #[tokio::test]
    async fn deletes_the_callers_account() {
        let alice = SignedIn::new("alice").await;
        let answer = call(handle(&app(&alice), event(&alice.access_token, PASSWORD).request())).await;
        assert_eq!((answer.status, &answer.json), (204, &serde_json::Value::Null), "{answer:?}");
        assert!(alice.store.get_user(&alice.user_id).await.unwrap().is_none());
        // Its token is dead with it.
        let again = call(handle(&app(&alice), event(&alice.access_token, PASSWORD).request())).await;
        assert_eq!((again.status, again.error_code()), (401, Some("invalid_token")));
    }

    #[tokio::test]
    async fn refusals_are_json_errors_and_delete_nothing() {
        let alice = SignedIn::new("alice").await;
        let app = app(&alice);
        let token = alice.access_token.as_str();
        let cases = [
            (event(token, "not the password at all"), 401, "invalid_credentials"),
            (event("garbage", PASSWORD), 401, "invalid_token"),
            (event(token, PASSWORD).without_header("authorization"), 401, "invalid_token"),
            (event(token, PASSWORD).body("{}"), 400, "invalid_request"),
            (event(token, PASSWORD).body(""), 400, "invalid_request"),
        ];
        for (event, status, code) in cases {
            let answer = call(handle(&app, event.request())).await;
            assert_eq!((answer.status, answer.error_code()), (status, Some(code)), "{answer:?}");
        }
        assert!(alice.store.get_user(&alice.user_id).await.unwrap().is_some());
    }
}
