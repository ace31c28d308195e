//! `POST /auth/logout`: revokes the presented token for every function, at once.

use std::sync::Arc;

use lambda_http::{Body, Request, Response};
/// Its configuration: the tables, and what verifying tokens needs.
pub use user_auth_core::config::{verifier_config as config, VerifierConfig as Config};
use user_auth_core::http::{bearer_token, no_content};
use user_auth_core::store::RevocationStore;
use user_auth_core::tokens::TokenVerifier;
use user_auth_core::{operations, ApiError};

pub struct Logout<S> {
    pub store: S,
    pub verifier: TokenVerifier,
}

pub async fn handle<S: RevocationStore>(app: Arc<Logout<S>>, request: Request) -> Result<Response<Body>, ApiError> {
    operations::logout(&app.verifier, &app.store, bearer_token(&request)?).await?;
    Ok(no_content())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use lambda_http::http::StatusCode;
    use user_auth_core::domain::UserId;
    use user_auth_core::http::respond;
    use user_auth_core::store::memory::MemoryStore;
    use user_auth_core::tokens::{SigningKeyPair, TokenIssuer, TokenSettings};

    use super::*;

    const FIXTURE: &str = include_str!("../fixtures/logout.json");

    #[tokio::test]
    async fn revokes_once_then_refuses_the_token() {
        let settings = TokenSettings { issuer: "i".into(), audience: "a".into(), ttl: Duration::from_secs(60) };
        let keys = SigningKeyPair::generate().unwrap();
        let issuer = TokenIssuer::from_pem(&keys.private_key_pem, settings.clone()).unwrap();
        let verifier = TokenVerifier::from_pem(&keys.public_key_pem, &settings).unwrap();
        let app = Arc::new(Logout { store: MemoryStore::default(), verifier });
        let token = issuer.issue(&UserId::new_random()).unwrap().access_token;
        let event = FIXTURE.replace("{{token}}", &token);

        let response = respond(handle(app.clone(), lambda_http::request::from_str(&event).unwrap())).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert!(matches!(response.body(), Body::Empty));
        let claims = app.verifier.verify(&token).unwrap();
        assert!(app.store.is_revoked(&claims.jti).await.unwrap());

        let response = respond(handle(app.clone(), lambda_http::request::from_str(&event).unwrap())).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response.headers().contains_key("www-authenticate"));
    }

    #[tokio::test]
    async fn without_a_token_is_unauthorized() {
        let settings = TokenSettings { issuer: "i".into(), audience: "a".into(), ttl: Duration::from_secs(60) };
        let keys = SigningKeyPair::generate().unwrap();
        let verifier = TokenVerifier::from_pem(&keys.public_key_pem, &settings).unwrap();
        let app = Arc::new(Logout { store: MemoryStore::default(), verifier });
        let event = FIXTURE.replace(",\n    \"authorization\": \"Bearer {{token}}\"", "");
        assert!(!event.contains("authorization"));
        let response = respond(handle(app, lambda_http::request::from_str(&event).unwrap())).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
}
