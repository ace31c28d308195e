use crate::domain::{ActivityType, FactorKeys, RecoveryCode};
use crate::mail::templates::FactorChange;
use crate::mail::Mailer;
use crate::store::{ActivityStore, LoginAttemptStore, SecondFactorStore};
use crate::ApiError;

use super::{notify_factor_changed, prove_factor, record, Caller};

/// Replaces the account's recovery codes with new ones, to show once, when
/// a code of the factor is right ([`prove_factor`]: under the lockout, and
/// spent in the same write that replaces the codes). The old codes are void.
pub async fn new_recovery_codes<S>(
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
    if !user.second_factor.is_active() {
        return Err(ApiError::MfaNotEnabled);
    }
    let (codes, hashes) = keys.recovery_codes(&user.id)?;
    prove_factor(store, keys, now, caller, source_ip, code, Some(&hashes)).await?;
    tracing::info!(user_id = %user.id, "recovery codes replaced");
    let replaced = record(store, caller.event(ActivityType::RecoveryCodesReplaced));
    tokio::join!(notify_factor_changed(mailer, user, FactorChange::RecoveryCodesReplaced), replaced);
    Ok(codes)
}
