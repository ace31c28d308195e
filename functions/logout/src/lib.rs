//! `POST /auth/logout`: ends the caller's session, every other one of theirs, or
//! all of them, and with them every token they issued.

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use user_auth_core::config::Env;
use user_auth_core::edge::{bearer_token, client, no_content, optional_json_body, JsonBody};
use user_auth_core::operations::LogoutScope;
use user_auth_core::startup::Authenticated;
use user_auth_core::store::dynamodb::DynamoStore;
use user_auth_core::store::{ActivityStore, SessionStore, UserStore};
use user_auth_core::{operations, ApiError, BoxError};

/// What every request uses, built once per process: the session store, and
/// what checks tokens.
pub type Logout<S> = Authenticated<S>;

/// The production wiring: `main` serves what this builds, and the tests build it the same way.
pub async fn build(env: &Env) -> Result<Logout<DynamoStore>, BoxError> {
    Authenticated::from_env(env)
}

/// The optional body of `POST /auth/logout`.
#[derive(Debug, Default, Deserialize)]
pub struct LogoutBody {
    #[serde(default)]
    pub scope: LogoutScope,
}

impl JsonBody for LogoutBody {
    const EXPECTED: &'static str =
        "the request body, if any, must be a JSON object whose \"scope\" is \"local\", \"others\" or \"global\"";
}

pub async fn handle<S>(app: &Logout<S>, request: Request) -> Result<Response<Body>, ApiError>
where
    S: SessionStore + UserStore + ActivityStore,
{
    let token = bearer_token(&request)?;
    let scope = optional_json_body::<LogoutBody>(&request)?.unwrap_or_default().scope;
    let caller =
        operations::authenticate(&app.store, &app.verifier, app.clock.now(), token).await?.from(client(&request));
    operations::logout(&app.store, &caller, scope).await?;
    Ok(no_content())
}

#[cfg(test)]
mod tests {
    use user_auth_core::test_support::{call, Fixture, SignedIn};

    use super::*;

    fn event(token: &str) -> Fixture {
        Fixture::parse(include_str!("../fixtures/logout.json")).bearer(token)
    }

    #[tokio::test]
    async fn ends_the_session_once_then_refuses_its_token() {
        let alice = SignedIn::new("alice").await;
        let app = alice.authenticated();
        let answer = call(handle(&app, event(&alice.access_token).request())).await;
        assert_eq!(answer.status, 204);
        assert!(answer.json.is_null(), "no body");
        assert!(app.store.session(&alice.user_id, &alice.session_id).await.unwrap().is_none());
        let answer = call(handle(&app, event(&alice.access_token).request())).await;
        assert_eq!(answer.status, 401);
        assert!(answer.headers.contains_key("www-authenticate"));
    }

    #[tokio::test]
    async fn the_scope_says_which_sessions_end() {
        let alice = SignedIn::new("alice").await;
        let bob = alice.another_user("bob").await;
        let app = alice.authenticated();
        let (second, third) = (alice.log_in_again().await, alice.log_in_again().await);
        let others = event(&alice.access_token).body(r#"{"scope":"others"}"#);
        assert_eq!(call(handle(&app, others.request())).await.status, 204);
        let alive = |id| app.store.session(&alice.user_id, id);
        assert!(alive(&alice.session_id).await.unwrap().is_some());
        assert!(alive(&second).await.unwrap().is_none() && alive(&third).await.unwrap().is_none());
        let global = event(&alice.access_token).body(r#"{"scope":"global"}"#);
        assert_eq!(call(handle(&app, global.request())).await.status, 204);
        assert!(app.store.sessions(&alice.user_id).await.unwrap().is_empty());
        assert!(app.store.session(&bob.user_id, &bob.session_id).await.unwrap().is_some(), "bob's stays");
    }

    #[tokio::test]
    async fn a_bad_scope_or_no_token_is_refused() {
        let alice = SignedIn::new("alice").await;
        let app = alice.authenticated();
        for body in [r#"{"scope":"all"}"#, r#"["global"]"#] {
            let answer = call(handle(&app, event(&alice.access_token).body(body).request())).await;
            assert_eq!((answer.status, answer.error_code()), (400, Some("invalid_request")), "{body}");
            assert_eq!(answer.json["error"]["message"], LogoutBody::EXPECTED);
        }
        let answer = call(handle(&app, event("x").without_header("authorization").request())).await;
        assert_eq!(answer.status, 401);
        assert!(app.store.session(&alice.user_id, &alice.session_id).await.unwrap().is_some());
    }
}
