//! `GET /users/{id}`: any holder of a valid token of an active session may
//! read a user's public profile. `GET /users/me`: the caller's own, with
//! the address on it and whether it is verified, which `/users/{id}` never
//! shows.

use lambda_http::{Body, Request, Response};
use user_auth_core::config::Env;
use user_auth_core::domain::{OwnProfileView, UserView};
use user_auth_core::edge::{bearer_token, ok, path_parameter};
use user_auth_core::operations::{self, Whose};
use user_auth_core::startup::Authenticated;
use user_auth_core::store::dynamodb::DynamoStore;
use user_auth_core::store::{SessionStore, UserStore};
use user_auth_core::{ApiError, BoxError};

/// What every request uses, built once per process: the store, and what
/// checks tokens.
pub type GetUser<S> = Authenticated<S>;

/// The production wiring: `main` serves what this builds, and the tests build it the same way.
pub async fn build(env: &Env) -> Result<GetUser<DynamoStore>, BoxError> {
    Authenticated::from_env(env)
}

pub async fn handle<S>(app: &GetUser<S>, request: Request) -> Result<Response<Body>, ApiError>
where
    S: UserStore + SessionStore,
{
    let token = bearer_token(&request)?;
    // `/users/me` has a route of its own, before `/users/{id}`; read from the
    // path, it is the segment `me`, which no user id can be. No id in the
    // path reads as an id that matches no user: 404 once the token has been
    // checked.
    let id = path_parameter(&request, "id", "/users/").unwrap_or_default();
    let whose = if id == "me" { Whose::Caller } else { Whose::Id(&id) };
    let user = operations::get_user(&app.store, &app.verifier, app.clock.now(), token, whose).await?;
    // The address only on `/users/me`: `/users/{id}` is the public profile,
    // whoever asks.
    match whose {
        Whose::Caller => Ok(ok(&OwnProfileView::from(&user))),
        Whose::Id(_) => Ok(ok(&UserView::from(&user))),
    }
}

#[cfg(test)]
mod tests {
    use user_auth_core::test_support::{call_json, Fixture, SignedIn};

    use super::*;

    /// The fixture, asking for `id` with `token`, routed as API Gateway routes it.
    fn event(id: &str, token: &str) -> Fixture {
        Fixture::parse(include_str!("../fixtures/get-user.json")).path_id("/users/", id).bearer(token)
    }

    #[tokio::test]
    async fn returns_the_user() {
        let alice = SignedIn::new("alice").await;
        let answer =
            call_json(handle(&alice.authenticated(), event(alice.user_id.as_str(), &alice.access_token).request()))
                .await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.json["id"], alice.user_id.as_str());
        assert_eq!(answer.json["username"], "alice");
        assert!(answer.json["created_at"].as_str().is_some_and(|t| t.ends_with('Z')));
    }

    #[tokio::test]
    async fn unknown_or_malformed_ids_are_not_found() {
        let alice = SignedIn::new("alice").await;
        for id in ["00000000-0000-4000-8000-000000000000", "not-an-id"] {
            let answer = call_json(handle(&alice.authenticated(), event(id, &alice.access_token).request())).await;
            assert_eq!((answer.status, answer.error_code()), (404, Some("not_found")));
        }
    }

    #[tokio::test]
    async fn requires_a_valid_token_of_an_active_session() {
        let alice = SignedIn::new("alice").await;
        let app = alice.authenticated();
        let id = alice.user_id.as_str();
        let no_header = event(id, "x").without_header("authorization");
        let tampered = format!("{}x", alice.access_token);
        for event in [no_header, event(id, "garbage"), event(id, &tampered)] {
            let answer = call_json(handle(&app, event.request())).await;
            assert_eq!((answer.status, answer.error_code()), (401, Some("invalid_token")));
            assert!(answer.headers.contains_key("www-authenticate"));
        }
        app.store.end_session(&alice.user_id, &alice.session_id).await.unwrap();
        assert_eq!(call_json(handle(&app, event(id, &alice.access_token).request())).await.status, 401);
    }

    #[tokio::test]
    async fn takes_the_id_from_the_path_when_there_are_no_path_parameters() {
        let alice = SignedIn::new("alice").await;
        let id = alice.user_id.as_str();
        let without_parameters = event(id, &alice.access_token).path(&format!("/users/{id}"), None);
        assert!(without_parameters.0.get("pathParameters").is_none());
        let answer = call_json(handle(&alice.authenticated(), without_parameters.request())).await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.json["id"], id);
    }

    #[tokio::test]
    async fn me_is_the_callers_own_profile_on_its_own_route_and_as_a_path() {
        let alice = SignedIn::new("alice").await;
        let bob = alice.another_user("bob").await;
        let own_route = Fixture::parse(include_str!("../fixtures/get-user-me.json")).bearer(&bob.access_token);
        assert!(own_route.0.get("pathParameters").is_none());
        // The local router may give `me` as the `{id}` of `/users/{id}`.
        let as_parameter = event("me", &bob.access_token);
        for event in [own_route, as_parameter] {
            let answer = call_json(handle(&alice.authenticated(), event.request())).await;
            assert_eq!(answer.status, 200, "{answer:?}");
            assert_eq!(
                (answer.json["id"].as_str(), answer.json["username"].as_str()),
                (Some(bob.user_id.as_str()), Some("bob"))
            );
        }
        let answer = call_json(handle(&alice.authenticated(), event("me", "garbage").request())).await;
        assert_eq!((answer.status, answer.error_code()), (401, Some("invalid_token")));
    }

    #[tokio::test]
    async fn only_me_shows_the_address() {
        let alice = SignedIn::with_email("alice", "alice@example.org").await;
        let me = Fixture::parse(include_str!("../fixtures/get-user-me.json")).bearer(&alice.access_token);
        let answer = call_json(handle(&alice.authenticated(), me.request())).await;
        assert_eq!(answer.status, 200, "{answer:?}");
        assert_eq!(
            (answer.json["email"].as_str(), answer.json["email_verified"].as_bool()),
            (Some("alice@example.org"), Some(false))
        );
        // By id, even the owner's own id, the public profile.
        let by_id = event(alice.user_id.as_str(), &alice.access_token);
        let answer = call_json(handle(&alice.authenticated(), by_id.request())).await;
        assert_eq!(answer.status, 200, "{answer:?}");
        let mut fields: Vec<_> = answer.json.as_object().unwrap().keys().cloned().collect();
        fields.sort();
        assert_eq!(fields, ["created_at", "id", "username"]);
    }
}
