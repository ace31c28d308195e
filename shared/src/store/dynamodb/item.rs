//! Items to domain types and back, by one rule: an attribute that is missing
//! or malformed is [`StoreError::Failed`], never a default. A corrupt
//! `locked_until` must not quietly unlock an account.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::schema::{codes, login_attempts, sessions, usernames, users};
use crate::domain::{ActiveTotp, Disabled, PendingSignIn, SealedSecret, SecondFactor, SignIn};
use crate::domain::{AddressRecord, CodePurpose, EmailAddress, NameRecord, PendingCode, UserEmail};
use crate::domain::{Client, RefreshHash, Session, SessionId, User, UserId, Username};
use crate::passwords::PasswordHash;
use crate::store::{Credentials, StoreError};

pub type Item = HashMap<String, AttributeValue>;

pub fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

pub fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn corrupt(name: &str, what: &str) -> StoreError {
    StoreError::Failed(format!("stored item has {what} attribute {name}").into())
}

/// A string attribute, or `Failed`.
pub fn get_s<'a>(item: &'a Item, name: &str) -> Result<&'a str, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Ok(value),
        Some(_) => Err(corrupt(name, "a non-string")),
        None => Err(corrupt(name, "no")),
    }
}

/// A non-negative integer attribute, or `Failed`.
pub fn get_n(item: &Item, name: &str) -> Result<u64, StoreError> {
    match item.get(name) {
        Some(AttributeValue::N(value)) => value.parse().map_err(|_| corrupt(name, "a malformed number in")),
        Some(_) => Err(corrupt(name, "a non-number")),
        None => Err(corrupt(name, "no")),
    }
}

/// A credential generation. The one attribute whose absence has a meaning:
/// users, usernames and sessions stored before generations existed have
/// none, and are of generation 0, the first. A malformed one is `Failed`.
pub fn get_generation(item: &Item, name: &str) -> Result<u64, StoreError> {
    match item.contains_key(name) {
        true => get_n(item, name),
        false => Ok(0),
    }
}

/// A string attribute that must parse as `parse` reads it, or `Failed`.
pub fn parsed<T>(item: &Item, name: &str, parse: impl FnOnce(&str) -> Option<T>) -> Result<T, StoreError> {
    parse(get_s(item, name)?).ok_or_else(|| corrupt(name, "an invalid"))
}

impl TryFrom<&Item> for User {
    type Error = StoreError;

    fn try_from(item: &Item) -> Result<Self, StoreError> {
        Ok(User {
            id: parsed(item, users::ID, UserId::parse)?,
            username: parsed(item, users::USERNAME, |raw| Username::parse(raw).ok())?,
            created_at: parsed(item, users::CREATED_AT, |raw| OffsetDateTime::parse(raw, &Rfc3339).ok())?,
            credential_generation: get_generation(item, users::CREDENTIAL_GENERATION)?,
            email: get_email(item)?,
            second_factor: get_second_factor(item)?,
            disabled: optional(item, users::DISABLED_AT, get_n)?
                .map(|at| {
                    let reason = get_s(item, users::DISABLED_REASON)?.to_owned();
                    Ok(Disabled { at, reason, by: get_s(item, users::DISABLED_BY)?.to_owned() })
                })
                .transpose()?,
        })
    }
}

/// A flag of the usernames item: absent is off (items stored before it).
fn get_flag(item: &Item, name: &str) -> Result<bool, StoreError> {
    match item.get(name) {
        Some(AttributeValue::Bool(on)) => Ok(*on),
        Some(_) => Err(corrupt(name, "a non-boolean")),
        None => Ok(false),
    }
}

/// A binary attribute, or `Failed`.
fn get_b(item: &Item, name: &str) -> Result<Vec<u8>, StoreError> {
    match item.get(name) {
        Some(AttributeValue::B(value)) => Ok(value.clone().into_inner()),
        Some(_) => Err(corrupt(name, "a non-binary")),
        None => Err(corrupt(name, "no")),
    }
}

