use secrecy::SecretString;

use crate::domain::ActivityType;
use crate::mail::templates::FactorChange;
use crate::mail::Mailer;
use crate::passwords::PasswordHasher;
use crate::store::{ActivityStore, CredentialStore, LoginAttemptStore, SecondFactorStore};
use crate::ApiError;

use super::{check_password_and_factor, notify_factor_changed, record, Caller, FactorProof};

/// A request to remove the second factor: the password, and the address it
/// comes from (for the lockout). Its `Debug` output redacts the password.
#[derive(Debug)]
pub struct FactorRemoval {
    pub password: SecretString,
    pub source_ip: String,
}

/// Removes the account's second factor and its recovery codes, once the
/// password and a code of the factor are checked
/// ([`check_password_and_factor`]): a stolen session alone cannot take the
/// factor off, nor a stolen password.
pub async fn remove_totp<S>(
    store: &S,
    passwords: &dyn PasswordHasher,
    mailer: &dyn Mailer,
    now: u64,
    caller: &Caller,
    attempt: FactorRemoval,
    proof: FactorProof<'_>,
) -> Result<(), ApiError>
where
    S: CredentialStore + LoginAttemptStore + SecondFactorStore + ActivityStore,
{
    let user = &caller.user;
    if !user.second_factor.is_active() {
        return Err(ApiError::MfaNotEnabled);
    }
    check_password_and_factor(store, passwords, now, caller, &attempt.source_ip, attempt.password, proof).await?;
    if !store.remove_totp(user).await? {
        return Err(ApiError::MfaNotEnabled);
    }
    tracing::info!(user_id = %user.id, "second factor removed");
    let removed = record(store, caller.event(ActivityType::SecondFactorDisabled));
    tokio::join!(notify_factor_changed(mailer, user, FactorChange::Removed), removed);
    Ok(())
}
