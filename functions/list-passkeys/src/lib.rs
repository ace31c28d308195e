//! `GET /users/me/passkeys`: the caller's passkeys, oldest first: their ids,
//! names and when they were registered and last used; never their keys.

use lambda_http::{Body, Request, Response};
use serde::Serialize;
use user_auth_core::clock::{self, SharedClock};
use user_auth_core::config::Env;
use user_auth_core::domain::PasskeyView;
use user_auth_core::edge::{bearer_token, ok};
use user_auth_core::operations;
use user_auth_core::sdk_settings::SdkSettings;
use user_auth_core::store::dynamodb::DynamoStore;
use user_auth_core::store::{PasskeyStore, SessionStore, UserStore};
use user_auth_core::tokens::TokenVerifier;
use user_auth_core::{startup, ApiError, BoxError};

/// What every request uses, built once per process.
pub struct ListPasskeys<S> {
    pub store: S,
    pub verifier: TokenVerifier,
    pub clock: SharedClock,
}

/// The production wiring: `main` serves what this builds, and the tests build it the same way.
pub async fn build(env: &Env) -> Result<ListPasskeys<DynamoStore>, BoxError> {
    Ok(ListPasskeys {
        store: startup::dynamo_store(env, &SdkSettings::from_env(env)?)?,
        verifier: startup::token_verifier(env)?,
        clock: clock::system(),
    })
}

#[derive(Debug, Serialize)]
pub struct Passkeys {
    pub passkeys: Vec<PasskeyView>,
}

pub async fn handle<S>(app: &ListPasskeys<S>, request: Request) -> Result<Response<Body>, ApiError>
where
    S: SessionStore + UserStore + PasskeyStore,
{
    let token = bearer_token(&request)?;
    let caller = operations::authenticate(&app.store, &app.verifier, app.clock.now(), token).await?;
    Ok(ok(&Passkeys { passkeys: operations::list_passkeys(&app.store, &caller).await? }))
}
