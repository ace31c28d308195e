//! `GET /users/{id}`: any holder of a valid, unrevoked token may read a
//! user's public profile.

use std::sync::Arc;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
/// Its configuration: the tables, and what verifying tokens needs.
pub use user_auth_core::config::{verifier_config as config, VerifierConfig as Config};
use user_auth_core::domain::UserView;
use user_auth_core::http::{bearer_token, json_response, path_parameter};
use user_auth_core::store::{RevocationStore, UserStore};
use user_auth_core::tokens::TokenVerifier;
use user_auth_core::{operations, ApiError};

pub struct GetUser<S> {
    pub store: S,
    pub verifier: TokenVerifier,
}

pub async fn handle<S>(app: Arc<GetUser<S>>, request: Request) -> Result<Response<Body>, ApiError>
where
    S: UserStore + RevocationStore,
{
    let token = bearer_token(&request)?;
    // No id in the path reads as an id that matches no user: 404 once the
    // token has been checked.
    let id = path_parameter(&request, "id", "/users/").unwrap_or_default();
    let user = operations::get_user(&app.verifier, &app.store, token, &id).await?;
    Ok(json_response(StatusCode::OK, &UserView::from(&user)))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use secrecy::SecretString;
    use user_auth_core::http::respond;
    use user_auth_core::store::memory::MemoryStore;
    use user_auth_core::tokens::{SigningKeyPair, TokenIssuer, TokenSettings};

    use super::*;

    const FIXTURE: &str = include_str!("../fixtures/get-user.json");

    struct Setup {
        app: Arc<GetUser<MemoryStore>>,
        token: String,
        user_id: String,
    }

    async fn setup() -> Setup {
        let settings = TokenSettings { issuer: "i".into(), audience: "a".into(), ttl: Duration::from_secs(60) };
        let keys = SigningKeyPair::generate().unwrap();
        let issuer = TokenIssuer::from_pem(&keys.private_key_pem, settings.clone()).unwrap();
        let verifier = TokenVerifier::from_pem(&keys.public_key_pem, &settings).unwrap();
        let store = MemoryStore::default();
        let password = SecretString::from("correct horse battery staple");
        let user = operations::create_user(&store, 15, "alice", password).await.unwrap();
        let token = issuer.issue(&user.id).unwrap().access_token;
        Setup { app: Arc::new(GetUser { store, verifier }), token, user_id: user.id.to_string() }
    }

    async fn call(app: &Arc<GetUser<MemoryStore>>, event: String) -> (StatusCode, Response<Body>, serde_json::Value) {
        let request = lambda_http::request::from_str(&event).expect("fixture is an API Gateway v2 event");
        let response = respond(handle(app.clone(), request)).await;
        let Body::Text(text) = response.body() else { panic!("every answer of get-user has a JSON body") };
        let json = serde_json::from_str(text).unwrap();
        (response.status(), response, json)
    }

    fn event(id: &str, token: &str) -> String {
        FIXTURE.replace("{{id}}", id).replace("{{token}}", token)
    }

    #[tokio::test]
    async fn returns_the_user() {
        let s = setup().await;
        let (status, _, json) = call(&s.app, event(&s.user_id, &s.token)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(json["id"], s.user_id.as_str());
        assert_eq!(json["username"], "alice");
        assert!(json["created_at"].as_str().is_some_and(|t| t.ends_with('Z')));
    }

    #[tokio::test]
    async fn unknown_or_malformed_ids_are_not_found() {
        let s = setup().await;
        for id in ["00000000-0000-4000-8000-000000000000", "not-an-id"] {
            let (status, _, json) = call(&s.app, event(id, &s.token)).await;
            assert_eq!((status, json["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
        }
    }

    #[tokio::test]
    async fn requires_a_valid_unrevoked_token() {
        let s = setup().await;
        let no_header = event(&s.user_id, "x").replace(",\n    \"authorization\": \"Bearer x\"", "");
        assert!(!no_header.contains("authorization"));
        for request in [no_header, event(&s.user_id, "garbage"), event(&s.user_id, &format!("{}x", s.token))] {
            let (status, response, json) = call(&s.app, request).await;
            assert_eq!((status, json["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_token")));
            assert!(response.headers().contains_key("www-authenticate"));
        }
        let claims = s.app.verifier.verify(&s.token).unwrap();
        s.app.store.revoke(&claims.jti, claims.exp).await.unwrap();
        let (status, _, _) = call(&s.app, event(&s.user_id, &s.token)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }

    #[tokio::test]
    async fn takes_the_id_from_the_path_when_there_are_no_path_parameters() {
        let s = setup().await;
        let without_parameters =
            event(&s.user_id, &s.token).replace(&format!("\"pathParameters\": {{ \"id\": \"{}\" }},", s.user_id), "");
        assert!(!without_parameters.contains("pathParameters"));
        let (status, _, json) = call(&s.app, without_parameters).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(json["id"], s.user_id.as_str());
    }
}
