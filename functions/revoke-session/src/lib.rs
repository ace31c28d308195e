//! `DELETE /auth/sessions/{id}`: ends one of the caller's sessions, and every
//! token it issued.

use lambda_http::{Body, Request, Response};
use user_auth_core::config::Env;
use user_auth_core::edge::{bearer_token, client, no_content, path_parameter};
use user_auth_core::startup::Authenticated;
use user_auth_core::store::dynamodb::DynamoStore;
use user_auth_core::store::{ActivityStore, SessionStore, UserStore};
use user_auth_core::{operations, ApiError, BoxError};

/// What every request uses, built once per process: the session store, and
/// what checks tokens.
pub type RevokeSession<S> = Authenticated<S>;

/// The production wiring: `main` serves what this builds, and the tests build it the same way.
pub async fn build(env: &Env) -> Result<RevokeSession<DynamoStore>, BoxError> {
    Authenticated::from_env(env)
}

pub async fn handle<S>(app: &RevokeSession<S>, request: Request) -> Result<Response<Body>, ApiError>
where
    S: SessionStore + UserStore + ActivityStore,
{
    let token = bearer_token(&request)?;
    // No id in the path reads as an id that matches no session: 404.
    let id = path_parameter(&request, "id", "/auth/sessions/").unwrap_or_default();
    let caller =
        operations::authenticate(&app.store, &app.verifier, app.clock.now(), token).await?.from(client(&request));
    operations::revoke_session(&app.store, &caller, &id).await?;
    Ok(no_content())
}

#[cfg(test)]
mod tests {
    use user_auth_core::domain::SessionId;
    use user_auth_core::test_support::{call, Fixture, SignedIn};

    use super::*;

    fn event(id: &str, token: &str) -> Fixture {
        Fixture::parse(include_str!("../fixtures/revoke-session.json")).path_id("/auth/sessions/", id).bearer(token)
    }

    #[tokio::test]
    async fn ends_one_of_the_callers_sessions() {
        let alice = SignedIn::new("alice").await;
        let other = alice.log_in_again().await;
        let app = alice.authenticated();
        let answer = call(handle(&app, event(other.as_str(), &alice.access_token).request())).await;
        assert_eq!(answer.status, 204, "{answer:?}");
        assert!(app.store.session(&alice.user_id, &other).await.unwrap().is_none());
        assert!(app.store.session(&alice.user_id, &alice.session_id).await.unwrap().is_some());
        let again = call(handle(&app, event(other.as_str(), &alice.access_token).request())).await;
        assert_eq!((again.status, again.error_code()), (404, Some("not_found")));
    }

    #[tokio::test]
    async fn another_users_session_is_not_found() {
        let alice = SignedIn::new("alice").await;
        let bob = alice.another_user("bob").await;
        let app = alice.authenticated();
        for id in [bob.session_id.to_string(), SessionId::new_random().to_string(), "not-an-id".to_owned()] {
            let answer = call(handle(&app, event(&id, &alice.access_token).request())).await;
            assert_eq!((answer.status, answer.error_code()), (404, Some("not_found")), "{id}");
        }
        assert!(app.store.session(&bob.user_id, &bob.session_id).await.unwrap().is_some());
    }
}
