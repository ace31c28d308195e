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
