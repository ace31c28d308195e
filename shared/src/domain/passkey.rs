//! Passkeys: the WebAuthn credentials an account signs in with, as stored
//! and as their owner sees them, and the ceremonies waiting for a browser's
//! answer. The WebAuthn rules themselves are webauthn-rs's
//! ([`crate::passkeys`]).

use serde::Serialize;

use super::session::rfc3339;
use super::UserId;

/// The most passkeys an account may hold: every one is offered to the
/// browser as excluded at the next registration.
pub const MAX_PASSKEYS_PER_USER: usize = 20;
/// How long a ceremony's state waits for the browser's answer.
pub const CEREMONY_LIFETIME_SECONDS: u64 = 300;
pub const PASSKEY_NAME_MAX_LENGTH: usize = 64;
/// The name of a passkey registered without one.
pub const DEFAULT_PASSKEY_NAME: &str = "Passkey";

/// What its owner calls a passkey: 1 to 64 characters, trimmed, no control
/// character.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyName(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PasskeyNameError {
    #[error("a passkey's name has 1 to {PASSKEY_NAME_MAX_LENGTH} characters and no control character")]
    Invalid,
}

impl PasskeyName {
    /// The name given, or [`DEFAULT_PASSKEY_NAME`] when none is.
    pub fn parse(raw: Option<&str>) -> Result<Self, PasskeyNameError> {
        let Some(raw) = raw else { return Ok(PasskeyName(DEFAULT_PASSKEY_NAME.to_owned())) };
        let name = raw.trim();
        let length = name.chars().count();
        if length == 0 || length > PASSKEY_NAME_MAX_LENGTH || name.chars().any(char::is_control) {
            return Err(PasskeyNameError::Invalid);
        }
        Ok(PasskeyName(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A passkey of a user, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyRecord {
    pub user_id: UserId,
    /// The credential's id, base64url without padding: how the browser names it.
    pub id: String,
    pub name: PasskeyName,
    pub created_at: u64,
    pub last_used_at: Option<u64>,
    /// The credential as webauthn-rs keeps it (public key, sign counter,
    /// backup state), JSON: read and written by [`crate::passkeys`] only.
    pub credential: String,
}

/// A passkey as its owner sees it: never its key.
#[derive(Debug, Serialize)]
pub struct PasskeyView {
    pub id: String,
    pub name: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

impl From<&PasskeyRecord> for PasskeyView {
    fn from(record: &PasskeyRecord) -> Self {
        PasskeyView {
            id: record.id.clone(),
            name: record.name.as_str().to_owned(),
            created_at: rfc3339(record.created_at),
            last_used_at: record.last_used_at.map(rfc3339),
        }
    }
}

/// Which ceremony a state belongs to: a user's registration (one at a time:
/// a new one replaces it) or a sign-in, named by a random id the browser
/// sends back.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CeremonyKey {
    Registration(UserId),
    SignIn(String),
}

/// A ceremony's state, from its start until the browser's answer consumes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ceremony {
    pub key: CeremonyKey,
    /// webauthn-rs's state of the ceremony, JSON: its challenge among it.
    pub state: String,
    pub expires_at: u64,
}

impl Ceremony {
    pub fn new(key: CeremonyKey, state: String, now: u64) -> Self {
        Ceremony { key, state, expires_at: now + CEREMONY_LIFETIME_SECONDS }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_bounded_and_printable() {
        assert_eq!(PasskeyName::parse(None).unwrap().as_str(), "Passkey");
        assert_eq!(PasskeyName::parse(Some("  Laptop  ")).unwrap().as_str(), "Laptop");
        assert_eq!(PasskeyName::parse(Some(&"é".repeat(64))).unwrap().as_str().chars().count(), 64);
        for bad in ["", "   ", "a\u{0}b", "line\nbreak"] {
            assert_eq!(PasskeyName::parse(Some(bad)), Err(PasskeyNameError::Invalid), "{bad:?}");
        }
        assert!(PasskeyName::parse(Some(&"x".repeat(65))).is_err());
    }

    #[test]
    fn the_view_shows_times_and_never_the_credential() {
        let record = PasskeyRecord {
            user_id: UserId::new_random(),
            id: "AAEC".into(),
            name: PasskeyName::parse(Some("Phone")).unwrap(),
            created_at: 0,
            last_used_at: None,
            credential: "{\"secret\":1}".into(),
        };
        let json = serde_json::to_value(PasskeyView::from(&record)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"id": "AAEC", "name": "Phone", "created_at": "1970-01-01T00:00:00Z", "last_used_at": null})
        );
    }
}
