use ring::{hmac, rand};
use secrecy::{ExposeSecret, SecretString};

use super::{EmailAddress, UserId};

/// Digits in a code: 10^8 codes, of which an attacker gets [`CODE_TRIES`] guesses.
pub const CODE_DIGITS: usize = 8;
/// How long a code is valid after it is sent: 15 minutes.
pub const CODE_LIFETIME_SECONDS: u64 = 15 * 60;
/// Wrong codes a pending code takes before it is void.
pub const CODE_TRIES: u64 = 5;

/// What a code proves. Part of what is hashed, so that a code sent for one
/// purpose never passes for another, nor for another user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodePurpose {
    /// That the user reads the mail of the address on their profile.
    VerifyEmail,
    /// That the user reads the mail of the account's verified address, and
    /// may set a new password without the old one.
    Recovery,
}

impl CodePurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            CodePurpose::VerifyEmail => "verify-email",
            CodePurpose::Recovery => "recovery",
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the system's random number generator failed")]
pub struct CodeRandomnessError;

/// A one-time code as the user reads it in a mail: [`CODE_DIGITS`] digits.
/// A secret: its `Debug` output is redacted, and it is stored only as its
/// keyed hash ([`CodeHasher`]).
#[derive(Debug)]
pub struct OneTimeCode(SecretString);

impl OneTimeCode {
    /// A new code, uniform over every [`CODE_DIGITS`]-digit string, from the
    /// system's CSPRNG.
    pub fn generate() -> Result<Self, CodeRandomnessError> {
        const CODES: u64 = 10u64.pow(CODE_DIGITS as u32);
        // The largest multiple of CODES a u64 holds: draws at or above it
        // are drawn again, so that no code is likelier than another.
        let zone = u64::MAX - u64::MAX % CODES;
        let random = rand::SystemRandom::new();
        loop {
            let mut bytes = [0u8; 8];
            rand::SecureRandom::fill(&random, &mut bytes).map_err(|_| CodeRandomnessError)?;
            let draw = u64::from_le_bytes(bytes);
            if draw < zone {
                return Ok(OneTimeCode(format!("{:0width$}", draw % CODES, width = CODE_DIGITS).into()));
            }
        }
    }

    /// A code as a client sends it: its digits, spaces around them allowed.
    /// `None` for anything else, which no pending code can match.
    pub fn parse(raw: &str) -> Option<Self> {
        let digits = raw.trim();
        let well_formed = digits.len() == CODE_DIGITS && digits.bytes().all(|b| b.is_ascii_digit());
        well_formed.then(|| OneTimeCode(digits.to_owned().into()))
    }

    /// The digits, for the mail that carries them.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

/// Hashes codes under a key of the service, which the tables do not hold:
/// a leaked `codes` item is no code, and a code cannot be found from its
/// hash by trying the 10^8 of them without the key.
pub struct CodeHasher {
    key: hmac::Key,
}

impl CodeHasher {
    pub fn new(key: &SecretString) -> Self {
        CodeHasher { key: hmac::Key::new(hmac::HMAC_SHA256, key.expose_secret().as_bytes()) }
    }

    fn message(purpose: CodePurpose, user_id: &UserId, code: &OneTimeCode) -> String {
        format!("{}\0{}\0{}", purpose.as_str(), user_id, code.expose())
    }

    /// The keyed hash of `code` for `purpose` and `user_id`, in hex.
    pub fn hash(&self, purpose: CodePurpose, user_id: &UserId, code: &OneTimeCode) -> String {
        let tag = hmac::sign(&self.key, Self::message(purpose, user_id, code).as_bytes());
        tag.as_ref().iter().map(|byte| format!("{byte:02x}")).collect()
    }

    /// Whether `code` hashes to `stored`, compared in constant time.
    pub fn matches(&self, purpose: CodePurpose, user_id: &UserId, code: &OneTimeCode, stored: &str) -> bool {
        let Some(tag) = from_hex(stored) else { return false };
        hmac::verify(&self.key, Self::message(purpose, user_id, code).as_bytes(), &tag).is_ok()
    }
}

fn from_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len()).step_by(2).map(|at| u8::from_str_radix(hex.get(at..at + 2)?, 16).ok()).collect()
}

/// A code sent and not yet used: one per user and purpose, so that storing
/// a new one voids the one before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingCode {
    pub user_id: UserId,
    pub purpose: CodePurpose,
    /// The keyed hash of the code ([`CodeHasher::hash`]).
    pub hash: String,
    /// The address the code was sent to, which it proves.
    pub email: EmailAddress,
    /// Unix seconds: the code is refused from then on.
    pub expires_at: u64,
    /// Wrong codes it still takes; at 0 it is void.
    pub tries_left: u64,
}

/// What a presented code does to a pending one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    /// It is the code, in time, with tries left: consume it.
    Accepted,
    /// A wrong code for a live pending code: one of its tries is spent.
    Wrong,
    /// The pending code is expired or out of tries: nothing can pass.
    Void,
}

