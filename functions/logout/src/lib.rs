//! `POST /auth/logout`: revokes the presented token for every function, at once.

use lambda_http::{Body, Request, Response};
use user_auth_core::clock::{self, SharedClock};
use user_auth_core::config::{self, ConfigError, Env};
use user_auth_core::edge::{bearer_token, no_content};
use user_auth_core::sdk_settings::SdkSettings;
use user_auth_core::store::dynamodb::DynamoStore;
use user_auth_core::store::{RevocationStore, TableNames};
use user_auth_core::tokens::{TokenSettings, TokenVerifier};
use user_auth_core::{operations, ApiError, StartError};

/// What the function reads from its environment.
pub struct Config {
    pub tables: TableNames,
    pub token_settings: TokenSettings,
    pub verifying_key_pem: String,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Config {
            tables: config::table_names(env),
            token_settings: config::token_settings(env)?,
            verifying_key_pem: config::verifying_key_pem(env)?,
        })
    }
}

/// What every request uses, built once per process.
pub struct Logout<S> {
    pub store: S,
    pub verifier: TokenVerifier,
    pub clock: SharedClock,
}

/// The production wiring: `main` serves what this builds, and the tests build it the same way.
pub async fn build(env: &Env) -> Result<Logout<DynamoStore>, StartError> {
    let config = Config::from_env(env)?;
    let sdk = SdkSettings::from_env(env)?;
    Ok(Logout {
        store: DynamoStore::from_settings(&sdk, config.tables),
        verifier: TokenVerifier::from_pem(&config.verifying_key_pem, &config.token_settings)?,
        clock: clock::system(),
    })
}

pub async fn handle<S: RevocationStore>(app: &Logout<S>, request: Request) -> Result<Response<Body>, ApiError> {
    let token = bearer_token(&request)?;
    operations::logout(&app.store, &app.verifier, app.clock.now(), token).await?;
    Ok(no_content())
}

#[cfg(test)]
mod tests {
    use user_auth_core::domain::UserId;
    use user_auth_core::store::memory::MemoryStore;
    use user_auth_core::test_support::{call, now, Fixture, TestKeys};

    use super::*;

    fn app(keys: &TestKeys) -> Logout<MemoryStore> {
        Logout { store: MemoryStore::default(), verifier: keys.verifier(), clock: clock::system() }
    }

    fn fixture() -> Fixture {
        Fixture::parse(include_str!("../fixtures/logout.json"))
    }

    #[tokio::test]
    async fn revokes_once_then_refuses_the_token() {
        let keys = TestKeys::generate();
        let app = app(&keys);
        let token = keys.issuer().issue(&UserId::new_random(), now()).unwrap().access_token;
        let event = fixture().bearer(&token);

        let answer = call(handle(&app, event.request())).await;
        assert_eq!(answer.status, 204);
        assert!(answer.json.is_null(), "no body");
        let claims = app.verifier.verify(&token, now()).unwrap();
        assert!(app.store.is_revoked(&claims.jti).await.unwrap());

        let answer = call(handle(&app, event.request())).await;
        assert_eq!(answer.status, 401);
        assert!(answer.headers.contains_key("www-authenticate"));
    }

    #[tokio::test]
    async fn without_a_token_is_unauthorized() {
        let keys = TestKeys::generate();
        let event = fixture().without_header("authorization");
        let answer = call(handle(&app(&keys), event.request())).await;
        assert_eq!(answer.status, 401);
    }
}
