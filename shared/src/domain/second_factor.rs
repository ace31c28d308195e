//! The second factor: TOTP (RFC 6238) secrets sealed under a key of the
//! service, recovery codes kept as keyed hashes, the pending sign-in a login
//! with a factor leaves, and the methods a session was signed in with.

use std::collections::BTreeSet;

use ring::{aead, digest, hmac, rand};
use secrecy::{ExposeSecret, SecretSlice, SecretString};

use super::{Client, CodeRandomnessError, UserId};

/// Seconds in a TOTP time step.
pub const TOTP_STEP_SECONDS: u64 = 30;
/// Digits in a TOTP code.
pub const TOTP_DIGITS: usize = 6;
/// Steps either side of now a code may come from: a phone's clock that is
/// a little off, or a code typed as it changes.
pub const TOTP_SKEW_STEPS: u64 = 1;
/// Bytes in a TOTP secret: 160 bits, as RFC 4226 recommends.
pub const TOTP_SECRET_BYTES: usize = 20;
/// Recovery codes given at once.
pub const RECOVERY_CODE_COUNT: usize = 10;
/// Characters in a recovery code: 50 bits, from a 32-letter alphabet.
pub const RECOVERY_CODE_LENGTH: usize = 10;
/// How long a login may wait for its second factor.
pub const SECOND_FACTOR_WAIT_SECONDS: u64 = 300;
/// Wrong codes a pending sign-in takes before it is void.
pub const SECOND_FACTOR_TRIES: u64 = 5;

/// Crockford's base32: no I, L, O or U, so that a code read aloud or off
/// paper is typed as meant.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// RFC 4648 base32, what authenticator apps read.
const RFC4648: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

fn random_bytes<const N: usize>() -> Result<[u8; N], CodeRandomnessError> {
    let mut bytes = [0u8; N];
    rand::SecureRandom::fill(&rand::SystemRandom::new(), &mut bytes).map_err(|_| CodeRandomnessError)?;
    Ok(bytes)
}

/// A TOTP secret in the clear: only while it is shown once at enrolment or
/// checks a code. Its `Debug` output is redacted.
#[derive(Debug)]
pub struct TotpSecret(SecretSlice<u8>);

impl TotpSecret {
    /// A new secret from the system's CSPRNG.
    pub fn generate() -> Result<Self, CodeRandomnessError> {
        Ok(TotpSecret(random_bytes::<TOTP_SECRET_BYTES>()?.to_vec().into()))
    }

    /// The secret in RFC 4648 base32 without padding, as authenticator apps
    /// take it typed or in a URI.
    pub fn base32(&self) -> String {
        let mut out = String::new();
        let (mut buffer, mut bits) = (0u32, 0u32);
        for byte in self.0.expose_secret() {
            buffer = (buffer << 8) | u32::from(*byte);
            bits += 8;
            while bits >= 5 {
                bits -= 5;
                out.push(RFC4648[((buffer >> bits) & 31) as usize] as char);
            }
        }
        if bits > 0 {
            out.push(RFC4648[((buffer << (5 - bits)) & 31) as usize] as char);
        }
        out
    }

    /// A secret as [`Self::base32`] writes it (what an authenticator app is
    /// given), padding and case aside.
    pub fn from_base32(encoded: &str) -> Option<Self> {
        let (mut bytes, mut buffer, mut bits) = (Vec::new(), 0u32, 0u32);
        for c in encoded.trim_end_matches('=').bytes() {
            let value = RFC4648.iter().position(|letter| *letter == c.to_ascii_uppercase())? as u32;
            buffer = (buffer << 5) | value;
            bits += 5;
            if bits >= 8 {
                bits -= 8;
                bytes.push((buffer >> bits) as u8);
            }
        }
        (bytes.len() == TOTP_SECRET_BYTES).then(|| TotpSecret(bytes.into()))
    }

    /// The `otpauth://` URI authenticator apps scan, labelled with the
    /// issuer and the account's name.
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> String {
        let (issuer, account) = (percent_encoded(issuer), percent_encoded(account));
        format!(
            "otpauth://totp/{issuer}:{account}?secret={}&issuer={issuer}&algorithm=SHA1&digits={TOTP_DIGITS}&period={TOTP_STEP_SECONDS}",
            self.base32()
        )
    }

