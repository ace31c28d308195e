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
