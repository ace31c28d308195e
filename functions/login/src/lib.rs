//! `POST /auth/login`: exchanges a username and password for an access token.

use std::sync::Arc;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use user_auth_core::aws::{Aws, Service};
use user_auth_core::config::{self, ConfigError, Env, SigningKeySource};
use user_auth_core::http::{json_body, json_response, CredentialsBody};
use user_auth_core::store::{CredentialStore, LoginAttemptStore, TableNames};
use user_auth_core::tokens::{TokenIssuer, TokenSettings};
use user_auth_core::{operations, ApiError};

pub struct Config {
    pub tables: TableNames,
    pub token_settings: TokenSettings,
    pub signing_key: SigningKeySource,
}

pub fn config(env: &Env) -> Result<Config, ConfigError> {
    Ok(Config {
        tables: config::table_names(env),
        token_settings: config::token_settings(env)?,
        signing_key: config::signing_key_source(env)?,
    })
}

/// Reads the private key, once, at start: from its file locally, from
/// Secrets Manager when deployed (only this function may read that secret).
pub async fn signing_key_pem(source: &SigningKeySource, aws: &Aws) -> Result<String, lambda_http::Error> {
    match source {
        SigningKeySource::File(path) => std::fs::read_to_string(path)
            .map_err(|err| format!("cannot read the signing key file {}: {err}", path.display()).into()),
        SigningKeySource::Secret(arn) => {
            let secret = aws_sdk_secretsmanager::Client::new(&aws.sdk_config(Service::SecretsManager))
                .get_secret_value()
                .secret_id(arn)
                .send()
                .await?;
            secret.secret_string.ok_or_else(|| "the signing key secret has no string value".into())
        }
    }
}

pub struct Login<S> {
    pub store: S,
    pub issuer: TokenIssuer,
}

/// The token response, shaped like OAuth 2.0's (RFC 6749, section 5.1).
#[derive(Serialize)]
struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
}

pub async fn handle<S>(app: Arc<Login<S>>, request: Request) -> Result<Response<Body>, ApiError>
where
    S: CredentialStore + LoginAttemptStore,
{
    let body: CredentialsBody = json_body(&request)?;
    let token = operations::login(&app.store, &app.issuer, &body.username, body.password).await?;
    let response =
        TokenResponse { access_token: token.access_token, token_type: "Bearer", expires_in: token.expires_in };
    Ok(json_response(StatusCode::OK, &response))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use secrecy::SecretString;
    use user_auth_core::http::respond;
    use user_auth_core::store::memory::MemoryStore;
    use user_auth_core::tokens::{SigningKeyPair, TokenSettings, TokenVerifier};

    use super::*;

    const FIXTURE: &str = include_str!("../fixtures/login.json");
    const PASSWORD: &str = "correct horse battery staple";

    async fn setup() -> (Arc<Login<MemoryStore>>, TokenVerifier, String) {
        let settings = TokenSettings { issuer: "i".into(), audience: "a".into(), ttl: Duration::from_secs(600) };
        let keys = SigningKeyPair::generate().unwrap();
        let issuer = TokenIssuer::from_pem(&keys.private_key_pem, settings.clone()).unwrap();
        let verifier = TokenVerifier::from_pem(&keys.public_key_pem, &settings).unwrap();
        let store = MemoryStore::default();
        let user = operations::create_user(&store, 15, "alice", SecretString::from(PASSWORD)).await.unwrap();
        (Arc::new(Login { store, issuer }), verifier, user.id.to_string())
    }

    async fn call(app: &Arc<Login<MemoryStore>>, password: &str) -> (Response<Body>, serde_json::Value) {
        let event = FIXTURE.replace("{{password}}", password);
        let request = lambda_http::request::from_str(&event).expect("fixture is an API Gateway v2 event");
        let response = respond(handle(app.clone(), request)).await;
        let Body::Text(text) = response.body() else { panic!("every answer of login has a JSON body") };
        let json = serde_json::from_str(text).unwrap();
        (response, json)
    }

    #[tokio::test]
    async fn issues_a_bearer_token() {
        let (app, verifier, user_id) = setup().await;
        let (response, json) = call(&app, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["cache-control"], "no-store");
        assert_eq!(json["token_type"], "Bearer");
        assert_eq!(json["expires_in"], 600);
        let claims = verifier.verify(json["access_token"].as_str().unwrap()).unwrap();
        assert_eq!(claims.sub, user_id);
    }

    #[tokio::test]
    async fn a_body_that_is_not_utf8_is_an_invalid_request() {
        // API Gateway passes such a body base64-encoded: here 0xff 0xfe 'y'.
        let (app, _, _) = setup().await;
        let event = FIXTURE
            .replace(r#""body": "{\"username\":\"alice\",\"password\":\"{{password}}\"}""#, r#""body": "//55""#)
            .replace(r#""isBase64Encoded": false"#, r#""isBase64Encoded": true"#);
        assert!(event.contains("//55") && event.contains(r#""isBase64Encoded": true"#));
        let request = lambda_http::request::from_str(&event).unwrap();
        let response = respond(handle(app, request)).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let Body::Text(text) = response.body() else { panic!("a JSON error") };
        assert!(text.contains("invalid_request"));
    }

    #[tokio::test]
    async fn a_wrong_password_is_invalid_credentials() {
        let (app, _, _) = setup().await;
        let (response, json) = call(&app, "correct horse battery stapler").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(json["error"]["code"], "invalid_credentials");
        assert!(json.get("access_token").is_none());
    }
}
