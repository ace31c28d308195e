//! Refresh tokens: opaque to clients, 256 random bits at login, bound to one
//! session and usable once.
//!
//! A token carries its session's key (user id and session id) beside its
//! secret, so a refresh finds the session with one strongly consistent read.
//! Only the SHA-256 of the secret is stored: the secrets are random, so a
//! fast hash is enough, and a leaked table holds no usable token.
//!
//! A refresh's new token is derived from the one it spends with a keyed hash
//! (HMAC-SHA-256 under a key derived from the signing key). So the service
//! can give a concurrent refresh or a retry the very token the first refresh
//! returned without storing it, while nobody without the key can compute a
//! token's successor from a stolen one, and a stolen token's whole lineage
//! can be recognised (see `operations::refresh`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use ring::{digest, hmac, rand};

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

impl RefreshKey {
    /// Derived from the signing key's PEM, which only the functions that
    /// issue tokens hold, under a label of its own: no second secret to keep.
    pub fn from_signing_key_pem(private_key_pem: &str) -> Self {
        let mut context = digest::Context::new(&digest::SHA256);
        context.update(b"user-auth refresh token derivation v1\0");
        context.update(private_key_pem.trim().as_bytes());
        RefreshKey(hmac::Key::new(hmac::HMAC_SHA256, context.finish().as_ref()))
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

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(!format!("{token:?}").contains(&encoded[40..]));
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
        let key = RefreshKey::from_signing_key_pem("key one");
        let parent = token();
        let child = key.successor(&parent);
        assert_eq!(child, key.successor(&parent), "a retry gets the same token");
        assert_ne!(child.hash(), parent.hash());
        assert_eq!(
            (child.user_id.clone(), child.session_id.clone()),
            (parent.user_id.clone(), parent.session_id.clone())
        );
        assert_ne!(RefreshKey::from_signing_key_pem("key two").successor(&parent), child);
        assert_ne!(key.successor(&child), child);
    }
}
