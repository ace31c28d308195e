use secrecy::SecretString;

use crate::domain::{ActivityEvent, ActivityType, Client};
use crate::domain::{
    CodeCheck, CodeHasher, CodePurpose, EmailAddress, OneTimeCode, Password, PendingCode, User, Username,
};
use crate::lockout::KNOWN_ADDRESS_SECONDS;
use crate::mail::{self, templates, MailKind, Mailer};
use crate::passwords::PasswordHasher;
use crate::store::{
    ActivityStore, CredentialStore, EmailStore, LoginAttemptStore, PasswordReset, RecoveryStore, SessionStore,
    UserStore,
};
use crate::ApiError;

use super::admit_sign_up::hour_window;
use super::logout::end_sessions_but;
use super::record;

/// The account a recovery names: by its username, or by its verified address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountName {
    Username(Username),
    Email(EmailAddress),
}

impl AccountName {
    /// Exactly one of the two, well formed. The form says nothing of whether
    /// such an account exists.
    pub fn parse(username: Option<&str>, email: Option<&str>) -> Result<Self, ApiError> {
        match (username, email) {
            (Some(username), None) => Ok(AccountName::Username(Username::parse(username)?)),
            (None, Some(email)) => Ok(AccountName::Email(EmailAddress::parse(email)?)),
            _ => Err(ApiError::InvalidRequest("give exactly one of \"username\" and \"email\"")),
        }
    }
}

/// Counts a recovery request from `address` at `now`, and refuses it when
/// the address has made `per_hour` in this hour. The only refusal a
/// recovery request can get: it depends on the address, never the account.
pub async fn admit_recovery_request(
    store: &impl RecoveryStore,
    per_hour: u64,
    now: u64,
    address: &str,
) -> Result<(), ApiError> {
    let (start, end) = hour_window(now);
    if !store.count_recovery(address, start, end, per_hour).await? {
        tracing::info!(source_ip = address, "recovery refused: too many from this address");
        return Err(ApiError::TooManyRecoveries { retry_after: end - now });
    }
    Ok(())
}

/// The account `name` names, with its verified address: none for an unknown
/// name or address, or an account without a verified address.
async fn account_with_verified_address<S>(
    store: &S,
    name: &AccountName,
) -> Result<Option<(User, EmailAddress)>, ApiError>
where
    S: CredentialStore + UserStore + EmailStore,
{
    let user_id = match name {
        AccountName::Username(username) => store.credentials(username).await?.map(|found| found.user_id),
        AccountName::Email(address) => store.address_owner(address).await?,
    };
    let Some(user_id) = user_id else { return Ok(None) };
    let Some(user) = store.get_user(&user_id).await? else { return Ok(None) };
    // A disabled account is not recovered: whoever holds its mailbox must
    // not choose the password that enabling it would bring back.
    if user.disabled.is_some() {
        tracing::info!(user_id = %user.id, "recovery of a disabled account: refused");
        return Ok(None);
    }
    let verified = user.email.as_ref().filter(|email| email.verified).map(|email| email.address.clone());
    // By address: the claim and the profile agree, or it is no longer the account's.
    match (name, verified) {
        (AccountName::Email(asked), Some(address)) if *asked != address => Ok(None),
        (_, Some(address)) => Ok(Some((user, address))),
        (_, None) => Ok(None),
    }
}

/// What a recovery request does after its answer is sent, the same answer
/// for every name: mails a recovery code to the account's verified address,
/// if `name` names an account that has one, within the account's limits
/// (one a minute, five an hour; beyond them nothing is sent, silently). A
/// new code voids the previous one. Nothing here reaches the caller: a
/// failure is logged. With the hosted pages at `pages_url`, the mail links
/// to their recovery page.
pub async fn send_recovery_code<S>(
    store: &S,
    mailer: &dyn Mailer,
    hasher: &CodeHasher,
    now: u64,
    name: &AccountName,
    pages_url: Option<&str>,
) where
    S: CredentialStore + UserStore + EmailStore + RecoveryStore,
{
    let sent = async {
        let Some((user, address)) = account_with_verified_address(store, name).await? else {
            tracing::info!("recovery asked for no account with a verified address");
            return Ok::<_, ApiError>(());
        };
        if !store.admit_recovery(&user.id, now).await? {
            tracing::info!(user_id = %user.id, "recovery not sent: the account's limit is reached");
            return Ok(());
        }
        let code = OneTimeCode::generate()?;
        store
            .put_code(&PendingCode::new(hasher, CodePurpose::Recovery, user.id.clone(), &code, address.clone(), now))
            .await?;
        let mail = templates::recovery_code(&address, user.username.as_str(), &code, pages_url);
        mail::send_or_log(mailer, MailKind::RecoveryCode, mail).await;
        tracing::info!(user_id = %user.id, "recovery code sent");
        Ok(())
    };
    if let Err(err) = sent.await {
        tracing::error!(error = %err, "recovery code not sent");
    }
}

