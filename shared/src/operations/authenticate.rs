//! The one check of an access token, its session and its user, shared by
//! every route that serves token holders and by the authorizer.

use crate::domain::{Session, SessionId, User, UserId};
use crate::store::{SessionStore, UserStore};
use crate::tokens::TokenVerifier;
use crate::ApiError;

/// What an access token claims: its user and its session, not yet checked
/// against the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Claimed {
    pub(super) user_id: UserId,
    pub(super) session_id: SessionId,
}

/// Who presented an access token, checked: a user that exists, and its
/// active session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user: User,
    pub session_id: SessionId,
}

/// What an access token claims, if it is genuine and unexpired at `now`.
/// Neither its session nor its user is checked: see [`authenticate`].
pub(super) fn claimed(verifier: &TokenVerifier, now: u64, token: &str) -> Result<Claimed, ApiError> {
    let claims = verifier.verify(token, now)?;
    match (UserId::parse(&claims.sub), SessionId::parse(&claims.sid)) {
        (Some(user_id), Some(session_id)) => Ok(Claimed { user_id, session_id }),
        _ => Err(ApiError::InvalidToken),
    }
}

/// The one refusal of a token whose session has ended, whose user is gone,
/// or whose session was opened with a password that has since changed,
/// whoever checked it. An account deletion ends every session with the
/// user, in one transaction; the user is checked as well, so that a session
/// record that outlived its user (stored by a login racing the deletion, or
/// by anything else) still opens nothing. A password change moves the
/// user's credential generation on, so a session of an older one opens
/// nothing, however late a racing login stored it.
pub(super) fn admit_caller(
    claimed: Claimed,
    session: Option<&Session>,
    user: Option<User>,
    now: u64,
) -> Result<Caller, ApiError> {
    let Some(session) = session.filter(|session| session.is_active(now)) else {
        tracing::info!(session_id = %claimed.session_id, "access token of an ended session presented");
        return Err(ApiError::InvalidToken);
    };
    let Some(user) = user.filter(|user| user.id == claimed.user_id) else {
        tracing::warn!(session_id = %claimed.session_id, "access token of a deleted user presented");
        return Err(ApiError::InvalidToken);
    };
    if !session.is_of_credentials(user.credential_generation) {
        tracing::info!(session_id = %claimed.session_id, "access token of a session from before a password change");
        return Err(ApiError::InvalidToken);
    }
    Ok(Caller { user, session_id: claimed.session_id })
}

/// Verifies a bearer token at `now`, and checks that its session is active,
/// its user exists and the session is of the user's credentials: two reads
/// at once, one round trip.
pub async fn authenticate<S>(store: &S, verifier: &TokenVerifier, now: u64, token: &str) -> Result<Caller, ApiError>
where
    S: SessionStore + UserStore,
{
    let claimed = claimed(verifier, now, token)?;
    let (session, user) =
        tokio::join!(store.session(&claimed.user_id, &claimed.session_id), store.get_user(&claimed.user_id));
    // A session left behind by a password change is refused here, and ended
    // by the refresh that would renew it: the functions that only read
    // sessions may not delete them.
    admit_caller(claimed, session?.as_ref(), user?, now)
}
