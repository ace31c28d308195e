use crate::domain::SessionId;
use crate::store::SessionStore;
use crate::ApiError;

use super::Caller;

/// Ends one of the caller's sessions. A session of another user is not
/// found, as an unknown one is: its key includes the caller's user id.
pub async fn revoke_session(sessions: &impl SessionStore, caller: &Caller, raw_id: &str) -> Result<(), ApiError> {
    let id = SessionId::parse(raw_id).ok_or(ApiError::SessionNotFound)?;
    if !sessions.end_session(&caller.user.id, &id).await? {
        return Err(ApiError::SessionNotFound);
    }
    tracing::info!(user_id = %caller.user.id, session_id = %id, "session revoked");
    Ok(())
}
