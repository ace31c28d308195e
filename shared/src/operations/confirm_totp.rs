use crate::domain::{ActivityType, FactorKeys, RecoveryCode, TotpCode};
use crate::mail::templates::FactorChange;
use crate::mail::Mailer;
use crate::store::{ActivityStore, LoginAttemptStore, SecondFactorStore};
use crate::ApiError;

use super::{claim_attempt, forget_attempt, notify_factor_changed, record, Caller};

/// Makes the pending secret the account's second factor, once a code of it
/// shows the authenticator app holds it, and gives the recovery codes, to
/// show once. The code is checked as one attempt under the lockout: a wrong
/// one counts, and the answer for it, or for no pending secret, is
/// [`ApiError::InvalidFactorCode`]. The step of the code is the first used.
pub async fn confirm_totp<S>(
    store: &S,
    keys: &FactorKeys,
    mailer: &dyn Mailer,
    now: u64,
    caller: &Caller,
    code: &str,
    source_ip: &str,
) -> Result<Vec<RecoveryCode>, ApiError>
where
    S: LoginAttemptStore + SecondFactorStore + ActivityStore,
{
    let user = &caller.user;
    let factor = &user.second_factor;
    if factor.is_active() {
        return Err(ApiError::MfaAlreadyEnabled);
    }
    let pending = factor.pending.as_ref().ok_or(ApiError::InvalidFactorCode)?;
    let claimed = claim_attempt(store, user, source_ip, now).await?;
    let secret = keys.open(&user.id, pending).ok_or(ApiError::InvalidFactorCode)?;
    let step =
        TotpCode::parse(code).and_then(|code| secret.step_of(&code, now, None)).ok_or(ApiError::InvalidFactorCode)?;
    let (codes, hashes) = keys.recovery_codes(&user.id)?;
    if !store.activate_totp(user, pending, step, &hashes).await? {
        // Confirmed, replaced or deleted meanwhile.
        return Err(ApiError::InvalidFactorCode);
    }
    tracing::info!(user_id = %user.id, "second factor enabled");
    let (forgotten, (), ()) = tokio::join!(
        forget_attempt(store, user, source_ip, claimed, now),
        notify_factor_changed(mailer, user, FactorChange::Enabled),
        record(store, caller.event(ActivityType::SecondFactorEnabled)),
    );
    forgotten?;
    Ok(codes)
}
