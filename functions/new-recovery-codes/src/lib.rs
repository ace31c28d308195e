//! `POST /users/me/mfa/recovery-codes`: a code of the second factor buys
//! new recovery codes, shown once; the old ones are void.

use lambda_http::{Body, Request, Response};
use user_auth_core::clock::{self, SharedClock};
use user_auth_core::config::Env;
use user_auth_core::domain::FactorKeys;
use user_auth_core::edge::{bearer_token, client, json_body, ok, FactorCodeBody, RecoveryCodesResponse};
use user_auth_core::mail::SharedMailer;
use user_auth_core::operations;
use user_auth_core::sdk_settings::SdkSettings;
use user_auth_core::store::dynamodb::DynamoStore;
use user_auth_core::store::{ActivityStore, LoginAttemptStore, SecondFactorStore, SessionStore, UserStore};
use user_auth_core::tokens::TokenVerifier;
use user_auth_core::{startup, ApiError, BoxError};

/// What every request uses, built once per process.
pub struct NewRecoveryCodes<S> {
    pub store: S,
    pub verifier: TokenVerifier,
    pub factor_keys: FactorKeys,
    pub mailer: SharedMailer,
    pub clock: SharedClock,
}

/// The production wiring: `main` serves what this builds, and the tests build it the same way.
pub async fn build(env: &Env) -> Result<NewRecoveryCodes<DynamoStore>, BoxError> {
    let sdk = SdkSettings::from_env(env)?;
    Ok(NewRecoveryCodes {
        store: startup::password_checking_store(env, &sdk)?,
        verifier: startup::token_verifier(env)?,
        factor_keys: startup::factor_keys(env)?,
        mailer: startup::mailer(env, &sdk)?,
        clock: clock::system(),
    })
}

pub async fn handle<S>(app: &NewRecoveryCodes<S>, request: Request) -> Result<Response<Body>, ApiError>
where
    S: SessionStore + UserStore + LoginAttemptStore + SecondFactorStore + ActivityStore,
{
    let token = bearer_token(&request)?;
    let body: FactorCodeBody = json_body(&request)?;
    let now = app.clock.now();
    let caller = operations::authenticate(&app.store, &app.verifier, now, token).await?.from(client(&request));
    let source_ip = client(&request).source_ip;
    let (store, keys, mailer) = (&app.store, &app.factor_keys, &*app.mailer);
    let codes = operations::new_recovery_codes(store, keys, mailer, now, &caller, &body.code, &source_ip).await?;
    Ok(ok(&RecoveryCodesResponse::from(codes)))
}