    /// The code of time step `step` (RFC 6238 over RFC 4226's HOTP, HMAC-SHA-1).
    pub fn code_at(&self, step: u64) -> String {
        let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, self.0.expose_secret());
        let tag = hmac::sign(&key, &step.to_be_bytes());
        let tag = tag.as_ref();
        let offset = usize::from(tag[tag.len() - 1] & 0x0f);
        let binary = u32::from_be_bytes([tag[offset] & 0x7f, tag[offset + 1], tag[offset + 2], tag[offset + 3]]);
        format!("{:0width$}", binary % 10u32.pow(TOTP_DIGITS as u32), width = TOTP_DIGITS)
    }

    /// The step `code` is of, if it is the code of a step within the skew
    /// of `now` and later than `last_used`: a code accepted once is never
    /// accepted again. Every candidate step is compared, in constant time.
    pub fn step_of(&self, code: &TotpCode, now: u64, last_used: Option<u64>) -> Option<u64> {
        let current = now / TOTP_STEP_SECONDS;
        let steps = current.saturating_sub(TOTP_SKEW_STEPS)..=current + TOTP_SKEW_STEPS;
        let mut found = None;
        for step in steps {
            let same = ring_constant_time_eq(self.code_at(step).as_bytes(), code.0.as_bytes());
            if same && last_used.is_none_or(|last| step > last) && found.is_none() {
                found = Some(step);
            }
        }
        found
    }
}

fn ring_constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Every byte but RFC 3986's unreserved characters percent-encoded.
fn percent_encoded(raw: &str) -> String {
    raw.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (byte as char).to_string(),
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// A TOTP code as a client sends it: six digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpCode(String);

impl TotpCode {
    pub fn parse(raw: &str) -> Option<Self> {
        let digits: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
        let well_formed = digits.len() == TOTP_DIGITS && digits.bytes().all(|b| b.is_ascii_digit());
        well_formed.then_some(TotpCode(digits))
    }
}

/// A recovery code: [`RECOVERY_CODE_LENGTH`] characters of Crockford's
/// base32, shown in two groups. Stored only as its keyed hash. Its `Debug`
/// output is redacted.
#[derive(Debug)]
pub struct RecoveryCode(SecretString);

impl RecoveryCode {
    pub fn generate() -> Result<Self, CodeRandomnessError> {
        // 32 divides 256: every character is uniform.
        let bytes = random_bytes::<RECOVERY_CODE_LENGTH>()?;
        Ok(RecoveryCode(bytes.iter().map(|byte| CROCKFORD[usize::from(byte % 32)] as char).collect::<String>().into()))
    }

    /// A code as typed: any case, with hyphens or spaces anywhere; O is read
    /// as 0 and I or L as 1, as Crockford's base32 reads them.
    pub fn parse(raw: &str) -> Option<Self> {
        let mut code = String::with_capacity(RECOVERY_CODE_LENGTH);
        for c in raw.chars().filter(|c| *c != '-' && !c.is_whitespace()) {
            let c = match c.to_ascii_uppercase() {
                'O' => '0',
                'I' | 'L' => '1',
                c if c.is_ascii() && CROCKFORD.contains(&(c as u8)) => c,
                _ => return None,
            };
            code.push(c);
        }
        (code.len() == RECOVERY_CODE_LENGTH).then(|| RecoveryCode(code.into()))
    }

    /// The code for its owner to keep: two groups of five.
    pub fn grouped(&self) -> String {
        let code = self.0.expose_secret();
        format!("{}-{}", &code[..5], &code[5..])
    }
}

/// A code presented as the second factor: a TOTP code or a recovery code.
#[derive(Debug)]
pub enum FactorCode {
    Totp(TotpCode),
    Recovery(RecoveryCode),
}

impl FactorCode {
    /// Either kind, told apart by their shapes; `None` for anything else,
    /// which no factor can match.
    pub fn parse(raw: &str) -> Option<Self> {
        TotpCode::parse(raw).map(FactorCode::Totp).or_else(|| RecoveryCode::parse(raw).map(FactorCode::Recovery))
    }
}

/// The service's keys for second factors, which the tables do not hold:
/// one seals TOTP secrets (AES-256-GCM, bound to their user), the other
/// hashes recovery codes. Both derive from `CODE_HASH_KEY`.
pub struct FactorKeys {
    sealing: aead::LessSafeKey,
    hashing: hmac::Key,
}

/// A TOTP secret as stored: nonce, ciphertext and tag. Useless without
/// [`FactorKeys`]; its `Debug` output is redacted all the same.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedSecret(pub Vec<u8>);

impl std::fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealedSecret([REDACTED])")
    }
}

