//! Password hashing with argon2id at OWASP's parameters, stored as PHC strings
//! (the parameters travel with each hash, so they can be raised later).
//!
//! Hashing costs tens of milliseconds of CPU, so it runs on tokio's blocking
//! pool, never on the async worker threads. The operations reach it through
//! the [`PasswordHasher`] port, so a test can count or replace the work.

use std::sync::Arc;

use argon2::password_hash::phc::PasswordHash as PhcHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use futures_util::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};

use crate::domain::Password;
use crate::telemetry::spawn_blocking_with_tracing;

/// OWASP Password Storage Cheat Sheet: argon2id, m = 19 MiB, t = 2, p = 1.
pub const MEMORY_KIB: u32 = 19_456;
pub const ITERATIONS: u32 = 2;
pub const PARALLELISM: u32 = 1;

/// A hash of a random password nobody knows, at the production parameters.
/// Logins for unknown usernames verify against it, so that they cost the same
/// time as logins with a wrong password.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$UsJMWMvy3pUpoGI1wEeltw$eePcaDYOo2SNmMZSR/YBtce2JmWwN4PP1nN7vmOVxOo";

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashingError(String);

/// Hashes new passwords and checks candidates against stored hashes.
pub trait PasswordHasher: Send + Sync {
    /// A hash of a new password, with a fresh random salt.
    fn hash(&self, password: Password) -> BoxFuture<'_, Result<PasswordHash, HashingError>>;

    /// Whether `candidate` matches `stored`; with no stored hash, the same work
    /// against a dummy hash and `false`, so unknown users cost what wrong
    /// passwords cost.
    fn verify(
        &self,
        candidate: SecretString,
        stored: Option<PasswordHash>,
    ) -> BoxFuture<'_, Result<bool, HashingError>>;
}

/// A hasher as the functions hold it: one per process.
pub type SharedHasher = Arc<dyn PasswordHasher>;

impl<H: PasswordHasher + ?Sized> PasswordHasher for Arc<H> {
    fn hash(&self, password: Password) -> BoxFuture<'_, Result<PasswordHash, HashingError>> {
        self.as_ref().hash(password)
    }

    fn verify(
        &self,
        candidate: SecretString,
        stored: Option<PasswordHash>,
    ) -> BoxFuture<'_, Result<bool, HashingError>> {
        self.as_ref().verify(candidate, stored)
    }
}

/// The production hasher: argon2id at [`MEMORY_KIB`], [`ITERATIONS`], [`PARALLELISM`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Argon2id;

impl PasswordHasher for Argon2id {
    fn hash(&self, password: Password) -> BoxFuture<'_, Result<PasswordHash, HashingError>> {
        Box::pin(hash_password(password))
    }

    fn verify(
        &self,
        candidate: SecretString,
        stored: Option<PasswordHash>,
    ) -> BoxFuture<'_, Result<bool, HashingError>> {
        Box::pin(verify_password(candidate, stored))
    }
}

/// The production hasher, shared.
pub fn argon2id() -> SharedHasher {
    Arc::new(Argon2id)
}

/// A PHC string such as `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    pub fn from_phc(phc: String) -> Self {
        PasswordHash(phc)
    }

    pub fn as_phc(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash([REDACTED])")
    }
}

/// After the first 19 MiB argon2 block is freed, glibc raises its mmap
/// threshold and keeps later blocks in per-thread heaps, so peak RSS grows
/// with every blocking thread that ever hashed (over 100 MiB measured). A
/// fixed threshold keeps the block mmapped and returned after each hash.
fn keep_large_blocks_mmapped() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        // SAFETY: mallopt only changes allocator tuning; it is thread-safe.
        ONCE.call_once(|| unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
        });
    }
}

fn hasher() -> Argon2<'static> {
    keep_large_blocks_mmapped();
    let params =
        Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).expect("the argon2 parameters are valid constants");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a new password with a fresh random salt.
pub async fn hash_password(password: Password) -> Result<PasswordHash, HashingError> {
    let secret = password.into_secret();
    spawn_blocking_with_tracing(move || {
        hasher()
            .hash_password(secret.expose_secret().as_bytes())
            .map(|hash| PasswordHash(hash.to_string()))
            .map_err(|err| HashingError(format!("argon2: {err}")))
    })
    .await
    .map_err(|err| HashingError(err.to_string()))?
}

/// Checks a password against a stored hash, or against the dummy hash when the
/// user does not exist; returns `true` only for a real hash that matches.
pub async fn verify_password(candidate: SecretString, stored: Option<PasswordHash>) -> Result<bool, HashingError> {
    spawn_blocking_with_tracing(move || {
        let is_real = stored.is_some();
        let phc = stored.map(|hash| hash.0).unwrap_or_else(|| DUMMY_HASH.to_owned());
        let parsed = PhcHash::new(&phc).map_err(|err| HashingError(format!("stored hash is not PHC: {err}")))?;
        let matches = hasher().verify_password(candidate.expose_secret().as_bytes(), &parsed).is_ok();
        Ok(is_real && matches)
    })
    .await
    .map_err(|err| HashingError(err.to_string()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn password(raw: &str) -> Password {
        Password::parse(SecretString::from(raw), crate::test_support::MIN_LENGTH).unwrap()
    }

    #[tokio::test]
    async fn round_trip_with_production_parameters() {
        let hash = hash_password(password("correct horse battery staple")).await.unwrap();
        assert!(hash.as_phc().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{}", hash.as_phc());
        assert!(verify_password("correct horse battery staple".into(), Some(hash.clone())).await.unwrap());
        assert!(!verify_password("correct horse battery stapl".into(), Some(hash.clone())).await.unwrap());
        assert!(!verify_password("Correct horse battery staple".into(), Some(hash)).await.unwrap());
    }

    #[tokio::test]
    async fn same_password_gets_a_different_salt_each_time() {
        let a = hash_password(password("the same long password")).await.unwrap();
        let b = hash_password(password("the same long password")).await.unwrap();
        assert_ne!(a, b);
    }

    #[tokio::test]
    async fn unknown_user_never_verifies() {
        assert!(!verify_password("anything at all, really".into(), None).await.unwrap());
        assert!(!verify_password("".into(), None).await.unwrap());
    }

    #[test]
    fn dummy_hash_uses_the_production_parameters() {
        let parsed = PhcHash::new(DUMMY_HASH).unwrap();
        assert_eq!(parsed.algorithm.as_str(), "argon2id");
        let params = Params::try_from(&parsed).unwrap();
        assert_eq!((params.m_cost(), params.t_cost(), params.p_cost()), (MEMORY_KIB, ITERATIONS, PARALLELISM));
    }

    #[test]
    fn debug_output_is_redacted() {
        let hash = PasswordHash::from_phc(DUMMY_HASH.to_owned());
        assert!(!format!("{hash:?}").contains("argon2"));
    }
}
