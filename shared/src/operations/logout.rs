use serde::Deserialize;

use crate::store::SessionStore;
use crate::ApiError;

use super::Caller;

/// Which sessions a logout ends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogoutScope {
    /// The caller's own session.
    #[default]
    Local,
    /// Every other session of the caller's user.
    Others,
    /// Every session of the caller's user, its own included.
    Global,
}

/// Ends sessions, and with them every access and refresh token they issued.
/// A refresh racing this either rotates first, and its tokens die with the
/// session, or finds the session gone: a rotation never recreates one.
pub async fn logout(sessions: &impl SessionStore, caller: &Caller, scope: LogoutScope) -> Result<(), ApiError> {
    let user_id = &caller.user.id;
    let ended = match scope {
        LogoutScope::Local => vec![caller.session_id.clone()],
        LogoutScope::Others | LogoutScope::Global => {
            let all = sessions.session_ids(user_id).await?.into_iter();
            all.filter(|id| scope == LogoutScope::Global || *id != caller.session_id).collect()
        }
    };
    sessions.end_sessions(user_id, &ended).await?;
    tracing::info!(user_id = %user_id, ?scope, sessions = ended.len(), "logged out");
    Ok(())
}
