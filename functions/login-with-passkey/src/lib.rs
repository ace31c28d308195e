//! `POST /auth/passkeys/options` and `POST /auth/passkeys/login`: a sign-in
//! with a passkey and no username. The first answers a ceremony's id and
//! the options for the browser's `navigator.credentials.get` (conditional
//! mediation: the browser offers its passkeys in its autofill); the second
//! takes the browser's assertion with that id and answers a session's
//! tokens, as login does.

use lambda_http::{Body, Request, Response};
use secrecy::SecretString;
use serde::Deserialize;
use user_auth_core::clock::{self, SharedClock};
use user_auth_core::config::Env;
use user_auth_core::edge::{client, json_body, ok, JsonBody, TokenResponse};
use user_auth_core::operations::{self, LoginPolicy, PasskeySignIn};
use user_auth_core::passkeys::RelyingParty;
use user_auth_core::sdk_settings::SdkSettings;
use user_auth_core::store::dynamodb::DynamoStore;
use user_auth_core::store::{ActivityStore, CredentialStore, PasskeyStore, SessionStore, UserStore};
use user_auth_core::tokens::TokenIssuer;
use user_auth_core::{startup, ApiError, BoxError};

/// What every request uses, built once per process.
pub struct LoginWithPasskey<S> {
    pub store: S,
    pub issuer: TokenIssuer,
    pub policy: LoginPolicy,
    /// `None` where the deployment sets no relying party: the routes are 404.
    pub party: Option<RelyingParty>,
    pub clock: SharedClock,
}

/// The production wiring: `main` serves what this builds, and the tests build it the same way.
pub async fn build(env: &Env) -> Result<LoginWithPasskey<DynamoStore>, BoxError> {
    let sdk = SdkSettings::from_env(env)?;
    with_signing_key(env, &sdk, &startup::signing_key_pem(env, &sdk).await?)
}

/// All of [`build`] but fetching the signing key: what the template checks
/// can run without reaching Secrets Manager.
pub fn with_signing_key(
    env: &Env,
    sdk: &SdkSettings,
    signing_key_pem: &SecretString,
) -> Result<LoginWithPasskey<DynamoStore>, BoxError> {
    Ok(LoginWithPasskey {
        store: startup::dynamo_store(env, sdk)?,
        issuer: startup::token_issuer(env, signing_key_pem)?,
        policy: startup::login_policy(env)?,
        party: startup::relying_party(env)?,
        clock: clock::system(),
    })
}

/// The second step's body: the ceremony, and the browser's assertion
/// (`PublicKeyCredential.toJSON()`).
#[derive(Debug, Deserialize)]
pub struct PasskeyLoginBody {
    pub ceremony: String,
    pub credential: serde_json::Value,
}

impl JsonBody for PasskeyLoginBody {
    const EXPECTED: &'static str =
        "the request body must be a JSON object with the string field \"ceremony\" and the object field \"credential\"";
}

pub async fn handle<S>(app: &LoginWithPasskey<S>, request: Request) -> Result<Response<Body>, ApiError>
where
    S: PasskeyStore + UserStore + CredentialStore + SessionStore + ActivityStore,
{
    let party = app.party.as_ref().ok_or(ApiError::PasskeysOff)?;
    let now = app.clock.now();
    if request.uri().path().ends_with("/options") {
        return Ok(ok(&operations::start_passkey_sign_in(&app.store, party, now).await?));
    }
    let body: PasskeyLoginBody = json_body(&request)?;
    let attempt = PasskeySignIn { ceremony: body.ceremony, credential: body.credential, client: client(&request) };
    let issued = operations::passkey_sign_in(&app.store, party, &app.issuer, app.policy, now, attempt).await?;
    Ok(ok(&TokenResponse::from(issued)))
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use user_auth_core::operations::{finish_passkey_registration, start_passkey_registration};
    use user_auth_core::store::memory::MemoryStore;
    use user_auth_core::test_support::{
        call_json, now, relying_party, Fixture, SignedIn, TestAuthenticator, LOGIN, TEST_ORIGIN,
    };

    use super::*;

    fn app(alice: &SignedIn, party: Option<RelyingParty>) -> LoginWithPasskey<MemoryStore> {
        LoginWithPasskey {
            store: alice.store.clone(),
            issuer: alice.keys.issuer(),
            policy: LOGIN,
            party,
            clock: clock::system(),
        }
    }

    fn options_event() -> Fixture {
        Fixture::parse(include_str!("../fixtures/passkey-options.json"))
    }

    fn login_event(body: &serde_json::Value) -> Fixture {
        Fixture::parse(include_str!("../fixtures/login-with-passkey.json")).body(&body.to_string())
    }

    #[tokio::test]
    async fn signs_in_with_a_passkey_and_answers_the_usual_tokens() {
        let alice = SignedIn::new("alice").await;
        let mut laptop = TestAuthenticator::new(TEST_ORIGIN);
        let verifier = alice.keys.verifier();
        let caller = operations::authenticate(&alice.store, &verifier, now(), &alice.access_token).await.unwrap();
        let party = relying_party();
        let options = start_passkey_registration(&alice.store, &party, now(), &caller).await.unwrap();
        let credential = laptop.register(&options).unwrap();
        finish_passkey_registration(&alice.store, &party, now(), &caller, None, &credential).await.unwrap();
        let app = app(&alice, Some(party));
        let started = call_json(handle(&app, options_event().request())).await;
        assert_eq!(started.status, 200, "{started:?}");
        let answer = laptop.sign_in(&started.json["options"]).unwrap();
        let body = json!({ "ceremony": started.json["ceremony"], "credential": answer });
        let signed_in = call_json(handle(&app, login_event(&body).request())).await;
        assert_eq!(signed_in.status, 200, "{signed_in:?}");
        assert_eq!(signed_in.json["token_type"], "Bearer");
        assert!(signed_in.json["refresh_token"].is_string());
        let replayed = call_json(handle(&app, login_event(&body).request())).await;
        assert_eq!((replayed.status, replayed.error_code()), (401, Some("invalid_credentials")));
    }

    #[tokio::test]
    async fn refuses_a_bad_body_and_works_nowhere_unconfigured() {
        let alice = SignedIn::new("alice").await;
        let app = app(&alice, Some(relying_party()));
        let answer = call_json(handle(&app, login_event(&json!({ "ceremony": 1 })).request())).await;
        assert_eq!((answer.status, answer.error_code()), (400, Some("invalid_request")));
        let unknown = json!({ "ceremony": "nothing", "credential": {} });
        let answer = call_json(handle(&app, login_event(&unknown).request())).await;
        assert_eq!((answer.status, answer.error_code()), (401, Some("invalid_credentials")));
        let off = LoginWithPasskey { party: None, ..app };
        let answer = call_json(handle(&off, options_event().request())).await;
        assert_eq!((answer.status, answer.error_code()), (404, Some("not_found")));
    }
}
