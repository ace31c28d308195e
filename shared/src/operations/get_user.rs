use crate::domain::{User, UserId};
use crate::store::{RevocationStore, UserStore};
use crate::tokens::TokenVerifier;
use crate::ApiError;

use super::refuse_if_revoked;

/// Reads a user's public profile for the holder of a valid, unrevoked token.
/// The revocation check and the read run at once (one round trip of latency,
/// not two); a revoked token gets 401 whatever the id.
pub async fn get_user<S>(
    store: &S,
    verifier: &TokenVerifier,
    now: u64,
    token: &str,
    raw_id: &str,
) -> Result<User, ApiError>
where
    S: UserStore + RevocationStore,
{
    let claims = verifier.verify(token, now)?;
    let id = UserId::parse(raw_id);
    let read = async {
        match &id {
            Some(id) => store.get_user(id).await,
            None => Ok(None),
        }
    };
    let (revoked, user) = tokio::join!(store.is_revoked(&claims.jti), read);
    refuse_if_revoked(&claims, revoked?)?;
    user?.ok_or(ApiError::NotFound)
}
