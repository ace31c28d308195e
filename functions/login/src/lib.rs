//! `POST /auth/login`: exchanges a username and password for an access token.

use lambda_http::{Body, Request, Response};
use serde::Serialize;
use user_auth_core::clock::{self, SharedClock};
use user_auth_core::config::{self, Env, SigningKeySource};
use user_auth_core::edge::{json_body, ok, CredentialsBody};
use user_auth_core::passwords::{self, SharedHasher};
use user_auth_core::sdk_settings::{SdkSettings, Service};
use user_auth_core::store::dynamodb::DynamoStore;
use user_auth_core::store::{CredentialStore, LoginAttemptStore};
use user_auth_core::tokens::TokenIssuer;
use user_auth_core::{operations, startup, ApiError, StartError};

/// What every request uses, built once per process.
pub struct Login<S> {
    pub store: S,
    pub passwords: SharedHasher,
    pub issuer: TokenIssuer,
    pub clock: SharedClock,
}

/// The production wiring: `main` serves what this builds, and the tests build it the same way.
pub async fn build(env: &Env) -> Result<Login<DynamoStore>, StartError> {
    let source = config::signing_key_source(env)?;
    with_signing_key(env, &signing_key_pem(&source, &SdkSettings::from_env(env)?).await?)
}

/// All of [`build`] but fetching the signing key: what the template checks
/// can run without reaching Secrets Manager.
pub fn with_signing_key(env: &Env, signing_key_pem: &str) -> Result<Login<DynamoStore>, StartError> {
    Ok(Login {
        store: startup::dynamo_store(env)?,
        passwords: passwords::argon2id(),
        issuer: TokenIssuer::from_pem(signing_key_pem, config::token_settings(env)?)?,
        clock: clock::system(),
    })
}

/// Reads the private key, once, at start: from its file locally, from
/// Secrets Manager when deployed (only this function may read that secret).
async fn signing_key_pem(source: &SigningKeySource, sdk: &SdkSettings) -> Result<String, StartError> {
    match source {
        SigningKeySource::File(path) => std::fs::read_to_string(path)
            .map_err(|err| format!("cannot read the signing key file {}: {err}", path.display()).into()),
        SigningKeySource::Secret(arn) => {
            let secret = aws_sdk_secretsmanager::Client::new(&sdk.sdk_config(Service::SecretsManager))
                .get_secret_value()
                .secret_id(arn)
                .send()
                .await?;
            secret.secret_string.ok_or_else(|| "the signing key secret has no string value".into())
        }
    }
}

/// The token response, shaped like OAuth 2.0's (RFC 6749, section 5.1).
#[derive(Serialize)]
struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
}

pub async fn handle<S>(app: &Login<S>, request: Request) -> Result<Response<Body>, ApiError>
where
    S: CredentialStore + LoginAttemptStore,
{
    let body: CredentialsBody = json_body(&request)?;
    let now = app.clock.now();
    let token = operations::login(&app.store, &app.passwords, &app.issuer, now, &body.username, body.password).await?;
    Ok(ok(&TokenResponse { access_token: token.access_token, token_type: "Bearer", expires_in: token.expires_in }))
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use user_auth_core::store::memory::MemoryStore;
    use user_auth_core::test_support::{call_json, now, Fixture, TestKeys, MIN_LENGTH, PASSWORD};

    use super::*;

    async fn setup() -> (Login<MemoryStore>, TestKeys, String) {
        let keys = TestKeys::generate();
        let store = MemoryStore::default();
        let passwords = passwords::argon2id();
        let user = operations::create_user(&store, &passwords, MIN_LENGTH, "alice", PASSWORD.into()).await.unwrap();
        let app = Login { store, passwords, issuer: keys.issuer(), clock: clock::system() };
        (app, keys, user.id.to_string())
    }

    fn event(password: &str) -> Fixture {
        let body = json!({ "username": "alice", "password": password }).to_string();
        Fixture::parse(include_str!("../fixtures/login.json")).body(&body)
    }

    #[tokio::test]
    async fn issues_a_bearer_token() {
        let (app, keys, user_id) = setup().await;
        let answer = call_json(handle(&app, event(PASSWORD).request())).await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.headers["cache-control"], "no-store");
        assert_eq!(answer.json["token_type"], "Bearer");
        assert_eq!(answer.json["expires_in"], keys.settings.ttl.as_secs());
        let claims = keys.verifier().verify(answer.json["access_token"].as_str().unwrap(), now()).unwrap();
        assert_eq!(claims.sub, user_id);
    }

    #[tokio::test]
    async fn a_body_that_is_not_utf8_is_an_invalid_request() {
        // API Gateway passes such a body base64-encoded: here 0xff 0xfe 'y'.
        let (app, _, _) = setup().await;
        let answer = call_json(handle(&app, event(PASSWORD).base64_body("//55").request())).await;
        assert_eq!((answer.status, answer.error_code()), (400, Some("invalid_request")));
    }

    #[tokio::test]
    async fn a_wrong_password_is_invalid_credentials() {
        let (app, _, _) = setup().await;
        let answer = call_json(handle(&app, event("correct horse battery stapler").request())).await;
        assert_eq!((answer.status, answer.error_code()), (401, Some("invalid_credentials")));
        assert!(answer.json.get("access_token").is_none());
    }
}
