use std::collections::HashSet;
use std::sync::OnceLock;

use secrecy::{ExposeSecret, SecretString};
use unicode_normalization::UnicodeNormalization;

use super::Username;

/// No password is longer than this, in Unicode characters.
pub const PASSWORD_MAX_LENGTH: usize = 256;

/// Common passwords of 8 characters or more, lower-cased: refused at sign-up,
/// as NIST SP 800-63B asks. From `@zxcvbn-ts/language-common` (MIT), see
/// `scripts/generate-common-passwords`.
const COMMON_PASSWORDS: &str = include_str!("../../data/common-passwords.txt");

fn is_common(password: &str) -> bool {
    static LIST: OnceLock<HashSet<&'static str>> = OnceLock::new();
    let list = LIST.get_or_init(|| COMMON_PASSWORDS.lines().filter(|line| !line.starts_with("# ")).collect());
    list.contains(password.to_lowercase().as_str())
}

/// Why a password does not meet the sign-up policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("a password must be at least {min_length} characters long")]
    TooShort { min_length: usize },
    #[error("a password must be at most {} characters long", PASSWORD_MAX_LENGTH)]
    TooLong,
    #[error("this password is too common: it appears in lists of leaked passwords")]
    Common,
    #[error("the new password must differ from the current one")]
    Unchanged,
    #[error("a password must not contain the username")]
    ContainsUsername,
    #[error("a password must not contain the name of the service")]
    ContainsServiceName,
}

/// The service's own name, as letters and digits: no password may contain it
/// (OWASP ASVS 5.0, 6.2.11).
const SERVICE_NAME: &str = "userauth";

/// A password as typed, in Unicode normalisation form NFKC (NIST SP
/// 800-63B-4, 3.1.1.2): the same password typed on two keyboards, composed
/// or decomposed, full-width or not, is one password. Every password is
/// normalised before it is measured, listed or hashed.
pub fn normalized(raw: &SecretString) -> SecretString {
    SecretString::from(raw.expose_secret().nfkc().collect::<String>())
}

