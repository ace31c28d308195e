use crate::domain::{ActivityEvent, ActivityType, SessionId};
use crate::store::{ActivityStore, SessionStore};
use crate::ApiError;

use super::{record, Caller};

/// Ends one of the caller's sessions. A session of another user is not
/// found, as an unknown one is: its key includes the caller's user id. The
/// caller's activity records the session revoked, once it is.
pub async fn revoke_session<S>(sessions: &S, caller: &Caller, raw_id: &str) -> Result<(), ApiError>
where
    S: SessionStore + ActivityStore,
{
    let id = SessionId::parse(raw_id).ok_or(ApiError::SessionNotFound)?;
    if !sessions.end_session(&caller.user.id, &id).await? {
        return Err(ApiError::SessionNotFound);
    }
    tracing::info!(user_id = %caller.user.id, session_id = %id, "session revoked");
    let revoked = ActivityEvent { session_id: Some(id), ..caller.event(ActivityType::SessionRevoked) };
    record(sessions, revoked.detail(format!("from session {}", caller.session_id))).await;
    Ok(())
}
