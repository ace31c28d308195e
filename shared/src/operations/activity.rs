//! The security activity: recorded by every operation that changes what
//! an account can do, read back by its owner and its operators.

use serde::Serialize;

use crate::domain::{page_limit, ActivityEvent, ActivityEventView, ActivityQueryError, CursorKey};
use crate::store::{ActivityStore, SessionStore, UserStore};
use crate::tokens::TokenVerifier;
use crate::ApiError;

use super::{admit_claimed, claimed};

/// Records `event`. A failure is logged, counted in the metric
/// `ActivityNotRecorded`, and never fails the operation that caused it.
pub async fn record(store: &impl ActivityStore, event: ActivityEvent) {
    if let Err(err) = store.record(&event).await {
        let kind = event.kind.as_str();
        tracing::warn!(error = %err, user_id = %event.user_id, event = kind, "activity not recorded");
        crate::telemetry::count_metric("ActivityNotRecorded");
    }
}

/// A page of the caller's activity, newest first, and the cursor of the
/// next page when there is one.
#[derive(Debug, Serialize)]
pub struct ActivityPageView {
    pub events: Vec<ActivityEventView>,
    pub next_cursor: Option<String>,
}

/// The caller's events, `limit` (1 to 100, 50 when absent) at a time, from
/// the place `cursor` names. The page is read at the same time as the
/// token's session and user, for the user the verified token names: one
/// round trip, and answered only once the token is admitted. A cursor is
/// signed for its user: another user's, or one changed, is refused.
pub async fn list_activity<S>(
    store: &S,
    verifier: &TokenVerifier,
    cursors: &CursorKey,
    now: u64,
    token: &str,
    limit: Option<&str>,
    cursor: Option<&str>,
) -> Result<ActivityPageView, ApiError>
where
    S: ActivityStore + SessionStore + UserStore,
{
    let claimed = claimed(verifier, now, token)?;
    let user_id = claimed.user_id.clone();
    let limit = page_limit(limit).map_err(invalid)?;
    let after = cursor.map(|cursor| cursors.open(&user_id, cursor)).transpose().map_err(invalid)?;
    let (caller, page) =
        tokio::join!(admit_claimed(store, claimed, now), store.activity(&user_id, limit, after.as_deref()));
    caller?;
    let page = page?;
    Ok(ActivityPageView {
        events: page.events.iter().map(ActivityEventView::of).collect(),
        next_cursor: page.next.map(|key| cursors.cursor(&user_id, &key)),
    })
}

