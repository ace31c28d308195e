//! `DELETE /users/me/passkeys/{id}`: removes one of the caller's passkeys,
//! the password (and a code of the second factor, when one is on) asked
//! again.

use lambda_http::{Body, Request, Response};
use secrecy::SecretString;
use serde::Deserialize;
use user_auth_core::clock::{self, SharedClock};
use user_auth_core::config::Env;
use user_auth_core::domain::FactorKeys;
use user_auth_core::edge::{bearer_token, client, json_body, no_content, path_parameter, JsonBody};
use user_auth_core::operations::{self, FactorProof, PasskeyRemoval};
use user_auth_core::passwords::{self, SharedHasher};
use user_auth_core::sdk_settings::SdkSettings;
use user_auth_core::store::dynamodb::DynamoStore;
use user_auth_core::store::{
    ActivityStore, CredentialStore, LoginAttemptStore, PasskeyStore, SecondFactorStore, SessionStore, UserStore,
};
use user_auth_core::tokens::TokenVerifier;
use user_auth_core::{startup, ApiError, BoxError};

/// What every request uses, built once per process.
pub struct RemovePasskey<S> {
    pub store: S,
    pub passwords: SharedHasher,
    pub verifier: TokenVerifier,
    pub factor_keys: FactorKeys,
    pub clock: SharedClock,
}

/// The production wiring: `main` serves what this builds, and the tests build it the same way.
pub async fn build(env: &Env) -> Result<RemovePasskey<DynamoStore>, BoxError> {
    let sdk = SdkSettings::from_env(env)?;
    Ok(RemovePasskey {
        store: startup::password_checking_store(env, &sdk)?,
        passwords: passwords::argon2id(),
        verifier: startup::token_verifier(env)?,
        factor_keys: startup::factor_keys(env)?,
        clock: clock::system(),
    })
}

/// The body: the password, and a code with a second factor on (its `Debug`
/// redacts the password).
#[derive(Debug, Deserialize)]
pub struct PasskeyRemovalBody {
    pub password: SecretString,
    #[serde(default)]
    pub code: Option<String>,
}

impl JsonBody for PasskeyRemovalBody {
    const EXPECTED: &'static str =
        "the request body must be a JSON object with the string field \"password\" (and \"code\")";
}

pub async fn handle<S>(app: &RemovePasskey<S>, request: Request) -> Result<Response<Body>, ApiError>
where
    S: SessionStore
        + UserStore
        + CredentialStore
        + LoginAttemptStore
        + SecondFactorStore
        + PasskeyStore
        + ActivityStore,
{
    let token = bearer_token(&request)?;
    let passkey_id = path_parameter(&request, "id", "/users/me/passkeys/").ok_or(ApiError::NotFound)?;
    let body: PasskeyRemovalBody = json_body(&request)?;
    let now = app.clock.now();
    let caller = operations::authenticate(&app.store, &app.verifier, now, token).await?.from(client(&request));
    let removal = PasskeyRemoval { passkey_id, password: body.password, source_ip: client(&request).source_ip };
    let proof = FactorProof { keys: &app.factor_keys, code: body.code };
    operations::remove_passkey(&app.store, &app.passwords, now, &caller, removal, proof).await?;
    Ok(no_content())
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use user_auth_core::domain::{PasskeyName, PasskeyRecord};
    use user_auth_core::store::memory::MemoryStore;
    use user_auth_core::test_support::{call, call_json, factor_keys, Fixture, SignedIn, PASSWORD};

    use super::*;

    fn event(token: &str, id: &str, body: serde_json::Value) -> Fixture {
        Fixture::parse(include_str!("../fixtures/remove-passkey.json"))
            .bearer(token)
            .path_id("/users/me/passkeys/", id)
            .body(&body.to_string())
    }

    #[tokio::test]
    async fn removes_a_passkey_with_the_password_only() {
        let alice = SignedIn::new("alice").await;
        let record = PasskeyRecord {
            user_id: alice.user_id.clone(),
            id: "AAAA".into(),
            name: PasskeyName::parse(None).unwrap(),
            created_at: 1,
            last_used_at: None,
            credential: "{}".into(),
        };
        assert!(alice.store.add_passkey(&record).await.unwrap());
        let app: RemovePasskey<MemoryStore> = RemovePasskey {
            store: alice.store.clone(),
            passwords: passwords::argon2id(),
            verifier: alice.keys.verifier(),
            factor_keys: factor_keys(),
            clock: clock::system(),
        };
        let wrong = event(&alice.access_token, "AAAA", json!({ "password": "not the password at all" }));
        let answer = call_json(handle(&app, wrong.request())).await;
        assert_eq!((answer.status, answer.error_code()), (401, Some("invalid_credentials")));
        let right = event(&alice.access_token, "AAAA", json!({ "password": PASSWORD }));
        assert_eq!(call(handle(&app, right.request())).await.status, 204);
        assert!(alice.store.passkeys(&alice.user_id).await.unwrap().is_empty());
        let again =
            call_json(handle(&app, event(&alice.access_token, "AAAA", json!({ "password": PASSWORD })).request()))
                .await;
        assert_eq!((again.status, again.error_code()), (404, Some("not_found")));
        let bad = call_json(handle(&app, event(&alice.access_token, "AAAA", json!({})).request())).await;
        assert_eq!((bad.status, bad.error_code()), (400, Some("invalid_request")));
    }
}
