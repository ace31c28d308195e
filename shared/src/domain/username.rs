const MIN_LENGTH: usize = 3;
const MAX_LENGTH: usize = 32;

/// Why a raw string is not a username.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    #[error("a username must be 3 to 32 characters long")]
    Length,
    #[error("a username may only contain the letters a-z, digits, '.', '_' and '-'")]
    Alphabet,
    #[error("a username must start with a letter or a digit")]
    Start,
}

/// A username: 3 to 32 characters of `a-z 0-9 . _ -`, starting with a letter
/// or a digit. Case-insensitive: it is kept in lower case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, UsernameError> {
        let name = raw.to_ascii_lowercase();
        let length = name.chars().count();
        if !(MIN_LENGTH..=MAX_LENGTH).contains(&length) {
            return Err(UsernameError::Length);
        }
        if !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b)) {
            return Err(UsernameError::Alphabet);
        }
        if !name.as_bytes()[0].is_ascii_alphanumeric() {
            return Err(UsernameError::Start);
        }
        Ok(Username(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Username {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_valid(raw: &str) -> bool {
        Username::parse(raw).is_ok()
    }

    #[test]
    fn accepts_the_allowed_alphabet_and_lengths() {
        assert!(is_valid("abc"));
        assert!(is_valid("a1._-z"));
        assert!(is_valid("9lives"));
        assert!(is_valid(&"a".repeat(32)));
    }

    #[test]
    fn stores_the_lower_case_form() {
        assert_eq!(Username::parse("Alice.Smith").unwrap().as_str(), "alice.smith");
    }

    #[test]
    fn rejects_bad_lengths() {
        assert!(!is_valid(""));
        assert!(!is_valid("ab"));
        assert!(!is_valid(&"a".repeat(33)));
    }

    #[test]
    fn rejects_characters_outside_the_alphabet() {
        for bad in ["al ice", "alice!", "ålice", "al\u{0}ice", "alice\n", "al@ce", "\u{212A}elvin"] {
            assert!(!is_valid(bad), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn must_start_with_a_letter_or_digit() {
        for bad in [".alice", "_alice", "-alice"] {
            let err = Username::parse(bad).unwrap_err();
            assert_eq!(err, UsernameError::Start, "{bad:?}");
            assert_eq!(crate::ApiError::from(err).code(), "invalid_username", "{bad:?}");
        }
    }
}
