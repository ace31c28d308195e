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
