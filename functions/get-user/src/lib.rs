//! `GET /users/{id}`: any holder of a valid, unrevoked token may read a
//! user's public profile.

use lambda_http::{Body, Request, Response};
use user_auth_core::config::Env;
use user_auth_core::domain::UserView;
use user_auth_core::edge::{bearer_token, ok, path_parameter};
use user_auth_core::startup::Authenticated;
use user_auth_core::store::dynamodb::DynamoStore;
use user_auth_core::store::{RevocationStore, UserStore};
use user_auth_core::{operations, ApiError, StartError};

/// What every request uses, built once per process: the store, and what
/// checks tokens.
pub type GetUser<S> = Authenticated<S>;

/// The production wiring: `main` serves what this builds, and the tests build it the same way.
pub async fn build(env: &Env) -> Result<GetUser<DynamoStore>, StartError> {
    Authenticated::from_env(env)
}

pub async fn handle<S>(app: &GetUser<S>, request: Request) -> Result<Response<Body>, ApiError>
where
    S: UserStore + RevocationStore,
{
    let token = bearer_token(&request)?;
    // No id in the path reads as an id that matches no user: 404 once the
    // token has been checked.
    let id = path_parameter(&request, "id", "/users/").unwrap_or_default();
    let user = operations::get_user(&app.store, &app.verifier, app.clock.now(), token, &id).await?;
    Ok(ok(&UserView::from(&user)))
}

#[cfg(test)]
mod tests {
    use user_auth_core::clock;
    use user_auth_core::passwords::Argon2id;
    use user_auth_core::store::memory::MemoryStore;
    use user_auth_core::test_support::{call_json, now, Fixture, TestKeys, MIN_LENGTH, PASSWORD};

    use super::*;

    struct Setup {
        app: GetUser<MemoryStore>,
        token: String,
        user_id: String,
    }

    async fn setup() -> Setup {
        let keys = TestKeys::generate();
        let store = MemoryStore::default();
        let user = operations::create_user(&store, &Argon2id, MIN_LENGTH, "alice", PASSWORD.into()).await.unwrap();
        let token = keys.issuer().issue(&user.id, now()).unwrap().access_token;
        let app = GetUser { store, verifier: keys.verifier(), clock: clock::system() };
        Setup { app, token, user_id: user.id.to_string() }
    }

    /// The fixture, asking for `id` with `token`, routed as API Gateway routes it.
    fn event(id: &str, token: &str) -> Fixture {
        Fixture::parse(include_str!("../fixtures/get-user.json"))
            .path(&format!("/users/{id}"), Some(("id", id)))
            .bearer(token)
    }

    #[tokio::test]
    async fn returns_the_user() {
        let s = setup().await;
        let answer = call_json(handle(&s.app, event(&s.user_id, &s.token).request())).await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.json["id"], s.user_id.as_str());
        assert_eq!(answer.json["username"], "alice");
        assert!(answer.json["created_at"].as_str().is_some_and(|t| t.ends_with('Z')));
    }

    #[tokio::test]
    async fn unknown_or_malformed_ids_are_not_found() {
        let s = setup().await;
        for id in ["00000000-0000-4000-8000-000000000000", "not-an-id"] {
            let answer = call_json(handle(&s.app, event(id, &s.token).request())).await;
            assert_eq!((answer.status, answer.error_code()), (404, Some("not_found")));
        }
    }

    #[tokio::test]
    async fn requires_a_valid_unrevoked_token() {
        let s = setup().await;
        let no_header = event(&s.user_id, "x").without_header("authorization");
        let tampered = format!("{}x", s.token);
        for event in [no_header, event(&s.user_id, "garbage"), event(&s.user_id, &tampered)] {
            let answer = call_json(handle(&s.app, event.request())).await;
            assert_eq!((answer.status, answer.error_code()), (401, Some("invalid_token")));
            assert!(answer.headers.contains_key("www-authenticate"));
        }
        let claims = s.app.verifier.verify(&s.token, now()).unwrap();
        s.app.store.revoke(&claims.jti, claims.exp).await.unwrap();
        assert_eq!(call_json(handle(&s.app, event(&s.user_id, &s.token).request())).await.status, 401);
    }

    #[tokio::test]
    async fn takes_the_id_from_the_path_when_there_are_no_path_parameters() {
        let s = setup().await;
        let without_parameters = event(&s.user_id, &s.token).path(&format!("/users/{}", s.user_id), None);
        assert!(without_parameters.0.get("pathParameters").is_none());
        let answer = call_json(handle(&s.app, without_parameters.request())).await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.json["id"], s.user_id.as_str());
    }
}
