use crate::domain::{User, UserId};
use crate::store::{SessionStore, UserStore};
use crate::tokens::TokenVerifier;
use crate::ApiError;

use super::{caller, refuse_unless_active};

/// Reads a user's public profile for the holder of a valid token of an active
/// session. The session check and the read run at once (one round trip of
/// latency, not two); a token of an ended session gets 401 whatever the id.
pub async fn get_user<S>(
    store: &S,
    verifier: &TokenVerifier,
    now: u64,
    token: &str,
    raw_id: &str,
) -> Result<User, ApiError>
where
    S: UserStore + SessionStore,
{
    let caller = caller(verifier, now, token)?;
    let id = UserId::parse(raw_id);
    let read = async {
        match &id {
            Some(id) => store.get_user(id).await,
            None => Ok(None),
        }
    };
    let (session, user) = tokio::join!(store.session(&caller.user_id, &caller.session_id), read);
    refuse_unless_active(&caller, session?.as_ref(), now)?;
    user?.ok_or(ApiError::NotFound)
}
