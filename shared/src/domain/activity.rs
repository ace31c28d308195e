//! An account's security activity: what happened to it, when, from where
//! and in which session. Never a secret: no password, code or token is
//! ever part of an event.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::hmac;
use secrecy::{ExposeSecret, SecretString};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{Client, SessionId, UserId};

/// How many events one page of an account's activity holds, at most.
pub const MAX_ACTIVITY_PAGE: usize = 100;

macro_rules! activity_types {
    ($($variant:ident => $name:literal,)*) => {
        /// What happened. Its name is what the activity shows.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ActivityType { $($variant,)* }

        impl ActivityType {
            pub const ALL: &'static [ActivityType] = &[$(ActivityType::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(ActivityType::$variant => $name,)* }
            }

            pub fn parse(raw: &str) -> Option<Self> {
                match raw { $($name => Some(ActivityType::$variant),)* _ => None }
            }
        }
    };
}

activity_types! {
    SignedUp => "signed_up",
    LoginSucceeded => "login_succeeded",
    LoginFailed => "login_failed",
    Locked => "locked",
    SecondFactorRequired => "second_factor_required",
    SecondFactorFailed => "second_factor_failed",
    SessionRefreshed => "session_refreshed",
    RefreshTokenReused => "refresh_token_reused",
    SessionRevoked => "session_revoked",
    LoggedOut => "logged_out",
    PasswordChanged => "password_changed",
    PasswordReset => "password_reset",
    EmailAdded => "email_added",
    EmailVerified => "email_verified",
    EmailChanged => "email_changed",
    SecondFactorEnabled => "second_factor_enabled",
    SecondFactorDisabled => "second_factor_disabled",
    RecoveryCodeUsed => "recovery_code_used",
    RecoveryCodesReplaced => "recovery_codes_replaced",
    AccountDisabled => "account_disabled",
    AccountEnabled => "account_enabled",
    SignedOutByOperator => "signed_out_by_operator",
    AccountDeleted => "account_deleted",
    PasskeyAdded => "passkey_added",
    PasskeyRemoved => "passkey_removed",
}

/// One event of a user's activity. Its key orders the user's events by
/// time, to the millisecond, and a random suffix keeps two events of one
/// millisecond apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityEvent {
    pub user_id: UserId,
    pub kind: ActivityType,
    /// Unix milliseconds.
    pub at_millis: u64,
    pub suffix: String,
    /// Who sent the request, when a request caused the event.
    pub client: Option<Client>,
    /// The session the event happened in, or to.
    pub session_id: Option<SessionId>,
    /// What the type alone does not say, such as a logout's scope.
    pub detail: Option<String>,
    /// The operator who acted, for an operator's action.
    pub operator: Option<String>,
}

impl ActivityEvent {
    /// An event of the user's happening now.
    pub fn new(user_id: &UserId, kind: ActivityType) -> Self {
        let at_millis = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_millis() as u64);
        let suffix = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
        ActivityEvent {
            user_id: user_id.clone(),
            kind,
            at_millis,
            suffix,
            client: None,
            session_id: None,
            detail: None,
            operator: None,
        }
    }

    pub fn from(mut self, client: &Client) -> Self {
        self.client = Some(client.clone());
        self
    }

    pub fn in_session(mut self, session_id: &SessionId) -> Self {
        self.session_id = Some(session_id.clone());
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn by_operator(mut self, operator: impl Into<String>) -> Self {
        self.operator = Some(operator.into());
        self
    }

    /// The same event, of another type: a login's attempt, first recorded
    /// as failed, becomes its outcome.
    pub fn turned_into(&self, kind: ActivityType) -> Self {
        ActivityEvent { kind, ..self.clone() }
    }

    /// Its place in its user's history: sorts as the time does.
    pub fn key(&self) -> String {
        format!("{:013}#{}", self.at_millis, self.suffix)
    }

    /// The time and suffix of a key, if it is one.
    pub fn parse_key(key: &str) -> Option<(u64, String)> {
        let (millis, suffix) = key.split_once('#')?;
        let digits = millis.len() == 13 && millis.bytes().all(|byte| byte.is_ascii_digit());
        let hex = suffix.len() == 8 && suffix.bytes().all(|byte| byte.is_ascii_hexdigit());
        if !(digits && hex) {
            return None;
        }
        Some((millis.parse().ok()?, suffix.to_string()))
    }

    /// The time, as RFC 3339 in UTC with milliseconds.
    pub fn at(&self) -> String {
        let nanos = i128::from(self.at_millis) * 1_000_000;
        OffsetDateTime::from_unix_timestamp_nanos(nanos)
            .ok()
            .and_then(|at| at.format(&Rfc3339).ok())
            .unwrap_or_default()
    }

    /// Unix seconds at which the event is forgotten, `retention_days` after it.
    pub fn expires_at(&self, retention_days: u64) -> u64 {
        self.at_millis / 1000 + retention_days * 24 * 60 * 60
    }
}

/// One page of a user's activity, newest first, and the key of its last
/// event when more may follow.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActivityPage {
    pub events: Vec<ActivityEvent>,
    pub next: Option<String>,
}

/// The JSON form of an event, for its user (and its operators).
#[derive(Debug, serde::Serialize)]
pub struct ActivityEventView {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub at: String,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    pub session_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
}

impl ActivityEventView {
    pub fn of(event: &ActivityEvent) -> Self {
        ActivityEventView {
            kind: event.kind.as_str(),
            at: event.at(),
            source_ip: event.client.as_ref().map(|client| client.source_ip.clone()),
            user_agent: event.client.as_ref().map(|client| client.user_agent.clone()),
            session_id: event.session_id.as_ref().map(ToString::to_string),
            detail: event.detail.clone(),
            operator: event.operator.clone(),
        }
    }
}