fn invalid(err: ActivityQueryError) -> ApiError {
    ApiError::InvalidRequest(match err {
        ActivityQueryError::Limit => "limit must be a whole number from 1 to 100",
        ActivityQueryError::Cursor => "cursor is not one this service gave for this account's activity",
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ActivityType, Client};
    use crate::lockout::FREE_FAILURES;
    use crate::operations::{login, refresh, LoginAttempt, RefreshPolicy};
    use crate::passwords::Argon2id;
    use crate::store::faulty::FaultyStore;
    use crate::test_support::{now, SignedIn, LIFETIME, LOGIN, PASSWORD};
    use crate::tokens::refresh::RefreshKey;

    fn attempt(username: &str, password: &str) -> LoginAttempt {
        let client = Client { user_agent: "tests".into(), source_ip: "198.51.100.7".into() };
        LoginAttempt { username: username.into(), password: password.into(), client }
    }

    fn types(events: &[ActivityEvent]) -> Vec<&'static str> {
        events.iter().map(|event| event.kind.as_str()).collect()
    }

    #[tokio::test]
    async fn a_login_is_one_event_of_what_it_came_to_and_the_failure_that_locks_says_so() {
        let alice = SignedIn::new("alice").await;
        let (store, issuer) = (&alice.store, alice.keys.issuer());
        assert_eq!(types(&store.events_of(&alice.user_id)), ["login_succeeded"]);
        let first = &store.events_of(&alice.user_id)[0];
        assert_eq!(first.session_id.as_ref(), Some(&alice.session_id));
        for _ in 0..FREE_FAILURES {
            let refused = login(store, &Argon2id, &issuer, LOGIN, now(), attempt("alice", "wrong wrong wrong")).await;
            assert_eq!(refused.unwrap_err().code(), "invalid_credentials");
        }
        let events = store.events_of(&alice.user_id);
        assert_eq!(types(&events)[..2], ["locked", "login_failed"], "the fifth failure locks");
        assert_eq!(events.len(), 1 + 5);
        let failed = &events[1];
        assert_eq!(failed.client.as_ref().map(|client| client.source_ip.as_str()), Some("198.51.100.7"));
        assert!(failed.session_id.is_none());
        // A name without a user records nothing anywhere.
        let before = store.events_of(&alice.user_id).len();
        let nobody = login(store, &Argon2id, &issuer, LOGIN, now(), attempt("nobody", PASSWORD)).await;
        assert_eq!(nobody.unwrap_err().code(), "invalid_credentials");
        assert_eq!(store.events_of(&alice.user_id).len(), before);
    }

    #[tokio::test]
    async fn a_sessions_first_refresh_is_an_event_and_its_later_ones_are_not() {
        let alice = SignedIn::new("alice").await;
        let key = RefreshKey::from_signing_key_pem(&alice.keys.pair.private_key_pem).unwrap();
        let policy = RefreshPolicy { lifetime: LIFETIME, reuse_grace: 10 };
        let client = Client::default();
        let issuer = alice.keys.issuer();
        let first = refresh(&alice.store, &issuer, &key, policy, now(), &alice.refresh_token, &client).await.unwrap();
        refresh(&alice.store, &issuer, &key, policy, now(), &first.refresh_token, &client).await.unwrap();
        let events = alice.store.events_of(&alice.user_id);
        assert_eq!(types(&events), ["session_refreshed", "login_succeeded"]);
        assert_eq!(events[0].session_id.as_ref(), Some(&alice.session_id));
        // The first token again, after its grace: theft, the session ended.
        let later = now() + 60;
        let err = refresh(&alice.store, &issuer, &key, policy, later, &alice.refresh_token, &client).await.unwrap_err();
        assert_eq!(err.code(), "invalid_refresh_token");
        // In the same millisecond as the refresh before, the two may sort either way.
        let events = alice.store.events_of(&alice.user_id);
        let reused: Vec<_> = events.iter().filter(|event| event.kind == ActivityType::RefreshTokenReused).collect();
        assert_eq!(reused.len(), 1, "{:?}", types(&events));
        assert_eq!(reused[0].session_id.as_ref(), Some(&alice.session_id));
        assert_eq!(events.len(), 3);
    }

    #[tokio::test]
    async fn an_event_that_cannot_be_written_fails_nothing() {
        let alice = SignedIn::new("alice").await;
        let store = FaultyStore { events_fail: true, ..FaultyStore::over(alice.store.clone()) };
        let issued = login(&store, &Argon2id, &alice.keys.issuer(), LOGIN, now(), attempt("alice", PASSWORD)).await;
        assert!(issued.unwrap().into_session().is_ok());
        record(&store, ActivityEvent::new(&alice.user_id, ActivityType::SignedUp)).await;
        assert_eq!(types(&alice.store.events_of(&alice.user_id)), ["login_succeeded"], "nothing more was written");
    }

    #[tokio::test]
    async fn a_login_whose_session_is_not_started_is_recorded_as_failed() {
        let alice = SignedIn::new("alice").await;
        let store = FaultyStore { sessions_fail: true, ..FaultyStore::over(alice.store.clone()) };
        let refused = login(&store, &Argon2id, &alice.keys.issuer(), LOGIN, now(), attempt("alice", PASSWORD)).await;
        assert_eq!(refused.unwrap_err().code(), "service_unavailable");
        let events = alice.store.events_of(&alice.user_id);
        assert_eq!(types(&events), ["login_failed", "login_succeeded"], "the attempt written over, once");
        assert_eq!(events[0].detail.as_deref(), Some("session_not_started"));
        assert!(events[0].session_id.is_none(), "no session was started");
    }
}
