//! `GET /users/me/activity`: the caller's security activity, newest first,
//! a page at a time (`limit` 1 to 100, `cursor` from the page before).

use lambda_http::{Body, Request, Response};
use user_auth_core::clock::{self, SharedClock};
use user_auth_core::config::Env;
use user_auth_core::domain::CursorKey;
use user_auth_core::edge::{bearer_token, ok, query_parameter};
use user_auth_core::sdk_settings::SdkSettings;
use user_auth_core::store::dynamodb::DynamoStore;
use user_auth_core::store::{ActivityStore, SessionStore, UserStore};
use user_auth_core::tokens::TokenVerifier;
use user_auth_core::{operations, startup, ApiError, BoxError};

/// What every request uses, built once per process: the store, what checks
/// tokens, and the key that signs cursors.
pub struct ListActivity<S> {
    pub store: S,
    pub verifier: TokenVerifier,
    pub cursors: CursorKey,
    pub clock: SharedClock,
}

/// The production wiring: `main` serves what this builds, and the tests build it the same way.
pub async fn build(env: &Env) -> Result<ListActivity<DynamoStore>, BoxError> {
    Ok(ListActivity {
        store: startup::dynamo_store(env, &SdkSettings::from_env(env)?)?,
        verifier: startup::token_verifier(env)?,
        cursors: startup::cursor_key(env)?,
        clock: clock::system(),
    })
}

pub async fn handle<S>(app: &ListActivity<S>, request: Request) -> Result<Response<Body>, ApiError>
where
    S: ActivityStore + SessionStore + UserStore,
{
    let token = bearer_token(&request)?;
    let (limit, cursor) = (query_parameter(&request, "limit"), query_parameter(&request, "cursor"));
    let now = app.clock.now();
    let page = operations::list_activity(
        &app.store,
        &app.verifier,
        &app.cursors,
        now,
        token,
        limit.as_deref(),
        cursor.as_deref(),
    );
    Ok(ok(&page.await?))
}

#[cfg(test)]
mod tests {
    use user_auth_core::domain::{ActivityEvent, ActivityType};
    use user_auth_core::store::memory::MemoryStore;
    use user_auth_core::test_support::{call_json, cursor_key, Fixture, SignedIn};

    use super::*;

    fn app(alice: &SignedIn) -> ListActivity<MemoryStore> {
        ListActivity {
            store: alice.store.clone(),
            verifier: alice.keys.verifier(),
            cursors: cursor_key(),
            clock: clock::system(),
        }
    }

    fn event(token: &str) -> Fixture {
        Fixture::parse(include_str!("../fixtures/list-activity.json")).bearer(token)
    }

    async fn record(alice: &SignedIn, kinds: &[ActivityType]) {
        for (at, kind) in kinds.iter().enumerate() {
            let event = ActivityEvent { at_millis: 1_000 + at as u64, ..ActivityEvent::new(&alice.user_id, *kind) };
            alice.store.record(&event).await.unwrap();
        }
    }

    #[tokio::test]
    async fn pages_through_the_callers_events_newest_first() {
        let alice = SignedIn::new("alice").await;
        let bob = alice.another_user("bob").await;
        record(&alice, &[ActivityType::SignedUp, ActivityType::LoginFailed, ActivityType::LoginSucceeded]).await;
        record(&bob, &[ActivityType::SignedUp]).await;
        let app = app(&alice);
        // The fixture asks for two a page.
        let first = call_json(handle(&app, event(&alice.access_token).request())).await;
        assert_eq!(first.status, 200, "{first:?}");
        let kinds = |json: &serde_json::Value| -> Vec<String> {
            json["events"].as_array().unwrap().iter().map(|event| event["type"].as_str().unwrap().to_owned()).collect()
        };
        // The login that signed alice in, then the events recorded above.
        assert_eq!(kinds(&first.json), ["login_succeeded", "login_succeeded"]);
        assert_eq!(first.json["events"][1]["at"], "1970-01-01T00:00:01.002Z");
        let cursor = first.json["next_cursor"].as_str().expect("a next page").to_owned();
        let next = event(&alice.access_token).query(&[("limit", "2"), ("cursor", &cursor)]);
        let second = call_json(handle(&app, next.request())).await;
        assert_eq!(kinds(&second.json), ["login_failed", "signed_up"]);
        assert!(second.json["next_cursor"].is_null(), "the last page");
        // Alice's cursor is nothing to bob.
        let stolen = event(&bob.access_token).query(&[("cursor", &cursor)]);
        let answer = call_json(handle(&app, stolen.request())).await;
        assert_eq!((answer.status, answer.error_code()), (400, Some("invalid_request")));
    }

    #[tokio::test]
    async fn refuses_a_bad_limit_or_cursor_and_a_bad_token() {
        let alice = SignedIn::new("alice").await;
        let app = app(&alice);
        for query in [[("limit", "0")], [("limit", "101")], [("limit", "x")], [("cursor", "forged.cursor")]] {
            let answer = call_json(handle(&app, event(&alice.access_token).query(&query).request())).await;
            assert_eq!((answer.status, answer.error_code()), (400, Some("invalid_request")), "{query:?}");
        }
        let answer = call_json(handle(&app, event("garbage").request())).await;
        assert_eq!((answer.status, answer.error_code()), (401, Some("invalid_token")));
        // No limit: 50; alice's one event, her login.
        let answer = call_json(handle(&app, event(&alice.access_token).query(&[]).request())).await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.json["events"].as_array().unwrap().len(), 1, "{answer:?}");
        assert_eq!(answer.json["events"][0]["session_id"], alice.session_id.as_str());
        assert!(answer.json["next_cursor"].is_null());
    }
}