/// An optional attribute: `None` when absent, `get` when present.
fn optional<T>(
    item: &Item,
    name: &str,
    get: impl FnOnce(&Item, &str) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    item.contains_key(name).then(|| get(item, name)).transpose()
}

/// A user's second factor: absent attributes are no factor, no pending
/// secret and no recovery code left (DynamoDB stores no empty set); an
/// active secret must come with its last step.
fn get_second_factor(item: &Item) -> Result<SecondFactor, StoreError> {
    let totp = optional(item, users::TOTP_SECRET, get_b)?
        .map(|sealed| Ok(ActiveTotp { sealed: SealedSecret(sealed), last_step: get_n(item, users::TOTP_LAST_STEP)? }))
        .transpose()?;
    let recovery_codes = match item.get(users::RECOVERY_CODES) {
        Some(AttributeValue::Ss(hashes)) => hashes.iter().cloned().collect(),
        Some(_) => return Err(corrupt(users::RECOVERY_CODES, "a non-string-set")),
        None => Default::default(),
    };
    Ok(SecondFactor { totp, pending: optional(item, users::TOTP_PENDING, get_b)?.map(SealedSecret), recovery_codes })
}

/// A login waiting for its second factor.
pub fn pending_sign_in(item: &Item, token_hash: &str) -> Result<PendingSignIn, StoreError> {
    Ok(PendingSignIn {
        token_hash: token_hash.to_owned(),
        user_id: parsed(item, codes::USER_ID, UserId::parse)?,
        credential_generation: get_n(item, codes::CREDENTIAL_GENERATION)?,
        client: Client {
            user_agent: get_s(item, codes::USER_AGENT)?.to_owned(),
            source_ip: get_s(item, codes::SOURCE_IP)?.to_owned(),
        },
        expires_at: get_n(item, codes::EXPIRES_AT)?,
        tries_left: get_n(item, codes::TRIES_LEFT)?,
    })
}

/// A pending code of `purpose` (the purpose is in the item's key).
pub fn pending_code(item: &Item, purpose: CodePurpose) -> Result<PendingCode, StoreError> {
    Ok(PendingCode {
        user_id: parsed(item, codes::USER_ID, UserId::parse)?,
        purpose,
        hash: get_s(item, codes::CODE_HASH)?.to_owned(),
        email: parsed(item, codes::EMAIL, |raw| EmailAddress::parse(raw).ok())?,
        expires_at: get_n(item, codes::EXPIRES_AT)?,
        tries_left: get_n(item, codes::TRIES_LEFT)?,
    })
}

/// A profile's address: none when absent; present, it must be valid and
/// say whether it is verified.
fn get_email(item: &Item) -> Result<Option<UserEmail>, StoreError> {
    if !item.contains_key(users::EMAIL) {
        return Ok(None);
    }
    let address = parsed(item, users::EMAIL, |raw| EmailAddress::parse(raw).ok())?;
    let verified = match item.get(users::EMAIL_VERIFIED) {
        Some(AttributeValue::Bool(verified)) => *verified,
        Some(_) => return Err(corrupt(users::EMAIL_VERIFIED, "a non-boolean")),
        None => return Err(corrupt(users::EMAIL_VERIFIED, "no")),
    };
    Ok(Some(UserEmail { address, verified }))
}

/// `item` with a profile's address attributes, when it has an address.
pub fn with_email(mut item: Item, email: Option<&UserEmail>) -> Item {
    if let Some(email) = email {
        item.insert(users::EMAIL.to_owned(), s(email.address.as_str()));
        item.insert(users::EMAIL_VERIFIED.to_owned(), AttributeValue::Bool(email.verified));
    }
    item
}

impl TryFrom<&Item> for Credentials {
    type Error = StoreError;

    fn try_from(item: &Item) -> Result<Self, StoreError> {
        Ok(Credentials {
            user_id: parsed(item, usernames::USER_ID, UserId::parse)?,
            password_hash: PasswordHash::from_phc(get_s(item, usernames::PASSWORD_HASH)?.to_owned()),
            generation: get_generation(item, usernames::CREDENTIAL_GENERATION)?,
            second_factor: get_flag(item, usernames::SECOND_FACTOR)?,
            disabled: get_flag(item, usernames::DISABLED)?,
        })
    }
}

