//! `GET /users/me/passkeys`: the caller's passkeys, oldest first: their ids,
//! names and when they were registered and last used; never their keys.

use lambda_http::{Body, Request, Response};
use serde::Serialize;
use user_auth_core::clock::{self, SharedClock};
use user_auth_core::config::Env;
use user_auth_core::domain::PasskeyView;
use user_auth_core::edge::{bearer_token, ok};
use user_auth_core::operations;
use user_auth_core::sdk_settings::SdkSettings;
use user_auth_core::store::dynamodb::DynamoStore;
use user_auth_core::store::{PasskeyStore, SessionStore, UserStore};
use user_auth_core::tokens::TokenVerifier;
use user_auth_core::{startup, ApiError, BoxError};

/// What every request uses, built once per process.
pub struct ListPasskeys<S> {
    pub store: S,
    pub verifier: TokenVerifier,
    pub clock: SharedClock,
}

/// The production wiring: `main` serves what this builds, and the tests build it the same way.
pub async fn build(env: &Env) -> Result<ListPasskeys<DynamoStore>, BoxError> {
    Ok(ListPasskeys {
        store: startup::dynamo_store(env, &SdkSettings::from_env(env)?)?,
        verifier: startup::token_verifier(env)?,
        clock: clock::system(),
    })
}

#[derive(Debug, Serialize)]
pub struct Passkeys {
    pub passkeys: Vec<PasskeyView>,
}

pub async fn handle<S>(app: &ListPasskeys<S>, request: Request) -> Result<Response<Body>, ApiError>
where
    S: SessionStore + UserStore + PasskeyStore,
{
    let token = bearer_token(&request)?;
    let caller = operations::authenticate(&app.store, &app.verifier, app.clock.now(), token).await?;
    Ok(ok(&Passkeys { passkeys: operations::list_passkeys(&app.store, &caller).await? }))
}

#[cfg(test)]
mod tests {
    use user_auth_core::domain::{PasskeyName, PasskeyRecord};
    use user_auth_core::test_support::{call_json, Fixture, SignedIn};

    use super::*;

    fn event(token: &str) -> Fixture {
        Fixture::parse(include_str!("../fixtures/list-passkeys.json")).bearer(token)
    }

    #[tokio::test]
    async fn lists_the_callers_passkeys_without_their_keys() {
        let alice = SignedIn::new("alice").await;
        let bob = alice.another_user("bob").await;
        for (owner, id, at) in [(&alice, "AAAA", 20), (&alice, "BBBB", 10), (&bob, "CCCC", 5)] {
            let record = PasskeyRecord {
                user_id: owner.user_id.clone(),
                id: id.into(),
                name: PasskeyName::parse(Some(id)).unwrap(),
                created_at: at,
                last_used_at: None,
                credential: "{\"key\":\"secret\"}".into(),
            };
            assert!(alice.store.add_passkey(&record).await.unwrap());
        }
        let app = ListPasskeys { store: alice.store.clone(), verifier: alice.keys.verifier(), clock: clock::system() };
        let answer = call_json(handle(&app, event(&alice.access_token).request())).await;
        assert_eq!(answer.status, 200, "{answer:?}");
        let ids: Vec<_> = answer.json["passkeys"].as_array().unwrap().iter().map(|p| p["id"].clone()).collect();
        assert_eq!(ids, ["BBBB", "AAAA"], "oldest first, alice's only");
        assert!(!answer.json.to_string().contains("secret"));
        let refused = call_json(handle(&app, event("garbage").request())).await;
        assert_eq!((refused.status, refused.error_code()), (401, Some("invalid_token")));
    }
}
