use crate::store::RevocationStore;
use crate::tokens::TokenVerifier;
use crate::ApiError;

use super::authenticate;

/// Revokes the token at once for every function; the record expires with it.
pub async fn logout(
    revocations: &impl RevocationStore,
    verifier: &TokenVerifier,
    now: u64,
    token: &str,
) -> Result<(), ApiError> {
    let claims = authenticate(revocations, verifier, now, token).await?;
    revocations.revoke(&claims.jti, claims.exp).await?;
    tracing::info!(user_id = %claims.sub, jti = %claims.jti, "token revoked");
    Ok(())
}
