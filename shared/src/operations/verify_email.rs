use crate::domain::{ActivityType, CodeCheck, CodeHasher, CodePurpose, EmailAddress, OneTimeCode, PendingCode, User};
use crate::mail::{self, templates, MailKind, Mailer};
use crate::store::{ActivityStore, EmailStore, EmailVerification};
use crate::ApiError;

use super::{record, Caller};

/// Mails a code that proves `address` is the user's, for the address the
/// user's profile now holds, unverified; a new code voids the one before.
/// An address another account has verified gets a mail that says so
/// instead, and nothing is stored: the caller's answer is the same either
/// way. A mail that cannot be sent is logged and counted, not the caller's
/// failure: the address stays unverified until a later code arrives.
pub async fn send_verification_code<S>(
    store: &S,
    mailer: &dyn Mailer,
    hasher: &CodeHasher,
    now: u64,
    user: &User,
    address: &EmailAddress,
) -> Result<(), ApiError>
where
    S: EmailStore,
{
    match store.address_owner(address).await? {
        Some(owner) if owner != user.id => {
            mail::send_or_log(mailer, MailKind::AddressInUse, templates::address_in_use(address)).await;
        }
        _ => {
            let code = OneTimeCode::generate()?;
            let pending =
                PendingCode::new(hasher, CodePurpose::VerifyEmail, user.id.clone(), &code, address.clone(), now);
            store.put_code(&pending).await?;
            let mail = templates::verification_code(address, user.username.as_str(), &code);
            mail::send_or_log(mailer, MailKind::VerificationCode, mail).await;
        }
    }
    Ok(())
}

/// Verifies the caller's address with the code mailed to it: the code is
/// consumed and the address claimed for the caller at once, so of two
/// concurrent uses of one code exactly one passes. Every code that does not
/// pass (wrong, expired, used, voided, never sent, or sent to an address the
/// profile no longer holds) is [`ApiError::InvalidCode`]; a wrong one spends
/// one of the code's tries.
pub async fn verify_email<S>(
    store: &S,
    hasher: &CodeHasher,
    now: u64,
    caller: &Caller,
    raw_code: &str,
) -> Result<(), ApiError>
where
    S: EmailStore + ActivityStore,
{
    let presented = OneTimeCode::parse(raw_code);
    let pending = store.pending_code(&caller.user.id, CodePurpose::VerifyEmail).await?.ok_or(ApiError::InvalidCode)?;
    let on_profile = caller.user.email.as_ref().map(|email| &email.address);
    if on_profile != Some(&pending.email) {
        return Err(ApiError::InvalidCode);
    }
    match pending.check(hasher, presented.as_ref(), now) {
        CodeCheck::Void => Err(ApiError::InvalidCode),
        CodeCheck::Wrong => {
            // Conditional on the code and its tries: a try spent
            // concurrently is not spent twice, and a voided code stays void.
            store.spend_try(&pending).await?;
            Err(ApiError::InvalidCode)
        }
        CodeCheck::Accepted => match store.verify_email(&pending, now).await? {
            EmailVerification::Verified => {
                tracing::info!(user_id = %caller.user.id, "email address verified");
                record(store, caller.event(ActivityType::EmailVerified)).await;
                Ok(())
            }
            EmailVerification::CodeGone => Err(ApiError::InvalidCode),
            EmailVerification::AddressTaken => Err(ApiError::EmailTaken),
        },
    }
}