impl FactorKeys {
    pub fn new(code_hash_key: &SecretString) -> Self {
        let master = hmac::Key::new(hmac::HMAC_SHA256, code_hash_key.expose_secret().as_bytes());
        // Labels without the NUL that separates the parts of every message
        // the key signs otherwise: no derived key is ever another's tag.
        let derive = |label: &[u8]| hmac::sign(&master, label);
        let sealing = derive(b"second-factor totp-secret sealing key");
        let sealing = aead::UnboundKey::new(&aead::AES_256_GCM, sealing.as_ref()).expect("a 32-byte key");
        let hashing = derive(b"second-factor recovery-code hashing key");
        FactorKeys {
            sealing: aead::LessSafeKey::new(sealing),
            hashing: hmac::Key::new(hmac::HMAC_SHA256, hashing.as_ref()),
        }
    }

    /// `secret`, sealed for `user_id`: it opens for that user only.
    pub fn seal(&self, user_id: &UserId, secret: &TotpSecret) -> Result<SealedSecret, CodeRandomnessError> {
        let nonce = random_bytes::<{ aead::NONCE_LEN }>()?;
        let mut sealed = secret.0.expose_secret().to_vec();
        self.sealing
            .seal_in_place_append_tag(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(user_id.as_str().as_bytes()),
                &mut sealed,
            )
            .map_err(|_| CodeRandomnessError)?;
        Ok(SealedSecret([nonce.as_slice(), &sealed].concat()))
    }

    /// The secret sealed for `user_id`, if it was sealed for them under this key.
    pub fn open(&self, user_id: &UserId, sealed: &SealedSecret) -> Option<TotpSecret> {
        let (nonce, sealed) = sealed.0.split_at_checked(aead::NONCE_LEN)?;
        let nonce = aead::Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buffer = sealed.to_vec();
        let aad = aead::Aad::from(user_id.as_str().as_bytes());
        let plain = self.sealing.open_in_place(nonce, aad, &mut buffer).ok()?;
        Some(TotpSecret(plain.to_vec().into()))
    }

    /// The keyed hash of a recovery code of `user_id`, in hex.
    pub fn recovery_hash(&self, user_id: &UserId, code: &RecoveryCode) -> String {
        let message = format!("{}\0{}", user_id, code.0.expose_secret());
        hex(hmac::sign(&self.hashing, message.as_bytes()).as_ref())
    }

    /// New recovery codes for `user_id`, and their hashes to store.
    pub fn recovery_codes(
        &self,
        user_id: &UserId,
    ) -> Result<(Vec<RecoveryCode>, BTreeSet<String>), CodeRandomnessError> {
        let codes = (0..RECOVERY_CODE_COUNT).map(|_| RecoveryCode::generate()).collect::<Result<Vec<_>, _>>()?;
        let hashes = codes.iter().map(|code| self.recovery_hash(user_id, code)).collect();
        Ok((codes, hashes))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// An active TOTP factor: its sealed secret and the last step a code was
/// accepted for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveTotp {
    pub sealed: SealedSecret,
    pub last_step: u64,
}

/// A user's second factor, as their item holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecondFactor {
    /// The factor in force, if any.
    pub totp: Option<ActiveTotp>,
    /// A secret shown at enrolment, not yet confirmed with a code of it.
    pub pending: Option<SealedSecret>,
    /// The hashes of the recovery codes not yet used.
    pub recovery_codes: BTreeSet<String>,
}

/// What an accepted code spends: a TOTP step, recorded so that no code of
/// it or before passes again, or a recovery code, deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FactorUse {
    Totp { step: u64 },
    RecoveryCode { hash: String },
}

impl FactorUse {
    /// The sign-in this use completes, after a password.
    pub fn sign_in(&self) -> SignIn {
        match self {
            FactorUse::Totp { .. } => SignIn::PasswordAndTotp,
            FactorUse::RecoveryCode { .. } => SignIn::PasswordAndRecoveryCode,
        }
    }
}

impl SecondFactor {
    pub fn is_active(&self) -> bool {
        self.totp.is_some()
    }

    /// What `code` spends, if it is a code of this factor at `now` not used
    /// before: a TOTP code of a step later than the last accepted, or one of
    /// the recovery codes left.
    pub fn accepts(&self, keys: &FactorKeys, user_id: &UserId, code: &FactorCode, now: u64) -> Option<FactorUse> {
        let totp = self.totp.as_ref()?;
        match code {
            FactorCode::Totp(code) => {
                let secret = keys.open(user_id, &totp.sealed)?;
                secret.step_of(code, now, Some(totp.last_step)).map(|step| FactorUse::Totp { step })
            }
            FactorCode::Recovery(code) => {
                let hash = keys.recovery_hash(user_id, code);
                self.recovery_codes.contains(&hash).then_some(FactorUse::RecoveryCode { hash })
            }
        }
    }
}

