//! `DELETE /users/me/mfa/totp`: removes the second factor and its recovery
//! codes, the password and a current code asked for.

use lambda_http::{Body, Request, Response};
use secrecy::SecretString;
use serde::Deserialize;
use user_auth_core::clock::{self, SharedClock};
use user_auth_core::config::Env;
use user_auth_core::domain::FactorKeys;
use user_auth_core::edge::{bearer_token, client, json_body, no_content, JsonBody};
use user_auth_core::mail::SharedMailer;
use user_auth_core::operations::{self, FactorProof, FactorRemoval};
use user_auth_core::passwords::{self, SharedHasher};
use user_auth_core::sdk_settings::SdkSettings;
use user_auth_core::store::dynamodb::DynamoStore;
use user_auth_core::store::{
    ActivityStore, CredentialStore, LoginAttemptStore, SecondFactorStore, SessionStore, UserStore,
};
use user_auth_core::tokens::TokenVerifier;
use user_auth_core::{startup, ApiError, BoxError};

/// What every request uses, built once per process.
pub struct RemoveTotp<S> {
    pub store: S,
    pub passwords: SharedHasher,
    pub verifier: TokenVerifier,
    pub factor_keys: FactorKeys,
    pub mailer: SharedMailer,
    pub clock: SharedClock,
}

/// The production wiring: `main` serves what this builds, and the tests build it the same way.
pub async fn build(env: &Env) -> Result<RemoveTotp<DynamoStore>, BoxError> {
    let sdk = SdkSettings::from_env(env)?;
    Ok(RemoveTotp {
        store: startup::password_checking_store(env, &sdk)?,
        passwords: passwords::argon2id(),
        verifier: startup::token_verifier(env)?,
        factor_keys: startup::factor_keys(env)?,
        mailer: startup::mailer(env, &sdk)?,
        clock: clock::system(),
    })
}

/// The body of `DELETE /users/me/mfa/totp` (its `Debug` redacts the password).
#[derive(Debug, Deserialize)]
pub struct FactorRemovalBody {
    pub password: SecretString,
    #[serde(default)]
    pub code: Option<String>,
}

impl JsonBody for FactorRemovalBody {
    const EXPECTED: &'static str =
        "the request body must be a JSON object with the string fields \"password\" and \"code\"";
}

pub async fn handle<S>(app: &RemoveTotp<S>, request: Request) -> Result<Response<Body>, ApiError>
where
    S: SessionStore + UserStore + CredentialStore + LoginAttemptStore + SecondFactorStore + ActivityStore,
{
    let token = bearer_token(&request)?;
    let body: FactorRemovalBody = json_body(&request)?;
    let now = app.clock.now();
    let caller = operations::authenticate(&app.store, &app.verifier, now, token).await?.from(client(&request));
    let attempt = FactorRemoval { password: body.password, source_ip: client(&request).source_ip };
    let proof = FactorProof { keys: &app.factor_keys, code: body.code };
    let (store, passwords, mailer) = (&app.store, &app.passwords, &*app.mailer);
    operations::remove_totp(store, passwords, mailer, now, &caller, attempt, proof).await?;
    Ok(no_content())
}
