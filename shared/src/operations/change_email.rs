use secrecy::SecretString;

use crate::domain::{ActivityType, CodeHasher, EmailAddress, UserEmail};
use crate::mail::{self, templates, MailKind, Mailer};
use crate::passwords::PasswordHasher;
use crate::store::{ActivityStore, CredentialStore, EmailStore, LoginAttemptStore, SecondFactorStore};
use crate::ApiError;

use super::{check_password_and_factor, record, send_verification_code, Caller, FactorProof};

/// A request to put another address on the caller's profile: the address,
/// the password (asked again: a stolen access token alone must not redirect
/// the account's mail) and the address it comes from (for the lockout). Its
/// `Debug` output redacts the password. With a second factor, the proof of
/// it.
#[derive(Debug)]
pub struct EmailChangeAttempt<'a> {
    pub email: String,
    pub password: SecretString,
    pub source_ip: String,
    pub proof: FactorProof<'a>,
}

/// Puts `attempt.email` on the caller's profile, unverified, and mails it a
/// code, once the password is checked as login checks it (a wrong one counts
/// toward the lockout). The verified address it replaces stops being the
/// account's at once, and is told so. An address another account has
/// verified is answered the same, and mailed a notice instead of a code.
/// With a second factor, a code of it is asked for too.
/// The profile as it now is.
pub async fn change_email<S>(
    store: &S,
    passwords: &dyn PasswordHasher,
    mailer: &dyn Mailer,
    hasher: &CodeHasher,
    now: u64,
    caller: &Caller,
    attempt: EmailChangeAttempt<'_>,
) -> Result<crate::domain::User, ApiError>
where
    S: CredentialStore + LoginAttemptStore + EmailStore + SecondFactorStore + ActivityStore,
{
    // A malformed address costs no argon2 work and counts no failure.
    let address = EmailAddress::parse(&attempt.email)?;
    let user = &caller.user;
    let EmailChangeAttempt { password, source_ip, proof, .. } = attempt;
    check_password_and_factor(store, passwords, now, caller, &source_ip, password, proof).await?;
    let previous = user.email.clone();
    if previous.as_ref().is_some_and(|email| email.verified && email.address == address) {
        // Already this account's, proven: nothing to send.
        return Ok(user.clone());
    }
    let released = previous.as_ref().filter(|email| email.verified).map(|email| &email.address);
    if !store.set_email(&user.id, &address, released).await? {
        return Err(ApiError::InvalidToken);
    }
    let mut changed = user.clone();
    changed.email = Some(UserEmail { address: address.clone(), verified: false });
    tracing::info!(user_id = %user.id, "email address changed");
    let kind = if previous.is_some() { ActivityType::EmailChanged } else { ActivityType::EmailAdded };
    let (sent, ()) = tokio::join!(
        send_verification_code(store, mailer, hasher, now, &changed, &address),
        record(store, caller.event(kind))
    );
    sent?;
    if let Some(old) = released.filter(|old| **old != address) {
        mail::send_or_log(mailer, MailKind::AddressChanged, templates::address_changed(old, user.username.as_str()))
            .await;
    }
    Ok(changed)
}
