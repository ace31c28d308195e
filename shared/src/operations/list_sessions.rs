use crate::domain::SessionView;
use crate::store::SessionStore;
use crate::tokens::TokenVerifier;
use crate::ApiError;

use super::{caller, refuse_unless_active};

/// The caller's active sessions, oldest first, the caller's own marked. The
/// one `Query` that lists them also holds the caller's own session, so it
/// checks the token's session too: no separate read.
pub async fn list_sessions(
    sessions: &impl SessionStore,
    verifier: &TokenVerifier,
    now: u64,
    token: &str,
) -> Result<Vec<SessionView>, ApiError> {
    let caller = caller(verifier, now, token)?;
    let mut active: Vec<_> =
        sessions.sessions(&caller.user_id).await?.into_iter().filter(|session| session.is_active(now)).collect();
    refuse_unless_active(&caller, active.iter().find(|session| session.id == caller.session_id), now)?;
    active.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    Ok(active.iter().map(|session| SessionView::of(session, &caller.session_id)).collect())
}