impl TryFrom<&Item> for Session {
    type Error = StoreError;

    fn try_from(item: &Item) -> Result<Self, StoreError> {
        // Both or neither: a session has a spent token once it was refreshed.
        let previous = match item.contains_key(sessions::PREVIOUS_HASH) {
            true => Some((
                RefreshHash(get_s(item, sessions::PREVIOUS_HASH)?.to_owned()),
                get_n(item, sessions::PREVIOUS_SPENT_AT)?,
            )),
            false => None,
        };
        Ok(Session {
            id: parsed(item, sessions::SID, SessionId::parse)?,
            user_id: parsed(item, sessions::USER_ID, UserId::parse)?,
            client: Client {
                user_agent: get_s(item, sessions::USER_AGENT)?.to_owned(),
                source_ip: get_s(item, sessions::SOURCE_IP)?.to_owned(),
            },
            created_at: get_n(item, sessions::CREATED_AT)?,
            last_refreshed_at: get_n(item, sessions::LAST_REFRESHED_AT)?,
            expires_at: get_n(item, sessions::EXPIRES_AT)?,
            idle_ends_at: get_n(item, sessions::IDLE_ENDS_AT)?,
            generation: get_n(item, sessions::GENERATION)?,
            credential_generation: get_generation(item, sessions::CREDENTIAL_GENERATION)?,
            current: RefreshHash(get_s(item, sessions::REFRESH_HASH)?.to_owned()),
            previous,
            sign_in: match item.contains_key(sessions::AMR) {
                true => parsed(item, sessions::AMR, SignIn::parse)?,
                false => SignIn::Password,
            },
        })
    }
}

/// A session as an item: every attribute, written whole at login.
pub fn session_item(session: &Session) -> Item {
    let mut item = Item::from([
        (sessions::USER_ID.to_owned(), s(session.user_id.as_str())),
        (sessions::SID.to_owned(), s(session.id.as_str())),
        (sessions::USER_AGENT.to_owned(), s(&session.client.user_agent)),
        (sessions::SOURCE_IP.to_owned(), s(&session.client.source_ip)),
        (sessions::CREATED_AT.to_owned(), n(session.created_at)),
        (sessions::LAST_REFRESHED_AT.to_owned(), n(session.last_refreshed_at)),
        (sessions::EXPIRES_AT.to_owned(), n(session.expires_at)),
        (sessions::IDLE_ENDS_AT.to_owned(), n(session.idle_ends_at)),
        (sessions::GENERATION.to_owned(), n(session.generation)),
        (sessions::CREDENTIAL_GENERATION.to_owned(), n(session.credential_generation)),
        (sessions::REFRESH_HASH.to_owned(), s(&session.current.0)),
        (sessions::AMR.to_owned(), s(session.sign_in.as_str())),
    ]);
    if let Some((hash, spent_at)) = &session.previous {
        item.insert(sessions::PREVIOUS_HASH.to_owned(), s(&hash.0));
        item.insert(sessions::PREVIOUS_SPENT_AT.to_owned(), n(*spent_at));
    }
    item
}

impl TryFrom<&Item> for AddressRecord {
    type Error = StoreError;

    fn try_from(item: &Item) -> Result<Self, StoreError> {
        Ok(AddressRecord {
            failures: get_n(item, login_attempts::FAILURES)?,
            locked_until: get_n(item, login_attempts::LOCKED_UNTIL)?,
            known_until: get_n(item, login_attempts::KNOWN_UNTIL)?,
            known_for: match get_s(item, login_attempts::KNOWN_FOR)? {
                "" => None,
                _ => Some(parsed(item, login_attempts::KNOWN_FOR, UserId::parse)?),
            },
            window_ends_at: get_n(item, login_attempts::WINDOW_ENDS_AT)?,
        })
    }
}

impl TryFrom<&Item> for NameRecord {
    type Error = StoreError;

