//! `POST /auth/mfa/verify`: completes a login that waits for its second
//! factor, with the token the login answered and a TOTP or recovery code.

use lambda_http::{Body, Request, Response};
use secrecy::SecretString;
use serde::Deserialize;
use user_auth_core::clock::{self, SharedClock};
use user_auth_core::config::Env;
use user_auth_core::domain::FactorKeys;
use user_auth_core::edge::{client, json_body, ok, JsonBody, TokenResponse};
use user_auth_core::operations::{self, FactorSignIn, LoginPolicy};
use user_auth_core::sdk_settings::SdkSettings;
use user_auth_core::store::dynamodb::DynamoStore;
use user_auth_core::store::{ActivityStore, LoginAttemptStore, SecondFactorStore, SessionStore, UserStore};
use user_auth_core::tokens::TokenIssuer;
use user_auth_core::{startup, ApiError, BoxError};

/// What every request uses, built once per process.
pub struct VerifyMfa<S> {
    pub store: S,
    pub issuer: TokenIssuer,
    pub factor_keys: FactorKeys,
    pub policy: LoginPolicy,
    pub clock: SharedClock,
}

/// The production wiring: `main` serves what this builds, and the tests build it the same way.
pub async fn build(env: &Env) -> Result<VerifyMfa<DynamoStore>, BoxError> {
    let sdk = SdkSettings::from_env(env)?;
    with_signing_key(env, &sdk, &startup::signing_key_pem(env, &sdk).await?)
}

/// All of [`build`] but fetching the signing key: what the template checks
/// can run without reaching Secrets Manager.
pub fn with_signing_key(
    env: &Env,
    sdk: &SdkSettings,
    signing_key_pem: &SecretString,
) -> Result<VerifyMfa<DynamoStore>, BoxError> {
    let policy = startup::login_policy(env)?;
    Ok(VerifyMfa {
        store: startup::password_checking_store(env, sdk)?,
        issuer: startup::token_issuer(env, signing_key_pem)?,
        factor_keys: startup::factor_keys(env)?,
        policy,
        clock: clock::system(),
    })
}

/// The body of `POST /auth/mfa/verify` (its `Debug` redacts the token).
#[derive(Deserialize)]
pub struct FactorSignInBody {
    pub mfa_token: String,
    pub code: String,
}

impl std::fmt::Debug for FactorSignInBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FactorSignInBody { [REDACTED] }")
    }
}

impl JsonBody for FactorSignInBody {
    const EXPECTED: &'static str =
        "the request body must be a JSON object with the string fields \"mfa_token\" and \"code\"";
}

pub async fn handle<S>(app: &VerifyMfa<S>, request: Request) -> Result<Response<Body>, ApiError>
where
    S: UserStore + SessionStore + LoginAttemptStore + SecondFactorStore + ActivityStore,
{
    let body: FactorSignInBody = json_body(&request)?;
    let sign_in = FactorSignIn { token: body.mfa_token, code: body.code, client: client(&request) };
    let now = app.clock.now();
    let (store, issuer, keys) = (&app.store, &app.issuer, &app.factor_keys);
    let issued = operations::verify_mfa(store, issuer, keys, app.policy, now, sign_in).await?;
    Ok(ok(&TokenResponse::from(issued)))
}
