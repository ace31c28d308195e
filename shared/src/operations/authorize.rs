//! The decision of the Lambda authorizer other services put in front of
//! their routes: the same check as this service's own routes make.

use crate::store::{SessionStore, UserStore};
use crate::tokens::TokenVerifier;
use crate::ApiError;

use super::{authenticate, Caller};

/// Whom a bearer token lets in at `now`: its caller when the token is
/// genuine and unexpired, its session active and its user there (so a
/// logout, a revocation or a deletion is seen at once, unlike a signature
/// check's); `None` for any token that is not, or no token. A fault (the
/// store unreachable) is an error, so that nobody is let in on a guess.
pub async fn authorize<S>(
    store: &S,
    verifier: &TokenVerifier,
    now: u64,
    token: Option<&str>,
) -> Result<Option<Caller>, ApiError>
where
    S: SessionStore + UserStore,
{
    let Some(token) = token else {
        return Ok(None);
    };
    match authenticate(store, verifier, now, token).await {
        Ok(caller) => Ok(Some(caller)),
        Err(ApiError::InvalidToken) => Ok(None),
        Err(fault) => Err(fault),
    }
}