    fn try_from(item: &Item) -> Result<Self, StoreError> {
        Ok(NameRecord {
            failures: get_n(item, login_attempts::FAILURES)?,
            expires_at: get_n(item, login_attempts::EXPIRES_AT)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::AddressAttempts;

    fn address_item(locked_until: AttributeValue) -> Item {
        Item::from([
            (login_attempts::FAILURES.to_owned(), n(6)),
            (login_attempts::LOCKED_UNTIL.to_owned(), locked_until),
            (login_attempts::KNOWN_UNTIL.to_owned(), n(0)),
            (login_attempts::KNOWN_FOR.to_owned(), s("")),
            (login_attempts::WINDOW_ENDS_AT.to_owned(), n(2000)),
            (login_attempts::EXPIRES_AT.to_owned(), n(2000)),
        ])
    }

    #[test]
    fn a_well_formed_attempts_item_decodes() {
        let record = AddressRecord::try_from(&address_item(n(1500))).unwrap();
        let live =
            AddressAttempts { failures: 6, locked_until: 1500, known_until: 0, known_for: None, stored: Some(6) };
        assert_eq!(record.clone().attempts_at(1999), live);
        assert_eq!(record.attempts_at(2000), AddressAttempts { stored: Some(6), ..AddressAttempts::default() });
    }

    #[test]
    fn a_corrupt_lock_is_a_failure_not_an_unlock() {
        for bad in [AttributeValue::N("soon".into()), AttributeValue::N("-1".into()), s("1500")] {
            let err = AddressRecord::try_from(&address_item(bad.clone())).unwrap_err();
            assert!(matches!(err, StoreError::Failed(_)), "{bad:?}: {err:?}");
        }
        let mut missing = address_item(n(1500));
        missing.remove(login_attempts::LOCKED_UNTIL);
        assert!(matches!(AddressRecord::try_from(&missing), Err(StoreError::Failed(_))));
    }

    #[test]
    fn sessions_round_trip_and_fail_on_a_missing_attribute() {
        let lifetime = crate::domain::SessionLifetime { absolute: 1000, idle: Some(100) };
        let client = Client { user_agent: "curl/8".into(), source_ip: "203.0.113.10".into() };
        let (id, user_id) = (SessionId::new_random(), UserId::new_random());
        let started = Session::start(id, user_id, client, RefreshHash("a".into()), lifetime, 5).under_credentials(2);
        let rotated = started.rotated(RefreshHash("b".into()), lifetime.idle, 50);
        for session in [started, rotated] {
            let item = session_item(&session);
            assert_eq!(Session::try_from(&item).unwrap(), session);
            let mut broken = item.clone();
            broken.remove(sessions::IDLE_ENDS_AT);
            assert!(matches!(Session::try_from(&broken), Err(StoreError::Failed(_))));
        }
    }

    #[test]
    fn users_and_credentials_with_bad_attributes_fail() {
        let user = User::new(Username::parse("kate").unwrap());
        let item = Item::from([
            (users::ID.to_owned(), s(user.id.as_str())),
            (users::USERNAME.to_owned(), s("kate")),
            (users::CREATED_AT.to_owned(), s(&user.created_at_rfc3339())),
        ]);
        assert_eq!(User::try_from(&item).unwrap(), user);
        // Stored before generations existed: the first generation.
        let mut later = item.clone();
        later.insert(users::CREDENTIAL_GENERATION.to_owned(), n(3));
        assert_eq!(User::try_from(&later).unwrap(), User { credential_generation: 3, ..user.clone() });
        let bad_generation = (users::CREDENTIAL_GENERATION, s("3"));
        for (name, bad) in
            [(users::ID, s("not-a-uuid")), (users::USERNAME, s("!")), (users::CREATED_AT, n(1)), bad_generation]
        {
            let mut corrupt = item.clone();
            corrupt.insert(name.to_owned(), bad);
            assert!(matches!(User::try_from(&corrupt), Err(StoreError::Failed(_))), "{name}");
        }
        let credentials = Item::from([(usernames::USER_ID.to_owned(), s(user.id.as_str()))]);
        assert!(matches!(Credentials::try_from(&credentials), Err(StoreError::Failed(_))), "no hash");
    }
}
