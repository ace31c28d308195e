use secrecy::SecretString;

use crate::domain::{FactorKeys, TotpSecret};
use crate::passwords::PasswordHasher;
use crate::store::{CredentialStore, LoginAttemptStore, SecondFactorStore};
use crate::ApiError;

use super::{check_password, Caller};

/// Starts enrolling an authenticator app, once the password is checked as
/// login checks it (a wrong one counts toward the lockout): a new secret,
/// kept sealed on the user as pending until a code of it confirms it.
/// Enrolling again before that replaces the pending secret. An account with
/// an active factor must remove it first. The secret, to show once.
pub async fn enrol_totp<S>(
    store: &S,
    passwords: &dyn PasswordHasher,
    keys: &FactorKeys,
    now: u64,
    caller: &Caller,
    password: SecretString,
    source_ip: &str,
) -> Result<TotpSecret, ApiError>
where
    S: CredentialStore + LoginAttemptStore + SecondFactorStore,
{
    let user = &caller.user;
    if user.second_factor.is_active() {
        return Err(ApiError::MfaAlreadyEnabled);
    }
    let credentials = check_password(store, passwords, now, &user.username, source_ip, password).await?;
    if credentials.user_id != user.id {
        return Err(ApiError::InvalidToken);
    }
    let secret = TotpSecret::generate()?;
    if !store.put_pending_totp(&user.id, &keys.seal(&user.id, &secret)?).await? {
        // A factor confirmed meanwhile, or the account deleted.
        return Err(ApiError::MfaAlreadyEnabled);
    }
    tracing::info!(user_id = %user.id, "second factor enrolment started");
    Ok(secret)
}