/// How a session was signed in: its access tokens' `amr` (RFC 8176).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignIn {
    #[default]
    Password,
    PasswordAndTotp,
    PasswordAndRecoveryCode,
    /// A passkey with user verification: what the person has, unlocked by
    /// what they know or are; a second factor in itself.
    Passkey,
}

impl SignIn {
    /// The `amr` values: a second factor shows as `otp` (a TOTP code) or
    /// `mfa` (a recovery code, which is no device's one-time password).
    pub fn amr(self) -> &'static [&'static str] {
        match self {
            SignIn::Password => &["pwd"],
            SignIn::PasswordAndTotp => &["pwd", "otp"],
            SignIn::PasswordAndRecoveryCode => &["pwd", "mfa"],
            SignIn::Passkey => &["hwk", "user"],
        }
    }

    /// The values joined by spaces: how sessions store them and the
    /// authorizer passes them on.
    pub fn as_str(self) -> &'static str {
        match self {
            SignIn::Password => "pwd",
            SignIn::PasswordAndTotp => "pwd otp",
            SignIn::PasswordAndRecoveryCode => "pwd mfa",
            SignIn::Passkey => "hwk user",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [SignIn::Password, SignIn::PasswordAndTotp, SignIn::PasswordAndRecoveryCode, SignIn::Passkey]
            .into_iter()
            .find(|sign_in| sign_in.as_str() == raw)
    }
}

/// The token a login with a second factor answers instead of a session:
/// its user, then 256 random bits. Only its SHA-256 is stored.
pub struct SecondFactorToken {
    pub user_id: UserId,
    secret: String,
}

impl std::fmt::Debug for SecondFactorToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecondFactorToken {{ user_id: {}, [REDACTED] }}", self.user_id)
    }
}

impl SecondFactorToken {
    pub fn new(user_id: UserId) -> Result<Self, CodeRandomnessError> {
        use base64::Engine;
        let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<32>()?);
        Ok(SecondFactorToken { user_id, secret })
    }

    pub fn parse(raw: &str) -> Option<Self> {
        let (user_id, secret) = raw.split_once('.')?;
        let well_formed =
            secret.len() == 43 && secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        Some(SecondFactorToken { user_id: UserId::parse(user_id)?, secret: secret.to_owned() }).filter(|_| well_formed)
    }

    pub fn encode(&self) -> String {
        format!("{}.{}", self.user_id, self.secret)
    }

    /// What is stored: the SHA-256 of the whole token, in hex.
    pub fn hash(&self) -> String {
        hex(digest::digest(&digest::SHA256, self.encode().as_bytes()).as_ref())
    }
}

/// A login waiting for its second factor: whose, under which credential
/// generation (a password changed meanwhile voids it), from which client,
/// until when, and how many wrong codes it still takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingSignIn {
    pub token_hash: String,
    pub user_id: UserId,
    pub credential_generation: u64,
    pub client: Client,
    pub expires_at: u64,
    pub tries_left: u64,
}

impl PendingSignIn {
    pub fn new(token: &SecondFactorToken, credential_generation: u64, client: Client, now: u64) -> Self {
        PendingSignIn {
            token_hash: token.hash(),
            user_id: token.user_id.clone(),
            credential_generation,
            client,
            expires_at: now + SECOND_FACTOR_WAIT_SECONDS,
            tries_left: SECOND_FACTOR_TRIES,
        }
    }

