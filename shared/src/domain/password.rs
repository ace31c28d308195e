use std::collections::HashSet;
use std::sync::OnceLock;

use secrecy::{ExposeSecret, SecretString};

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
}

/// A password that meets the sign-up policy. Kept secret: its `Debug` output is
/// redacted and its memory is zeroed on drop.
pub struct Password(SecretString);

impl Password {
    /// Checks the length, counted in Unicode characters (NIST SP 800-63B), and
    /// refuses common passwords: no composition rules, no truncation.
    pub fn parse(raw: SecretString, min_length: usize) -> Result<Self, PasswordError> {
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
    fn debug_output_is_redacted() {
        let password = parse("correct horse battery staple", 15).unwrap();
        assert!(!format!("{password:?}").contains("horse"));
    }
}
