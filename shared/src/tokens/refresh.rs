//! Refresh tokens: opaque to clients, 256 random bits at login, bound to one
//! session and usable once.
//!
//! A token carries its session's key (user id and session id) beside its
//! secret, so a refresh finds the session with one strongly consistent read.
//! Only the SHA-256 of the secret is stored: the secrets are random, so a
//! fast hash is enough, and a leaked table holds no usable token.
//!
//! A refresh's new token is derived from the one it spends with a keyed hash
//! (HMAC-SHA-256 under a key derived from the signing key, of either type:
//! for Ed25519, the SHA-256 of its deterministic signature of a fixed label;
//! for P-256, whose signatures are not deterministic, the HMAC of its private
//! scalar under that label. Either way the same key however its PEM or
//! PKCS#8 is written gives the same derivation). So the service
//! can give a concurrent refresh or a retry the very token the first refresh
//! returned without storing it, while nobody without the key can compute a
//! token's successor from a stolen one, and a stolen token's whole lineage
//! can be recognised (see `operations::refresh`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use ring::signature::{EcdsaKeyPair, Ed25519KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use ring::{digest, hmac, rand};

use super::KeyError;
use crate::domain::{RefreshHash, SessionId, UserId};

const SECRET_BYTES: usize = 32;
const ID_BYTES: usize = 16;
const TOKEN_BYTES: usize = 2 * ID_BYTES + SECRET_BYTES;

/// A refresh token. Its `Debug` output is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken {
    pub user_id: UserId,
    pub session_id: SessionId,
    secret: [u8; SECRET_BYTES],
}

impl std::fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RefreshToken({}, [REDACTED])", self.session_id)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the system's random number generator failed")]
pub struct RandomnessError;

fn uuid_bytes(id: &str) -> [u8; ID_BYTES] {
    // Both ids are canonical UUIDs by construction.
    uuid::Uuid::try_parse(id).map(|uuid| *uuid.as_bytes()).unwrap_or_default()
}

impl RefreshToken {
    /// The first token of a new session.
    pub fn first(user_id: UserId, session_id: SessionId) -> Result<Self, RandomnessError> {
        let mut secret = [0u8; SECRET_BYTES];
        rand::SecureRandom::fill(&rand::SystemRandom::new(), &mut secret).map_err(|_| RandomnessError)?;
        Ok(RefreshToken { user_id, session_id, secret })
    }

    /// Reads a token as clients send it; `None` for anything malformed.
    pub fn parse(raw: &str) -> Option<Self> {
        if raw.len() > 2 * TOKEN_BYTES {
            return None;
        }
        let bytes = B64.decode(raw).ok()?;
        let bytes: [u8; TOKEN_BYTES] = bytes.try_into().ok()?;
        let (user, rest) = bytes.split_at(ID_BYTES);
        let (session, secret) = rest.split_at(ID_BYTES);
        let id = |raw: &[u8]| uuid::Uuid::from_slice(raw).ok().map(|uuid| uuid.hyphenated().to_string());
        Some(RefreshToken {
            user_id: UserId::parse(&id(user)?)?,
            session_id: SessionId::parse(&id(session)?)?,
            secret: secret.try_into().ok()?,
        })
    }

    /// The token as clients hold it: URL-safe base64, no padding.
    pub fn encode(&self) -> String {
        let mut bytes = Vec::with_capacity(TOKEN_BYTES);
        bytes.extend_from_slice(&uuid_bytes(self.user_id.as_str()));
        bytes.extend_from_slice(&uuid_bytes(self.session_id.as_str()));
        bytes.extend_from_slice(&self.secret);
        B64.encode(bytes)
    }

    /// What the session stores of this token.
    pub fn hash(&self) -> RefreshHash {
        let digest = digest::digest(&digest::SHA256, &self.secret);
        RefreshHash(digest.as_ref().iter().map(|byte| format!("{byte:02x}")).collect())
    }
}