impl PendingCode {
    /// A new pending code for `code`, sent to `email` at `now`.
    pub fn new(
        hasher: &CodeHasher,
        purpose: CodePurpose,
        user_id: UserId,
        code: &OneTimeCode,
        email: EmailAddress,
        now: u64,
    ) -> Self {
        let hash = hasher.hash(purpose, &user_id, code);
        PendingCode { user_id, purpose, hash, email, expires_at: now + CODE_LIFETIME_SECONDS, tries_left: CODE_TRIES }
    }

    pub fn check(&self, hasher: &CodeHasher, presented: Option<&OneTimeCode>, now: u64) -> CodeCheck {
        if self.tries_left == 0 || now >= self.expires_at {
            return CodeCheck::Void;
        }
        match presented {
            Some(code) if hasher.matches(self.purpose, &self.user_id, code, &self.hash) => CodeCheck::Accepted,
            _ => CodeCheck::Wrong,
        }
    }

    /// The pending code once a wrong code has spent one of its tries.
    pub fn after_wrong_code(&self) -> PendingCode {
        PendingCode { tries_left: self.tries_left.saturating_sub(1), ..self.clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_900_000_000;

    fn hasher() -> CodeHasher {
        CodeHasher::new(&SecretString::from("a-code-hash-key-for-the-tests-only-32"))
    }

    fn pending(code: &OneTimeCode) -> PendingCode {
        let email = EmailAddress::parse("alice@example.org").unwrap();
        PendingCode::new(&hasher(), CodePurpose::VerifyEmail, UserId::new_random(), code, email, NOW)
    }

    #[test]
    fn codes_are_eight_digits_and_differ() {
        let codes: Vec<String> = (0..200).map(|_| OneTimeCode::generate().unwrap().expose().to_owned()).collect();
        assert!(codes.iter().all(|code| code.len() == 8 && code.bytes().all(|b| b.is_ascii_digit())));
        let distinct: std::collections::BTreeSet<_> = codes.iter().collect();
        assert!(distinct.len() > 195, "{} distinct codes of 200", distinct.len());
        assert_eq!(format!("{:?}", OneTimeCode::parse("12345678").unwrap()), "OneTimeCode(SecretBox<str>([REDACTED]))");
    }

    #[test]
    fn only_eight_digits_parse() {
        assert_eq!(OneTimeCode::parse(" 01234567 ").unwrap().expose(), "01234567");
        for raw in ["", "1234567", "123456789", "1234 5678", "abcdefgh", "１２３４５６７８"] {
            assert!(OneTimeCode::parse(raw).is_none(), "{raw:?}");
        }
    }

    #[test]
    fn the_stored_hash_is_keyed_and_bound_to_purpose_and_user() {
        let code = OneTimeCode::parse("48213957").unwrap();
        let pending = pending(&code);
        assert!(!pending.hash.contains("48213957"));
        assert_eq!(pending.hash.len(), 64);
        let other_key = CodeHasher::new(&SecretString::from("another-key-another-key-another-key"));
        assert_ne!(other_key.hash(CodePurpose::VerifyEmail, &pending.user_id, &code), pending.hash);
        assert_ne!(hasher().hash(CodePurpose::VerifyEmail, &UserId::new_random(), &code), pending.hash);
    }

    #[test]
    fn the_right_code_in_time_is_accepted() {
        let code = OneTimeCode::generate().unwrap();
        let pending = pending(&code);
        assert_eq!(pending.check(&hasher(), Some(&code), NOW), CodeCheck::Accepted);
        assert_eq!(pending.check(&hasher(), Some(&code), NOW + CODE_LIFETIME_SECONDS - 1), CodeCheck::Accepted);
    }

    #[test]
    fn a_code_expires_after_fifteen_minutes() {
        let code = OneTimeCode::generate().unwrap();
        let pending = pending(&code);
        assert_eq!(pending.check(&hasher(), Some(&code), NOW + CODE_LIFETIME_SECONDS), CodeCheck::Void);
    }

    #[test]
    fn five_wrong_codes_void_it() {
        let code = OneTimeCode::parse("11111111").unwrap();
        let wrong = OneTimeCode::parse("22222222").unwrap();
        let mut pending = pending(&code);
        for _ in 0..CODE_TRIES {
            assert_eq!(pending.check(&hasher(), Some(&wrong), NOW), CodeCheck::Wrong);
            pending = pending.after_wrong_code();
        }
        assert_eq!(pending.tries_left, 0);
        assert_eq!(pending.check(&hasher(), Some(&code), NOW), CodeCheck::Void);
        // A malformed code is a wrong one: it spends a try too.
        let fresh = self::pending(&code);
        assert_eq!(fresh.check(&hasher(), None, NOW), CodeCheck::Wrong);
    }

    #[test]
    fn a_new_code_voids_the_one_before() {
        let first = OneTimeCode::parse("11111111").unwrap();
        let second = OneTimeCode::parse("22222222").unwrap();
        let old = pending(&first);
        // A new code is a new pending code for the same user and purpose,
        // stored over the old one.
        let new = PendingCode::new(&hasher(), old.purpose, old.user_id.clone(), &second, old.email.clone(), NOW + 60);
        assert_eq!(new.check(&hasher(), Some(&first), NOW + 60), CodeCheck::Wrong);
        assert_eq!(new.check(&hasher(), Some(&second), NOW + 60), CodeCheck::Accepted);
    }
}