/// Letters and digits only, lower-cased: how a password is searched for
/// words it must not contain, whatever separates or capitalises them.
fn letters_and_digits(text: &str) -> String {
    text.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

/// A password that meets the sign-up policy. Kept secret: its `Debug` output is
/// redacted and its memory is zeroed on drop.
pub struct Password(SecretString);

impl Password {
    /// Normalises the password (NFKC), checks its length, counted in Unicode
    /// characters (NIST SP 800-63B), and refuses common passwords: no
    /// composition rules, no truncation.
    pub fn parse(raw: SecretString, min_length: usize) -> Result<Self, PasswordError> {
        let raw = normalized(&raw);
        let length = raw.expose_secret().chars().count();
        if length < min_length {
            return Err(PasswordError::TooShort { min_length });
        }
        if length > PASSWORD_MAX_LENGTH {
            return Err(PasswordError::TooLong);
        }
        if is_common(raw.expose_secret()) {
            return Err(PasswordError::Common);
        }
        Ok(Password(raw))
    }

    /// [`Password::parse`], and refuses a password that contains the
    /// username (whatever its case) or the service's name: what sign-up and
    /// password change accept.
    pub fn parse_for(username: &Username, raw: SecretString, min_length: usize) -> Result<Self, PasswordError> {
        let password = Self::parse(raw, min_length)?;
        let words = letters_and_digits(password.0.expose_secret());
        if words.contains(&letters_and_digits(username.as_str())) {
            return Err(PasswordError::ContainsUsername);
        }
        if words.contains(SERVICE_NAME) {
            return Err(PasswordError::ContainsServiceName);
        }
        Ok(password)
    }

    /// A password kept as typed, as every password was before passwords were
    /// normalised: for tests of the hashes made then.
    #[cfg(test)]
    pub(crate) fn as_typed(raw: &str) -> Self {
        Password(raw.into())
    }

    pub fn into_secret(self) -> SecretString {
        self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password([REDACTED])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::ApiError;

    fn parse(raw: &str, min: usize) -> Result<Password, PasswordError> {
        Password::parse(SecretString::from(raw), min)
    }

    #[test]
    fn enforces_the_configured_minimum() {
        assert!(parse(&"x".repeat(14), 15).is_err());
        assert!(parse(&"x".repeat(15), 15).is_ok());
        assert!(parse(&"x".repeat(11), 12).is_err());
        assert!(parse(&"x".repeat(12), 12).is_ok());
    }

    #[test]
    fn counts_unicode_characters_not_bytes() {
        // 15 characters, 45 bytes.
        assert!(parse(&"€".repeat(15), 15).is_ok());
        // 14 characters of 4 bytes each would pass a byte count.
        assert!(parse(&"🔑".repeat(14), 15).is_err());
    }

    #[test]
    fn enforces_the_maximum_without_truncating() {
        assert!(parse(&"é".repeat(256), 15).is_ok());
        let err = parse(&"é".repeat(257), 15).unwrap_err();
        assert_eq!(err, PasswordError::TooLong);
        assert_eq!(ApiError::from(err).code(), "invalid_password");
    }

    #[test]
    fn has_no_composition_rules() {
        assert!(parse("all lower case words here", 15).is_ok());
    }

    #[test]
    fn common_passwords_are_refused_whatever_their_case() {
        for common in ["111222333444555", "1234567887654321", "PASSWORD1", "iloveyou"] {
            let err = parse(common, 8).unwrap_err();
            assert_eq!(ApiError::from(err).code(), "invalid_password", "{common}");
            assert!(err.to_string().contains("common"));
        }
        assert!(parse("a rather uncommon passphrase", 8).is_ok());
        // The list's header is not a password.
        assert!(!is_common("# 17950 common passwords"));
    }

    #[test]
    fn passwords_are_normalised_before_they_are_measured_or_listed() {
        // "é" composed (1 character) and decomposed (2): the same password.
        let composed = parse(&"\u{e9}".repeat(15), 15).unwrap().into_secret();
        let decomposed = parse(&"e\u{301}".repeat(8), 15).unwrap_err();
        assert_eq!(decomposed, PasswordError::TooShort { min_length: 15 }, "8 characters once composed");
        let decomposed = parse(&"e\u{301}".repeat(15), 15).unwrap().into_secret();
        assert_eq!(composed.expose_secret(), decomposed.expose_secret());
        // Full-width letters are the common password they spell.
        assert_eq!(
            parse("\u{ff30}\u{ff21}\u{ff33}\u{ff33}\u{ff37}\u{ff2f}\u{ff32}\u{ff24}1", 8).unwrap_err(),
            PasswordError::Common
        );
    }

    #[test]
    fn a_password_may_not_contain_the_username_or_the_service_name() {
        let alice = Username::parse("alice.smith").unwrap();
        for bad in ["my name is Alice-Smith ok", "ALICESMITH and more words"] {
            let err = Password::parse_for(&alice, bad.into(), 15).unwrap_err();
            assert_eq!(err, PasswordError::ContainsUsername, "{bad}");
        }
        let err = Password::parse_for(&alice, "my User Auth password here".into(), 15).unwrap_err();
        assert_eq!(err, PasswordError::ContainsServiceName);
        assert!(Password::parse_for(&alice, "correct horse battery staple".into(), 15).is_ok());
        // The other rules first: a short one is short.
        let err = Password::parse_for(&alice, "alicesmith".into(), 15).unwrap_err();
        assert_eq!(err, PasswordError::TooShort { min_length: 15 });
    }

    #[test]
    fn debug_output_is_redacted() {
        let password = parse("correct horse battery staple", 15).unwrap();
        assert!(!format!("{password:?}").contains("horse"));
    }
}
