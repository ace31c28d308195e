//! `GET /auth/sessions`: the caller's active sessions, for a "where you are
//! logged in" page.

use lambda_http::{Body, Request, Response};
use serde::Serialize;
use user_auth_core::config::Env;
use user_auth_core::domain::SessionView;
use user_auth_core::edge::{bearer_token, ok};
use user_auth_core::startup::Authenticated;
use user_auth_core::store::dynamodb::DynamoStore;
use user_auth_core::store::{SessionStore, UserStore};
use user_auth_core::{operations, ApiError, BoxError};

/// What every request uses, built once per process: the session store, and
/// what checks tokens.
pub type ListSessions<S> = Authenticated<S>;

/// The production wiring: `main` serves what this builds, and the tests build it the same way.
pub async fn build(env: &Env) -> Result<ListSessions<DynamoStore>, BoxError> {
    Authenticated::from_env(env)
}

#[derive(Serialize)]
struct SessionList {
    sessions: Vec<SessionView>,
}

pub async fn handle<S>(app: &ListSessions<S>, request: Request) -> Result<Response<Body>, ApiError>
where
    S: SessionStore + UserStore,
{
    let token = bearer_token(&request)?;
    let sessions = operations::list_sessions(&app.store, &app.verifier, app.clock.now(), token).await?;
    Ok(ok(&SessionList { sessions }))
}

#[cfg(test)]
mod tests {
    use user_auth_core::test_support::{call_json, Fixture, SignedIn};

    use super::*;

    fn event(token: &str) -> Fixture {
        Fixture::parse(include_str!("../fixtures/list-sessions.json")).bearer(token)
    }

    #[tokio::test]
    async fn lists_the_callers_sessions_and_marks_its_own() {
        let alice = SignedIn::new("alice").await;
        let other = alice.log_in_again().await;
        let app = alice.authenticated();
        let answer = call_json(handle(&app, event(&alice.access_token).request())).await;
        assert_eq!(answer.status, 200, "{answer:?}");
        let sessions = answer.json["sessions"].as_array().unwrap();
        assert_eq!(sessions.len(), 2);
        let own: Vec<_> = sessions.iter().filter(|session| session["current"] == true).collect();
        assert_eq!(own.len(), 1);
        assert_eq!(own[0]["id"], alice.session_id.as_str());
        assert_eq!(own[0]["user_agent"], "curl/8.5.0");
        for field in ["created_at", "last_refreshed_at", "expires_at"] {
            assert!(own[0][field].as_str().is_some_and(|time| time.ends_with('Z')), "{field}");
        }
        // Ended sessions are not listed.
        app.store.end_session(&alice.user_id, &other).await.unwrap();
        let answer = call_json(handle(&app, event(&alice.access_token).request())).await;
        assert_eq!(answer.json["sessions"].as_array().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn requires_a_token_of_an_active_session() {
        let alice = SignedIn::new("alice").await;
        let app = alice.authenticated();
        let without = event("x").without_header("authorization");
        for event in [without, event("garbage")] {
            let answer = call_json(handle(&app, event.request())).await;
            assert_eq!((answer.status, answer.error_code()), (401, Some("invalid_token")));
        }
    }
}
