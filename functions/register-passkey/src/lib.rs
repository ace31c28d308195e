//! `POST /users/me/passkeys/registration/options` and `POST
//! /users/me/passkeys/registration`: the two steps of one ceremony. The
//! first answers the options for the browser's `navigator.credentials.create`
//! (a discoverable credential, user verification required) and keeps the
//! ceremony's state; the second checks the browser's credential against it
//! (webauthn-rs) and stores the passkey under a name.

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use user_auth_core::clock::{self, SharedClock};
use user_auth_core::config::Env;
use user_auth_core::edge::{bearer_token, client, created, json_body, ok, JsonBody};
use user_auth_core::operations;
use user_auth_core::passkeys::RelyingParty;
use user_auth_core::sdk_settings::SdkSettings;
use user_auth_core::store::dynamodb::DynamoStore;
use user_auth_core::store::{ActivityStore, PasskeyStore, SessionStore, UserStore};
use user_auth_core::tokens::TokenVerifier;
use user_auth_core::{startup, ApiError, BoxError};

/// What every request uses, built once per process.
pub struct RegisterPasskey<S> {
    pub store: S,
    pub verifier: TokenVerifier,
    /// `None` where the deployment sets no relying party: the routes are 404.
    pub party: Option<RelyingParty>,
    pub clock: SharedClock,
}

/// The production wiring: `main` serves what this builds, and the tests build it the same way.
pub async fn build(env: &Env) -> Result<RegisterPasskey<DynamoStore>, BoxError> {
    Ok(RegisterPasskey {
        store: startup::dynamo_store(env, &SdkSettings::from_env(env)?)?,
        verifier: startup::token_verifier(env)?,
        party: startup::relying_party(env)?,
        clock: clock::system(),
    })
}

/// The body of the second step: the browser's credential
/// (`PublicKeyCredential.toJSON()`), and what to call it.
#[derive(Debug, Deserialize)]
pub struct RegistrationBody {
    #[serde(default)]
    pub name: Option<String>,
    pub credential: serde_json::Value,
}

impl JsonBody for RegistrationBody {
    const EXPECTED: &'static str =
        "the request body must be a JSON object with the object field \"credential\" and the string field \"name\"";
}

pub async fn handle<S>(app: &RegisterPasskey<S>, request: Request) -> Result<Response<Body>, ApiError>
where
    S: SessionStore + UserStore + PasskeyStore + ActivityStore,
{
    let party = app.party.as_ref().ok_or(ApiError::PasskeysOff)?;
    let token = bearer_token(&request)?;
    let options = request.uri().path().ends_with("/options");
    // The second step's body is read before anything is asked of the store.
    let body: Option<RegistrationBody> = if options { None } else { Some(json_body(&request)?) };
    let now = app.clock.now();
    let caller = operations::authenticate(&app.store, &app.verifier, now, token).await?.from(client(&request));
    let Some(body) = body else {
        return Ok(ok(&operations::start_passkey_registration(&app.store, party, now, &caller).await?));
    };
    let registered = operations::finish_passkey_registration(
        &app.store,
        party,
        now,
        &caller,
        body.name.as_deref(),
        &body.credential,
    );
    let registered = registered.await?;
    Ok(created(&format!("/users/me/passkeys/{}", registered.id), &registered))
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use user_auth_core::store::memory::MemoryStore;
    use user_auth_core::test_support::{call_json, relying_party, Fixture, SignedIn, TestAuthenticator, TEST_ORIGIN};

    use super::*;

    fn app(alice: &SignedIn, party: Option<RelyingParty>) -> RegisterPasskey<MemoryStore> {
        RegisterPasskey { store: alice.store.clone(), verifier: alice.keys.verifier(), party, clock: clock::system() }
    }

    fn options_event(token: &str) -> Fixture {
        Fixture::parse(include_str!("../fixtures/registration-options.json")).bearer(token)
    }

    fn registration_event(token: &str, body: &serde_json::Value) -> Fixture {
        Fixture::parse(include_str!("../fixtures/register-passkey.json")).bearer(token).body(&body.to_string())
    }

    #[tokio::test]
    async fn registers_the_browsers_credential_from_its_options() {
        let alice = SignedIn::new("alice").await;
        let app = app(&alice, Some(relying_party()));
        let options = call_json(handle(&app, options_event(&alice.access_token).request())).await;
        assert_eq!(options.status, 200, "{options:?}");
        assert_eq!(options.json["publicKey"]["rp"]["id"], "localhost");
        let credential = TestAuthenticator::new(TEST_ORIGIN).register(&options.json).unwrap();
        let body = json!({ "name": "Laptop", "credential": credential });
        let created = call_json(handle(&app, registration_event(&alice.access_token, &body).request())).await;
        assert_eq!(created.status, 201, "{created:?}");
        let id = created.json["id"].as_str().unwrap();
        assert_eq!(created.headers["location"], format!("/users/me/passkeys/{id}").as_str());
        assert_eq!(created.json["name"], "Laptop");
    }

    #[tokio::test]
    async fn refuses_a_bad_body_a_bad_token_and_works_nowhere_unconfigured() {
        let alice = SignedIn::new("alice").await;
        let app = app(&alice, Some(relying_party()));
        let answer =
            call_json(handle(&app, registration_event(&alice.access_token, &json!({"name": 1})).request())).await;
        assert_eq!((answer.status, answer.error_code()), (400, Some("invalid_request")));
        let answer = call_json(handle(&app, options_event("garbage").request())).await;
        assert_eq!((answer.status, answer.error_code()), (401, Some("invalid_token")));
        let body = json!({ "credential": {} });
        let answer = call_json(handle(&app, registration_event(&alice.access_token, &body).request())).await;
        assert_eq!((answer.status, answer.error_code()), (400, Some("invalid_passkey")), "no ceremony");
        let off = RegisterPasskey { party: None, ..app };
        let answer = call_json(handle(&off, options_event(&alice.access_token).request())).await;
        assert_eq!((answer.status, answer.error_code()), (404, Some("not_found")));
    }
}