    /// Whether a code may still be tried on it at `now`.
    pub fn is_live(&self, now: u64) -> bool {
        self.tries_left > 0 && now < self.expires_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_900_000_000;

    fn keys() -> FactorKeys {
        FactorKeys::new(&SecretString::from("a-code-hash-key-for-the-tests-only-32"))
    }

    /// RFC 6238, appendix B: the SHA-1 secret "12345678901234567890" at its
    /// test times (8-digit values; a 6-digit code is their last six).
    #[test]
    fn codes_are_rfc_6238_s_test_vectors() {
        let secret = TotpSecret(b"12345678901234567890".to_vec().into());
        let vectors = [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ];
        for (time, expected) in vectors {
            assert_eq!(secret.code_at(time / TOTP_STEP_SECONDS), expected[2..], "at {time}");
        }
        assert_eq!(secret.base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        let read = TotpSecret::from_base32("gezdgnbvgy3tqojqgezdgnbvgy3tqojq").unwrap();
        assert_eq!(read.code_at(1), secret.code_at(1));
        assert!(TotpSecret::from_base32("GEZDGNBV").is_none());
    }

    #[test]
    fn a_code_passes_within_one_step_either_way_and_never_twice() {
        let secret = TotpSecret::generate().unwrap();
        let step = NOW / TOTP_STEP_SECONDS;
        let code = |step| TotpCode::parse(&secret.code_at(step)).unwrap();
        for (offset, accepted) in [(-2i64, false), (-1, true), (0, true), (1, true), (2, false)] {
            let at = step.checked_add_signed(offset).unwrap();
            assert_eq!(secret.step_of(&code(at), NOW, None), accepted.then_some(at), "offset {offset}");
        }
        // Replay: the step used last, or one before it, never passes again.
        assert_eq!(secret.step_of(&code(step), NOW, Some(step)), None);
        assert_eq!(secret.step_of(&code(step - 1), NOW, Some(step)), None);
        assert_eq!(secret.step_of(&code(step + 1), NOW, Some(step)), Some(step + 1));
    }

    #[test]
    fn secrets_open_only_for_their_user_under_their_key() {
        let (alice, bob) = (UserId::new_random(), UserId::new_random());
        let secret = TotpSecret::generate().unwrap();
        let sealed = keys().seal(&alice, &secret).unwrap();
        assert_eq!(keys().open(&alice, &sealed).unwrap().base32(), secret.base32());
        assert!(keys().open(&bob, &sealed).is_none());
        let other = FactorKeys::new(&SecretString::from("another-code-hash-key-for-the-tests"));
        assert!(other.open(&alice, &sealed).is_none());
        assert!(!format!("{sealed:?}{secret:?}").contains(&secret.base32()));
    }

    #[test]
    fn recovery_codes_are_fifty_bits_read_leniently_and_used_once() {
        let alice = UserId::new_random();
        let (codes, hashes) = keys().recovery_codes(&alice).unwrap();
        assert_eq!((codes.len(), hashes.len()), (RECOVERY_CODE_COUNT, RECOVERY_CODE_COUNT));
        let shown = codes[0].grouped();
        assert_eq!(shown.len(), 11);
        let typed = shown.to_lowercase().replace('-', " ").replace('0', "o").replace('1', "l");
        let parsed = RecoveryCode::parse(&typed).unwrap();
        assert!(hashes.contains(&keys().recovery_hash(&alice, &parsed)));
        assert!(!hashes.contains(&keys().recovery_hash(&UserId::new_random(), &parsed)));
        for raw in ["", "ABCDE-FGHJ", "ABCDE-FGHJKM", "ABCDE-FGHJU"] {
            assert!(RecoveryCode::parse(raw).is_none(), "{raw}");
        }
        let mut factor = SecondFactor {
            totp: Some(ActiveTotp {
                sealed: keys().seal(&alice, &TotpSecret::generate().unwrap()).unwrap(),
                last_step: 0,
            }),
            pending: None,
            recovery_codes: hashes,
        };
        let code = FactorCode::parse(&shown).unwrap();
        let Some(FactorUse::RecoveryCode { hash }) = factor.accepts(&keys(), &alice, &code, NOW) else { panic!() };
        factor.recovery_codes.remove(&hash);
        assert_eq!(factor.accepts(&keys(), &alice, &code, NOW), None);
    }

    #[test]
    fn the_uri_names_the_issuer_and_account() {
        let secret = TotpSecret(b"12345678901234567890".to_vec().into());
        assert_eq!(
            secret.otpauth_uri("Example Co", "alice"),
            "otpauth://totp/Example%20Co:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Example%20Co&algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn second_factor_tokens_round_trip_and_hash() {
        let token = SecondFactorToken::new(UserId::new_random()).unwrap();
        let parsed = SecondFactorToken::parse(&token.encode()).unwrap();
        assert_eq!(parsed.hash(), token.hash());
        assert!(SecondFactorToken::parse(&format!("{}x", token.encode())).is_none());
        assert!(SecondFactorToken::parse("garbage").is_none());
    }

    #[test]
    fn amr_round_trips() {
        for sign_in in [SignIn::Password, SignIn::PasswordAndTotp, SignIn::PasswordAndRecoveryCode, SignIn::Passkey] {
            assert_eq!(SignIn::parse(sign_in.as_str()), Some(sign_in));
            assert_eq!(sign_in.amr().join(" "), sign_in.as_str());
        }
    }
}
