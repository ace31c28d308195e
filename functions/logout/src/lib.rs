//! `POST /auth/logout`: revokes the presented token for every function, at once.

use lambda_http::{Body, Request, Response};
use user_auth_core::config::Env;
use user_auth_core::edge::{bearer_token, no_content};
use user_auth_core::startup::Authenticated;
use user_auth_core::store::dynamodb::DynamoStore;
use user_auth_core::store::RevocationStore;
use user_auth_core::{operations, ApiError, StartError};

/// What every request uses, built once per process: the revocation store,
/// and what checks tokens.
pub type Logout<S> = Authenticated<S>;

/// The production wiring: `main` serves what this builds, and the tests build it the same way.
pub async fn build(env: &Env) -> Result<Logout<DynamoStore>, StartError> {
    Authenticated::from_env(env)
}

pub async fn handle<S: RevocationStore>(app: &Logout<S>, request: Request) -> Result<Response<Body>, ApiError> {
    let token = bearer_token(&request)?;
    operations::logout(&app.store, &app.verifier, app.clock.now(), token).await?;
    Ok(no_content())
}

#[cfg(test)]
mod tests {
    use user_auth_core::clock;
    use user_auth_core::domain::UserId;
    use user_auth_core::store::memory::MemoryStore;
    use user_auth_core::test_support::{call, now, Fixture, TestKeys};

    use super::*;

    fn app(keys: &TestKeys) -> Logout<MemoryStore> {
        Logout { store: MemoryStore::default(), verifier: keys.verifier(), clock: clock::system() }
    }

    fn fixture() -> Fixture {
        Fixture::parse(include_str!("../fixtures/logout.json"))
    }

    #[tokio::test]
    async fn revokes_once_then_refuses_the_token() {
        let keys = TestKeys::generate();
        let app = app(&keys);
        let token = keys.issuer().issue(&UserId::new_random(), now()).unwrap().access_token;
        let event = fixture().bearer(&token);

        let answer = call(handle(&app, event.request())).await;
        assert_eq!(answer.status, 204);
        assert!(answer.json.is_null(), "no body");
        let claims = app.verifier.verify(&token, now()).unwrap();
        assert!(app.store.is_revoked(&claims.jti).await.unwrap());

        let answer = call(handle(&app, event.request())).await;
        assert_eq!(answer.status, 401);
        assert!(answer.headers.contains_key("www-authenticate"));
    }

    #[tokio::test]
    async fn without_a_token_is_unauthorized() {
        let keys = TestKeys::generate();
        let event = fixture().without_header("authorization");
        let answer = call(handle(&app(&keys), event.request())).await;
        assert_eq!(answer.status, 401);
    }
}