/// The key that derives each refresh token's successor.
pub struct RefreshKey(hmac::Key);

/// What the derivation of a refresh key signs, or keys its HMAC with.
const DERIVATION_LABEL: &[u8] = b"user-auth refresh token derivation v1";

impl RefreshKey {
    /// Derived from the signing key (PKCS#8 PEM, Ed25519 or P-256), which
    /// only the functions that issue tokens hold: no second secret to keep.
    pub fn from_signing_key_pem(private_key_pem: &str) -> Result<Self, KeyError> {
        let der: String = private_key_pem.lines().filter(|line| !line.starts_with("-----")).collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(der.trim())
            .map_err(KeyError::of("the signing key's PEM"))?;
        let seed = match Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der) {
            Ok(pair) => digest::digest(&digest::SHA256, pair.sign(DERIVATION_LABEL).as_ref()).as_ref().to_vec(),
            Err(_) => {
                let random = rand::SystemRandom::new();
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der, &random)
                    .map_err(|_| KeyError::new("the signing key is neither an Ed25519 nor a P-256 PKCS#8 key"))?;
                let scalar = p256_private_scalar(&der)
                    .ok_or_else(|| KeyError::new("the P-256 signing key's private scalar cannot be read"))?;
                hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, DERIVATION_LABEL), scalar).as_ref().to_vec()
            }
        };
        Ok(RefreshKey(hmac::Key::new(hmac::HMAC_SHA256, &seed)))
    }

    /// The token that replaces `parent` in its session's lineage.
    pub fn successor(&self, parent: &RefreshToken) -> RefreshToken {
        let mut context = hmac::Context::with_key(&self.0);
        context.update(parent.session_id.as_str().as_bytes());
        context.update(&parent.secret);
        let tag = context.sign();
        let mut secret = [0u8; SECRET_BYTES];
        secret.copy_from_slice(&tag.as_ref()[..SECRET_BYTES]);
        RefreshToken { secret, ..parent.clone() }
    }
}

/// The 32-byte private scalar of a P-256 key in PKCS#8 DER (RFC 5208,
/// RFC 5915), already checked by ring: the `privateKey` octet string of the
/// `PrivateKeyInfo` holds an `ECPrivateKey`, whose second field it is.
/// Optional fields after it (parameters, public key) are ignored, so every
/// encoding of one key gives the same scalar.
fn p256_private_scalar(pkcs8: &[u8]) -> Option<&[u8]> {
    const SEQUENCE: u8 = 0x30;
    const INTEGER: u8 = 0x02;
    const OCTET_STRING: u8 = 0x04;
    let (info, _) = der_field(pkcs8, SEQUENCE)?;
    let (_version, rest) = der_field(info, INTEGER)?;
    let (_algorithm, rest) = der_field(rest, SEQUENCE)?;
    let (private_key, _) = der_field(rest, OCTET_STRING)?;
    let (ec_private_key, _) = der_field(private_key, SEQUENCE)?;
    let (_version, rest) = der_field(ec_private_key, INTEGER)?;
    let (scalar, _) = der_field(rest, OCTET_STRING)?;
    (scalar.len() == 32).then_some(scalar)
}