/// A request to set a new password with a recovery code. Its `Debug`
/// output redacts the password.
#[derive(Debug)]
pub struct RecoveryConfirmation {
    pub name: AccountName,
    pub code: String,
    pub new_password: SecretString,
    pub client: Client,
}

/// Sets a new password with the recovery code mailed to the account's
/// verified address: the code is consumed, the hash replaced and the
/// credential generation moved on at once (of concurrent uses of one code
/// exactly one passes), then every session of the account ends, the name's
/// lockout records are cleared, and the address is told. Every code that
/// does not pass, for any name, is [`ApiError::InvalidCode`]; a wrong one
/// spends one of the code's tries. The new password is checked against the
/// sign-up policy only once the code is known to be right, so that
/// `invalid_password` tells nothing to someone without the code, and a
/// refused password leaves the code unspent.
pub async fn confirm_recovery<S>(
    store: &S,
    passwords: &dyn PasswordHasher,
    mailer: &dyn Mailer,
    hasher: &CodeHasher,
    password_min_length: usize,
    now: u64,
    confirmation: RecoveryConfirmation,
) -> Result<(), ApiError>
where
    S: CredentialStore + UserStore + EmailStore + RecoveryStore + SessionStore + LoginAttemptStore + ActivityStore,
{
    let presented = OneTimeCode::parse(&confirmation.code);
    let (user, address) =
        account_with_verified_address(store, &confirmation.name).await?.ok_or(ApiError::InvalidCode)?;
    let pending = store.pending_code(&user.id, CodePurpose::Recovery).await?.ok_or(ApiError::InvalidCode)?;
    if pending.email != address {
        return Err(ApiError::InvalidCode);
    }
    match pending.check(hasher, presented.as_ref(), now) {
        CodeCheck::Void => return Err(ApiError::InvalidCode),
        CodeCheck::Wrong => {
            store.spend_try(&pending).await?;
            return Err(ApiError::InvalidCode);
        }
        CodeCheck::Accepted => {}
    }
    let password = Password::parse_for(&user.username, confirmation.new_password, password_min_length)?;
    let hash = passwords.hash(password).await?;
    // The user's generation moves with its name's in every write; the reset
    // holds only while the name is still this user's, at that generation.
    let generation = user.credential_generation;
    let reset = PasswordReset { code: pending, username: user.username.clone(), to: hash, generation, now };
    if !store.reset_password(&reset).await? {
        return Err(ApiError::InvalidCode);
    }
    tracing::info!(user_id = %user.id, "password reset by recovery");
    // The reset is done: what follows tidies up, and a failure is logged.
    // Every session is of the old generation now and opens nothing already.
    let reset = record(store, ActivityEvent::new(&user.id, ActivityType::PasswordReset).from(&confirmation.client));
    let (ended, ()) = tokio::join!(end_sessions_but(store, &user.id, None), reset);
    if let Err(err) = ended {
        tracing::warn!(user_id = %user.id, error = %err, "sessions left after a recovery");
    }
    let known_until = now + KNOWN_ADDRESS_SECONDS;
    let (known, forgotten) = tokio::join!(
        store.mark_known(&user.username, &confirmation.client.source_ip, &user.id, known_until),
        store.forget_name(&user.username)
    );
    if let Err(err) = known.and(forgotten) {
        tracing::warn!(user_id = %user.id, error = %err, "lockout records left after a recovery");
    }
    mail::send_or_log(mailer, MailKind::PasswordReset, templates::password_reset(&address, user.username.as_str()))
        .await;
    Ok(())
}
