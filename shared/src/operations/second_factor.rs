//! The checks of a second factor's code, under the lockout, shared by the
//! factor's own operations and by every one that asks for it besides the
//! password (step-up: changing the password, the address, deleting the
//! account, removing the factor).

use std::collections::BTreeSet;

use secrecy::SecretString;

use crate::domain::{ActivityType, FactorCode, FactorKeys, FactorUse, User};
use crate::lockout::{self, Claimed, LockoutError};
use crate::mail::templates::{self, FactorChange};
use crate::mail::{self, MailKind, Mailer};
use crate::passwords::PasswordHasher;
use crate::store::{ActivityStore, CredentialStore, Credentials, LoginAttemptStore, SecondFactorStore};
use crate::ApiError;

use super::{record, Caller, PasswordCheck};

/// Tells the user's verified address, if there is one, that the second
/// factor changed. A mail that cannot be sent is logged and counted.
pub async fn notify_factor_changed(mailer: &dyn Mailer, user: &User, change: FactorChange) {
    if let Some(email) = user.email.as_ref().filter(|email| email.verified) {
        let mail = templates::second_factor_changed(&email.address, user.username.as_str(), change);
        mail::send_or_log(mailer, MailKind::SecondFactorChanged, mail).await;
    }
}

/// What a second factor's code is checked with: the service's factor keys
/// and the code the request carries, if any. Its `Debug` output redacts both.
pub struct FactorProof<'a> {
    pub keys: &'a FactorKeys,
    pub code: Option<String>,
}

impl std::fmt::Debug for FactorProof<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FactorProof {{ code: {}, [REDACTED] }}", if self.code.is_some() { "given" } else { "none" })
    }
}

/// Checks the password and, when the user has an active factor, a code of
/// it, as one attempt under the lockout: the attempt is counted as a failure
/// before argon2 runs and forgotten only when both were right, so a wrong
/// code is a counted failure however often the password is right. A code
/// missing is [`ApiError::MfaRequired`], before any argon2 work; a wrong,
/// used or replayed one is [`ApiError::InvalidFactorCode`]. The code is
/// spent (a TOTP step recorded, a recovery code deleted) before success is
/// recorded, so of two requests with one code, one passes. A recovery code
/// spent is recorded in the caller's activity.
pub async fn check_password_and_factor<S>(
    store: &S,
    passwords: &dyn PasswordHasher,
    now: u64,
    caller: &Caller,
    address: &str,
    password: SecretString,
    proof: FactorProof<'_>,
) -> Result<Credentials, ApiError>
where
    S: CredentialStore + LoginAttemptStore + SecondFactorStore + ActivityStore,
{
    let user = &caller.user;
    let code = match user.second_factor.is_active() {
        true => Some(proof.code.as_deref().ok_or(ApiError::MfaRequired)?),
        false => None,
    };
    let checked =
        PasswordCheck::read(store, &user.username, address, now).await.verify(store, passwords, password).await?;
    if checked.credentials.user_id != user.id {
        // The name is no longer this user's: the account is gone.
        return Err(ApiError::InvalidToken);
    }
    let used = match code {
        Some(code) => Some(accepted(proof.keys, user, code, now)?),
        None => None,
    };
    if let Some(used) = &used {
        spend(store, user, used, None).await?;
    }
    let (success, ()) = tokio::join!(checked.record_success(store), record_recovery_code(store, caller, used.as_ref()));
    success?;
    Ok(checked.credentials)
}

/// Checks a code of the user's active factor as one attempt under the
/// lockout (claimed first, forgotten only if right), and spends it, with
/// the recovery codes replaced by `replace` in the same write when given.
pub async fn prove_factor<S>(
    store: &S,
    keys: &FactorKeys,
    now: u64,
    caller: &Caller,
    address: &str,
    code: &str,
    replace: Option<&BTreeSet<String>>,
) -> Result<FactorUse, ApiError>
where
    S: LoginAttemptStore + SecondFactorStore + ActivityStore,
{
    let user = &caller.user;
    if !user.second_factor.is_active() {
        return Err(ApiError::MfaNotEnabled);
    }
    let claimed = claim_attempt(store, user, address, now).await?;
    let used = accepted(keys, user, code, now)?;
    spend(store, user, &used, replace).await?;
    let (forgotten, ()) = tokio::join!(
        forget_attempt(store, user, address, claimed, now),
        record_recovery_code(store, caller, Some(&used))
    );
    forgotten?;
    Ok(used)
}

/// Records a recovery code's use in the caller's activity; a TOTP code's
/// use is not an event of its own.
async fn record_recovery_code(store: &impl ActivityStore, caller: &Caller, used: Option<&FactorUse>) {
    if let Some(FactorUse::RecoveryCode { .. }) = used {
        record(store, caller.event(ActivityType::RecoveryCodeUsed)).await;
    }
}

/// Claims an attempt at the user's name from `address`, as a failure until
/// it is forgotten: refused while the name or address is locked.
pub async fn claim_attempt<S: LoginAttemptStore>(
    store: &S,
    user: &User,
    address: &str,
    now: u64,
) -> Result<Claimed, ApiError> {
    let standing = lockout::standing(store, &user.username, address, now).await?;
    let claimed = lockout::claim(store, &user.username, address, &standing, Some(&user.id), now).await;
    if let Err(LockoutError::Locked { retry_after }) = &claimed {
        tracing::info!(source_ip = address, user_id = %user.id, retry_after, "code check refused: locked");
    }
    Ok(claimed?)
}

/// Forgets an attempt that succeeded, with the failures before it.
pub async fn forget_attempt<S: LoginAttemptStore>(
    store: &S,
    user: &User,
    address: &str,
    claimed: Claimed,
    now: u64,
) -> Result<(), ApiError> {
    Ok(lockout::record_success(store, &user.username, address, &user.id, claimed, now).await?)
}

/// What `code` spends of the user's factor at `now`, or
/// [`ApiError::InvalidFactorCode`].
fn accepted(keys: &FactorKeys, user: &User, code: &str, now: u64) -> Result<FactorUse, ApiError> {
    let used = FactorCode::parse(code).and_then(|code| user.second_factor.accepts(keys, &user.id, &code, now));
    used.ok_or_else(|| {
        tracing::info!(user_id = %user.id, "second factor code refused");
        ApiError::InvalidFactorCode
    })
}

/// Spends `used`, or [`ApiError::InvalidFactorCode`] when a concurrent
/// request spent it first.
async fn spend<S: SecondFactorStore>(
    store: &S,
    user: &User,
    used: &FactorUse,
    replace: Option<&BTreeSet<String>>,
) -> Result<(), ApiError> {
    match store.spend_factor(&user.id, used, replace).await? {
        true => Ok(()),
        false => {
            tracing::info!(user_id = %user.id, "second factor code spent by a concurrent request");
            Err(ApiError::InvalidFactorCode)
        }
    }
}
