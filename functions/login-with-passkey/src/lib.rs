//! `POST /auth/passkeys/options` and `POST /auth/passkeys/login`: a sign-in
//! with a passkey and no username. The first answers a ceremony's id and
//! the options for the browser's `navigator.credentials.get` (conditional
//! mediation: the browser offers its passkeys in its autofill); the second
//! takes the browser's assertion with that id and answers a session's
//! tokens, as login does.

use lambda_http::{Body, Request, Response};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
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

/// The first step's answer: the ceremony to name in the second, and the
/// browser's options (`publicKey`, `mediation`).
#[derive(Debug, Serialize)]
pub struct SignInOptions {
    pub ceremony: String,
    pub options: serde_json::Value,
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
        let started = operations::start_passkey_sign_in(&app.store, party, now).await?;
        return Ok(ok(&SignInOptions { ceremony: started.ceremony, options: started.options }));
    }
    let body: PasskeyLoginBody = json_body(&request)?;
    let attempt = PasskeySignIn { ceremony: body.ceremony, credential: body.credential, client: client(&request) };
    let issued = operations::passkey_sign_in(&app.store, party, &app.issuer, app.policy, now, attempt).await?;
    Ok(ok(&TokenResponse::from(issued)))
}