/// The contents of the DER field of type `tag` at the start of `input`, and
/// what follows it; `None` for another type or a malformed length.
fn der_field(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&found, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    if found != tag {
        return None;
    }
    let (length, rest) = match first {
        0..=0x7f => (usize::from(first), rest),
        0x81 => (usize::from(*rest.first()?), &rest[1..]),
        0x82 => (usize::from(u16::from_be_bytes([*rest.first()?, *rest.get(1)?])), &rest[2..]),
        _ => return None,
    };
    (rest.len() >= length).then(|| rest.split_at(length))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::SigningKeyPair;

    fn token() -> RefreshToken {
        RefreshToken::first(UserId::new_random(), SessionId::new_random()).unwrap()
    }

    #[test]
    fn a_token_round_trips_and_is_url_safe() {
        let token = token();
        let encoded = token.encode();
        assert_eq!(encoded.len(), 86);
        assert!(encoded.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{encoded}");
        assert_eq!(RefreshToken::parse(&encoded), Some(token.clone()));
        assert_eq!(format!("{token:?}"), format!("RefreshToken({}, [REDACTED])", token.session_id));
    }

    fn another_key() -> RefreshKey {
        RefreshKey::from_signing_key_pem(&SigningKeyPair::generate().unwrap().private_key_pem).unwrap()
    }

    #[test]
    fn malformed_tokens_do_not_parse() {
        let encoded = token().encode();
        let not_url_safe = format!("+{}", &encoded[1..]);
        for bad in ["", "abc", &encoded[1..], &format!("{encoded}A"), &not_url_safe, &"A".repeat(85), &"é".repeat(43)]
        {
            assert_eq!(RefreshToken::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn first_tokens_are_random_and_hashes_are_sha256_hex() {
        assert_ne!(token().hash(), token().hash());
        assert_eq!(token().hash().0.len(), 64);
    }

    #[test]
    fn successors_are_deterministic_under_one_key_only() {
        for algorithm in [jsonwebtoken::Algorithm::EdDSA, jsonwebtoken::Algorithm::ES256] {
            successors_are_deterministic_under(&SigningKeyPair::generate_for(algorithm).unwrap().private_key_pem);
        }
    }

    #[test]
    fn a_p256_key_derives_one_key_whatever_its_optional_fields() {
        // ring writes the ECPrivateKey with its public key; OpenSSL may leave
        // it out, or add the curve: the scalar, and so the key, is the same.
        let pem = SigningKeyPair::generate_for(jsonwebtoken::Algorithm::ES256).unwrap().private_key_pem;
        let der = base64::engine::general_purpose::STANDARD
            .decode(pem.lines().filter(|line| !line.starts_with("-----")).collect::<String>())
            .unwrap();
        let scalar = p256_private_scalar(&der).unwrap().to_vec();
        // The same key with its ECPrivateKey reduced to version and scalar.
        let (info, _) = der_field(&der, 0x30).unwrap();
        let (_, rest) = der_field(info, 0x02).unwrap();
        let algorithm_length = rest.len() - der_field(rest, 0x30).unwrap().1.len();
        let ec_private_key = [&[0x30, 0x25, 0x02, 0x01, 0x01, 0x04, 0x20][..], &scalar].concat();
        let private_key = [&[0x04, 0x27][..], &ec_private_key].concat();
        let body = [&[0x02, 0x01, 0x00][..], &rest[..algorithm_length], &private_key].concat();
        let minimal = [&[0x30, u8::try_from(body.len()).unwrap()][..], &body].concat();
        assert_eq!(p256_private_scalar(&minimal), Some(&scalar[..]));
        assert_eq!(p256_private_scalar(&der[..der.len() - 1]), None, "a truncated key");
        assert_eq!(p256_private_scalar(b"\x30\x03\x02\x01\x00"), None);
    }

    fn successors_are_deterministic_under(pem: &str) {
        let key = RefreshKey::from_signing_key_pem(pem).unwrap();
        let parent = token();
        let child = key.successor(&parent);
        assert_eq!(child, key.successor(&parent), "a retry gets the same token");
        assert_ne!(child.hash(), parent.hash());
        assert_eq!((&child.user_id, &child.session_id), (&parent.user_id, &parent.session_id));
        assert_ne!(another_key().successor(&parent), child, "another key, another lineage");
        assert_ne!(key.successor(&child), child);
        // The same key written otherwise (CRLF line ends) derives the same lineage.
        let rewritten = RefreshKey::from_signing_key_pem(&pem.replace('\n', "\r\n")).unwrap();
        assert_eq!(rewritten.successor(&parent), child);
        assert!(RefreshKey::from_signing_key_pem("not a key").is_err());
    }
}
