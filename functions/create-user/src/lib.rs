//! `POST /users`: signs a user up and answers 201 with the new user.

use std::sync::Arc;

use lambda_http::{Body, Request, Response};
use user_auth_core::config::{self, ConfigError, Env};
use user_auth_core::domain::UserView;
use user_auth_core::http::{created, json_body, CredentialsBody};
use user_auth_core::store::{TableNames, UserStore};
use user_auth_core::{operations, ApiError};

pub struct Config {
    pub tables: TableNames,
    pub password_min_length: usize,
}

pub fn config(env: &Env) -> Result<Config, ConfigError> {
    Ok(Config { tables: config::table_names(env), password_min_length: config::password_min_length(env)? })
}

pub struct CreateUser<S> {
    pub store: S,
    pub password_min_length: usize,
}

pub async fn handle<S: UserStore>(app: Arc<CreateUser<S>>, request: Request) -> Result<Response<Body>, ApiError> {
    let body: CredentialsBody = json_body(&request)?;
    let user = operations::create_user(&app.store, app.password_min_length, &body.username, body.password).await?;
    Ok(created(&format!("/users/{}", user.id), &UserView::from(&user)))
}

#[cfg(test)]
mod tests {
    use lambda_http::http::StatusCode;
    use user_auth_core::http::respond;
    use user_auth_core::store::memory::MemoryStore;

    use super::*;

    const FIXTURE: &str = include_str!("../fixtures/create-user.json");
    const FIXTURE_BASE64: &str = include_str!("../fixtures/create-user-base64.json");

    fn app() -> Arc<CreateUser<MemoryStore>> {
        Arc::new(CreateUser { store: MemoryStore::default(), password_min_length: 15 })
    }

    async fn call(app: &Arc<CreateUser<MemoryStore>>, event: &str) -> (StatusCode, Response<Body>, serde_json::Value) {
        let request = lambda_http::request::from_str(event).expect("fixture is an API Gateway v2 event");
        let response = respond(handle(app.clone(), request)).await;
        let json = match response.body() {
            Body::Text(text) => serde_json::from_str(text).unwrap(),
            _ => serde_json::Value::Null,
        };
        (response.status(), response, json)
    }

    #[tokio::test]
    async fn creates_a_user_with_a_location() {
        let app = app();
        let (status, response, json) = call(&app, FIXTURE).await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(json["username"], "alice");
        let id = json["id"].as_str().unwrap();
        assert_eq!(response.headers()["location"], format!("/users/{id}").as_str());
        assert_eq!(response.headers()["content-type"], "application/json");
        assert!(json.get("password").is_none() && json.get("password_hash").is_none());
    }

    #[tokio::test]
    async fn a_base64_body_is_read_like_a_text_body() {
        let (status, _, json) = call(&app(), FIXTURE_BASE64).await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(json["username"], "bob");
    }

    #[tokio::test]
    async fn a_taken_username_is_a_conflict() {
        let app = app();
        call(&app, FIXTURE).await;
        let (status, _, json) = call(&app, FIXTURE).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(json["error"]["code"], "username_taken");
    }

    #[tokio::test]
    async fn bad_input_gets_precise_json_errors() {
        let app = app();
        let cases = [
            (r#""body": "not json""#, StatusCode::BAD_REQUEST, "invalid_request"),
            (r#""body": "{\"username\":\"alice\"}""#, StatusCode::BAD_REQUEST, "invalid_request"),
            (
                r#""body": "{\"username\":\"a\",\"password\":\"correct horse battery staple\"}""#,
                StatusCode::BAD_REQUEST,
                "invalid_username",
            ),
            (
                r#""body": "{\"username\":\"alice\",\"password\":\"too short\"}""#,
                StatusCode::BAD_REQUEST,
                "invalid_password",
            ),
        ];
        let original = r#""body": "{\"username\":\"Alice\",\"password\":\"correct horse battery staple\"}""#;
        for (body, status, code) in cases {
            let (got, response, json) = call(&app, &FIXTURE.replace(original, body)).await;
            assert_eq!((got, json["error"]["code"].as_str()), (status, Some(code)), "{body}");
            assert_eq!(response.headers()["content-type"], "application/json");
            assert!(json["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
        }
        let big = format!(r#""body": "{}""#, "x".repeat(9000));
        let (status, _, json) = call(&app, &FIXTURE.replace(original, &big)).await;
        assert_eq!(
            (status, json["error"]["code"].as_str()),
            (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large"))
        );
    }
}
