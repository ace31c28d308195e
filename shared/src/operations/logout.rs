use serde::Deserialize;

use crate::domain::ActivityType;
use crate::domain::{SessionId, UserId};
use crate::store::{ActivityStore, SessionStore, StoreError};
use crate::ApiError;

use super::{record, Caller};

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

impl LogoutScope {
    pub fn as_str(self) -> &'static str {
        match self {
            LogoutScope::Local => "local",
            LogoutScope::Others => "others",
            LogoutScope::Global => "global",
        }
    }
}

/// Ends sessions, and with them every access and refresh token they issued.
/// A refresh racing this either rotates first, and its tokens die with the
/// session, or finds the session gone: a rotation never recreates one.
/// The caller's activity records it, with its scope, beside the ending.
pub async fn logout<S>(sessions: &S, caller: &Caller, scope: LogoutScope) -> Result<(), ApiError>
where
    S: SessionStore + ActivityStore,
{
    let user_id = &caller.user.id;
    let ending = async {
        match scope {
            LogoutScope::Local => Ok(usize::from(sessions.end_session(user_id, &caller.session_id).await?)),
            LogoutScope::Others => end_sessions_but(sessions, user_id, Some(&caller.session_id)).await,
            LogoutScope::Global => end_sessions_but(sessions, user_id, None).await,
        }
    };
    let event = caller.event(ActivityType::LoggedOut).detail(scope.as_str());
    let (ended, ()) = tokio::join!(ending, record(sessions, event));
    let ended = ended?;
    tracing::info!(user_id = %user_id, ?scope, sessions = ended, "logged out");
    Ok(())
}

/// Ends every session of the user but `keep`, as they are listed now; how
/// many it ended. Logout `others` and `global`, and a password change's
/// clean-up after its commit.
pub(super) async fn end_sessions_but(
    sessions: &impl SessionStore,
    user_id: &UserId,
    keep: Option<&SessionId>,
) -> Result<usize, StoreError> {
    let ids: Vec<_> = sessions.session_ids(user_id).await?.into_iter().filter(|id| Some(id) != keep).collect();
    sessions.end_sessions(user_id, &ids).await?;
    Ok(ids.len())
}