/// Why a page of activity cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ActivityQueryError {
    #[error("limit must be a whole number from 1 to 100")]
    Limit,
    #[error("cursor is not one this service gave for this account's activity")]
    Cursor,
}

/// Signs the cursors of activity pages: a cursor names a place in one
/// user's history, and opens nothing for another user, nor once changed.
/// Derived from `CODE_HASH_KEY`, under a label of its own.
pub struct CursorKey(hmac::Key);

impl CursorKey {
    pub fn new(code_hash_key: &SecretString) -> Self {
        let master = hmac::Key::new(hmac::HMAC_SHA256, code_hash_key.expose_secret().as_bytes());
        let derived = hmac::sign(&master, b"activity page cursor key");
        CursorKey(hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref()))
    }

    fn message(user_id: &UserId, key: &str) -> Vec<u8> {
        [user_id.as_str().as_bytes(), b"\0", key.as_bytes()].concat()
    }

    /// The cursor of the page after the event keyed `key` of `user_id`.
    pub fn cursor(&self, user_id: &UserId, key: &str) -> String {
        let tag = hmac::sign(&self.0, &Self::message(user_id, key));
        format!("{}.{}", URL_SAFE_NO_PAD.encode(key), URL_SAFE_NO_PAD.encode(tag))
    }

    /// The event key a cursor names, if this key signed it for `user_id`.
    pub fn open(&self, user_id: &UserId, cursor: &str) -> Result<String, ActivityQueryError> {
        let (key, tag) = cursor.split_once('.').ok_or(ActivityQueryError::Cursor)?;
        let key = URL_SAFE_NO_PAD.decode(key).ok().and_then(|key| String::from_utf8(key).ok());
        let tag = URL_SAFE_NO_PAD.decode(tag).ok();
        let (Some(key), Some(tag)) = (key, tag) else { return Err(ActivityQueryError::Cursor) };
        let genuine = hmac::verify(&self.0, &Self::message(user_id, &key), &tag).is_ok();
        match genuine && ActivityEvent::parse_key(&key).is_some() {
            true => Ok(key),
            false => Err(ActivityQueryError::Cursor),
        }
    }
}

/// A page's size from the query string: 50 when absent.
pub fn page_limit(raw: Option<&str>) -> Result<usize, ActivityQueryError> {
    match raw {
        None => Ok(50),
        Some(raw) => match raw.parse::<usize>() {
            Ok(limit) if (1..=MAX_ACTIVITY_PAGE).contains(&limit) => Ok(limit),
            _ => Err(ActivityQueryError::Limit),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> CursorKey {
        CursorKey::new(&SecretString::from("k".repeat(32)))
    }

    #[test]
    fn every_type_parses_back_from_its_name() {
        for kind in ActivityType::ALL {
            assert_eq!(ActivityType::parse(kind.as_str()), Some(*kind));
        }
        assert_eq!(ActivityType::parse("Login_Succeeded"), None);
    }

    #[test]
    fn keys_sort_as_time_does_and_parse_back() {
        let alice = UserId::new_random();
        let first = ActivityEvent { at_millis: 999, ..ActivityEvent::new(&alice, ActivityType::SignedUp) };
        let later = ActivityEvent { at_millis: 1_000, ..ActivityEvent::new(&alice, ActivityType::LoginFailed) };
        assert!(first.key() < later.key());
        assert_eq!(ActivityEvent::parse_key(&later.key()), Some((1_000, later.suffix.clone())));
        for bad in ["", "12#abcdef01", "0000000001000#xyz", "0000000001000", "000000000100a#abcdef01"] {
            assert_eq!(ActivityEvent::parse_key(bad), None, "{bad}");
        }
        assert_eq!(later.at(), "1970-01-01T00:00:01Z");
        let now = ActivityEvent::new(&alice, ActivityType::LoggedOut);
        assert!(now.at().starts_with("20") && now.at().ends_with('Z'), "{}", now.at());
        assert_eq!(later.expires_at(90), 1 + 90 * 86_400);
    }

    #[test]
    fn a_cursor_opens_for_its_user_only_and_unchanged() {
        let (alice, bob) = (UserId::new_random(), UserId::new_random());
        let event = ActivityEvent::new(&alice, ActivityType::SignedUp);
        let cursor = key().cursor(&alice, &event.key());
        assert_eq!(key().open(&alice, &cursor), Ok(event.key()));
        assert_eq!(key().open(&bob, &cursor), Err(ActivityQueryError::Cursor));
        let other_key = CursorKey::new(&SecretString::from("j".repeat(32)));
        assert_eq!(other_key.open(&alice, &cursor), Err(ActivityQueryError::Cursor));
        let (_, tag) = cursor.split_once('.').unwrap();
        let forged = format!("{}.{tag}", URL_SAFE_NO_PAD.encode("0000000000001#00000000"));
        for bad in [forged.as_str(), "", ".", "abc", &cursor[1..]] {
            assert_eq!(key().open(&alice, bad), Err(ActivityQueryError::Cursor), "{bad}");
        }
    }

    #[test]
    fn a_page_holds_one_to_a_hundred() {
        assert_eq!(page_limit(None), Ok(50));
        assert_eq!(page_limit(Some("1")), Ok(1));
        assert_eq!(page_limit(Some("100")), Ok(100));
        for bad in ["0", "101", "-1", "ten", "", "1.5"] {
            assert_eq!(page_limit(Some(bad)), Err(ActivityQueryError::Limit), "{bad}");
        }
    }
}
