//! The Lambda authorizer other services put in front of their own HTTP API
//! routes (payload format 2.0, simple responses): it lets a request in when
//! its bearer token is one this service's own routes would accept, its
//! session still active, and tells the route who the caller is.

use user_auth_core::config::Env;
use user_auth_core::edge::{bearer_of, AuthorizerRequest, AuthorizerResponse};
use user_auth_core::operations;
use user_auth_core::startup::Authenticated;
use user_auth_core::store::dynamodb::DynamoStore;
use user_auth_core::store::{SessionStore, UserStore};
use user_auth_core::{ApiError, BoxError};

/// What every request uses, built once per process: the store, and what
/// checks tokens.
pub type Authorize<S> = Authenticated<S>;

/// The production wiring: `main` serves what this builds, and the tests build it the same way.
pub async fn build(env: &Env) -> Result<Authorize<DynamoStore>, BoxError> {
    Authenticated::from_env(env)
}

pub async fn handle<S>(app: &Authorize<S>, request: AuthorizerRequest) -> Result<AuthorizerResponse, ApiError>
where
    S: UserStore + SessionStore,
{
    let token = bearer_of(&request);
    let caller = operations::authorize(&app.store, &app.verifier, app.clock.now(), token).await?;
    Ok(caller.as_ref().map_or_else(AuthorizerResponse::deny, AuthorizerResponse::allow))
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};
    use user_auth_core::store::memory::MemoryStore;
    use user_auth_core::store::SessionStore as _;
    use user_auth_core::test_support::{authorizer_event, now, SignedIn, TestKeys};

    use super::*;

    /// The fixture, from API Gateway, with `authorization` as its identity source and header.
    fn event(authorization: Option<&str>) -> AuthorizerRequest {
        authorizer_event(authorization, authorization)
    }

    async fn decide(app: &Authorize<MemoryStore>, authorization: Option<&str>) -> Value {
        serde_json::to_value(handle(app, event(authorization)).await.unwrap()).unwrap()
    }

    #[tokio::test]
    async fn lets_an_active_session_in_and_names_its_user_session_and_sign_in() {
        let alice = SignedIn::new("alice").await;
        let answer = decide(&alice.authenticated(), Some(&format!("Bearer {}", alice.access_token))).await;
        let expected = json!({
            "isAuthorized": true,
            "context": { "sub": alice.user_id.as_str(), "sid": alice.session_id.as_str(), "amr": "pwd" },
        });
        assert_eq!(answer, expected);
    }

    #[tokio::test]
    async fn keeps_out_a_missing_malformed_or_foreign_token() {
        let alice = SignedIn::new("alice").await;
        let app = alice.authenticated();
        let strangers = TestKeys::generate().issuer();
        let foreign = strangers.issue(&alice.user_id, &alice.session_id, now()).unwrap().access_token;
        for authorization in [
            None,
            Some("Bearer".to_owned()),
            Some(format!("Basic {}", alice.access_token)),
            Some("Bearer not.a.token".to_owned()),
            Some(format!("Bearer {}x", alice.access_token)),
            // A genuine key of another deployment: unknown kid.
            Some(format!("Bearer {foreign}")),
        ] {
            assert_eq!(
                decide(&app, authorization.as_deref()).await,
                json!({"isAuthorized": false}),
                "{authorization:?}"
            );
        }
    }

    #[tokio::test]
    async fn keeps_out_an_expired_token_and_a_token_of_another_type() {
        let alice = SignedIn::new("alice").await;
        let app = alice.authenticated();
        let long_ago = now() - 3600;
        let expired = alice.keys.issuer().issue(&alice.user_id, &alice.session_id, long_ago).unwrap().access_token;
        assert_eq!(decide(&app, Some(&format!("Bearer {expired}"))).await["isAuthorized"], false);
        // The same claims under another type, or none, signed with the right key.
        let claims = alice.keys.verifier().verify(&alice.access_token, now()).unwrap();
        let kid = alice.keys.issuer().key_id().to_owned();
        let genuine = alice.keys.sign_with_header(Some("at+jwt"), Some(&kid), &claims);
        assert_eq!(decide(&app, Some(&format!("Bearer {genuine}"))).await["isAuthorized"], true, "the control");
        for typ in [Some("JWT"), None] {
            let retyped = alice.keys.sign_with_header(typ, Some(&kid), &claims);
            assert_eq!(decide(&app, Some(&format!("Bearer {retyped}"))).await["isAuthorized"], false, "{typ:?}");
        }
    }

    #[tokio::test]
    async fn sees_a_logout_or_a_revocation_at_once() {
        let alice = SignedIn::new("alice").await;
        let app = alice.authenticated();
        let bearer = format!("Bearer {}", alice.access_token);
        assert_eq!(decide(&app, Some(&bearer)).await["isAuthorized"], true);
        app.store.end_session(&alice.user_id, &alice.session_id).await.unwrap();
        assert_eq!(decide(&app, Some(&bearer)).await, json!({"isAuthorized": false}));
    }
}
