use crate::domain::SessionView;
use crate::store::SessionStore;
use crate::tokens::TokenVerifier;
use crate::ApiError;

use super::authenticate;

/// The caller's active sessions, oldest first, the caller's own marked.
pub async fn list_sessions(
    sessions: &impl SessionStore,
    verifier: &TokenVerifier,
    now: u64,
    token: &str,
) -> Result<Vec<SessionView>, ApiError> {
    let caller = authenticate(sessions, verifier, now, token).await?;
    let mut active: Vec<_> =
        sessions.sessions(&caller.user_id).await?.into_iter().filter(|session| session.is_active(now)).collect();
    active.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    Ok(active.iter().map(|session| SessionView::of(session, &caller.session_id)).collect())
}
