use crate::domain::{Session, SessionView};
use crate::store::{SessionStore, UserStore};
use crate::tokens::TokenVerifier;
use crate::ApiError;

use super::{admit_caller, claimed};

/// The caller's active sessions, oldest first, the caller's own marked. The
/// one `Query` that lists them also holds the caller's own session, so it
/// checks the token's session too: no separate read. The user is read at
/// the same time.
pub async fn list_sessions<S>(
    store: &S,
    verifier: &TokenVerifier,
    now: u64,
    token: &str,
) -> Result<Vec<SessionView>, ApiError>
where
    S: SessionStore + UserStore,
{
    let claimed = claimed(verifier, now, token)?;
    let (sessions, user) = tokio::join!(store.sessions(&claimed.user_id), store.get_user(&claimed.user_id));
    let (mut sessions, user) = (sessions?, user?);
    let generation = user.as_ref().map_or(0, |user| user.credential_generation);
    let own = |sessions: &[Session]| sessions.iter().find(|session| session.id == claimed.session_id).cloned();
    if own(&sessions).is_some_and(|session| session.is_left_behind(generation)) {
        // Listed before a password change its user was read after: list
        // again, as `authenticate` reads its session again.
        sessions = store.sessions(&claimed.user_id).await?;
    }
    let caller = admit_caller(claimed.clone(), own(&sessions).as_ref(), user, now)?;
    // Sessions a password change left behind open nothing: not listed.
    let live = |session: &Session| session.is_active(now) && !session.is_left_behind(generation);
    let mut active: Vec<_> = sessions.into_iter().filter(live).collect();
    active.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    Ok(active.iter().map(|session| SessionView::of(session, &caller.session_id)).collect())
}
