//! Password hashing with argon2id at OWASP's parameters, stored as PHC strings
//! (the parameters travel with each hash, so they can be raised later).
//!
//! Hashing costs tens of milliseconds of CPU, so it runs on tokio's blocking
//! pool, never on the async worker threads. The operations reach it through
//! the [`PasswordHasher`] port, so a test can count or replace the work.

use std::sync::{Arc, Mutex, TryLockError};

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash as PhcHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use futures_util::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};

use crate::domain::Password;
use crate::telemetry::spawn_blocking_with_tracing;
use crate::BoxError;

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
#[error("password hashing failed: {what}")]
pub struct HashingError {
    what: &'static str,
    #[source]
    source: Option<BoxError>,
}

impl HashingError {
    /// The failure of `what`, caused by the error it is given.
    fn of<E: Into<BoxError>>(what: &'static str) -> impl FnOnce(E) -> Self {
        move |err| HashingError { what, source: Some(err.into()) }
    }
}

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

/// argon2id's working memory, [`MEMORY_KIB`] blocks of 1 KiB, allocated once
/// per process and reused by every hash and check. A Lambda environment
/// handles one request at a time, so one set of blocks serves it all its
/// life: a fresh 19 MiB each time would be mapped and faulted in page by page
/// on every hash, a large part of argon2's own time (docs/performance.md),
/// and would grow peak RSS with every blocking thread that ever hashed. Work that
/// finds the blocks busy (several hashes at once: tests, local runs) gets
/// blocks of its own; a hash made at more memory (an older deployment's
/// parameters) grows them.
static BLOCKS: Mutex<Vec<Block>> = Mutex::new(Vec::new());

/// Runs `work` on `count` blocks: the process's own when free (grown to
/// `count` if they are fewer), else a buffer of this call's own.
fn with_blocks<R>(count: usize, work: impl FnOnce(&mut [Block]) -> R) -> R {
    let blocks = match BLOCKS.try_lock() {
        Ok(blocks) => Some(blocks),
        // A panic mid-hash leaves nothing to distrust: every hash fills
        // the blocks it uses before reading them.
        Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
        Err(TryLockError::WouldBlock) => None,
    };
    keep_large_blocks_mmapped();
    match blocks {
        Some(mut blocks) => {
            if blocks.len() < count {
                blocks.resize(count, Block::default());
            }
            work(&mut blocks[..count])
        }
        None => work(&mut vec![Block::default(); count]),
    }
}

/// For the buffers of [`with_blocks`]' own: after the first 19 MiB buffer is
/// freed, glibc raises its mmap threshold and keeps later ones in per-thread
/// heaps, so peak RSS would grow with every thread that hashed at the same
/// time as another (docs/performance.md). A fixed threshold keeps such
/// buffers mmapped and returned when freed.
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

fn params() -> Params {
    Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).expect("the argon2 parameters are valid constants")
}

fn argon2_error<E: Into<BoxError>>(err: E) -> HashingError {
    HashingError::of("argon2")(err)
}

/// The PHC string of a new password, with a fresh random salt.
fn hash_blocking(password: &[u8]) -> Result<PasswordHash, HashingError> {
    let params = params();
    let salt = Salt::generate();
    let mut output = vec![0u8; params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN)];
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    with_blocks(params.block_count(), |blocks| {
        argon2.hash_password_into_with_memory(password, &salt, &mut output, blocks)
    })
    .map_err(argon2_error)?;
    let phc = PhcHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(argon2_error)?,
        salt: Some(salt),
        hash: Some(Output::new(&output).map_err(argon2_error)?),
    };
    Ok(PasswordHash(phc.to_string()))
}

/// Whether `candidate` is the password of a PHC string: argon2 run at the
/// string's own algorithm, version and parameters, and the outputs compared
/// in constant time ([`Output`]'s equality).
fn verify_blocking(candidate: &[u8], phc: &str) -> Result<bool, HashingError> {
    let parsed = PhcHash::new(phc).map_err(HashingError::of("the stored hash is not PHC"))?;
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return Err(HashingError { what: "the stored hash has no salt or output", source: None });
    };
    let algorithm = Algorithm::try_from(parsed.algorithm.as_str()).map_err(argon2_error)?;
    let version = parsed.version.map(Version::try_from).transpose().map_err(argon2_error)?.unwrap_or_default();
    let params = Params::try_from(&parsed).map_err(argon2_error)?;
    let mut output = vec![0u8; expected.len()];
    let argon2 = Argon2::new(algorithm, version, params.clone());
    with_blocks(params.block_count(), |blocks| {
        argon2.hash_password_into_with_memory(candidate, salt, &mut output, blocks)
    })
    .map_err(argon2_error)?;
    Ok(Output::new(&output).map_err(argon2_error)? == *expected)
}

/// Hashes a new password with a fresh random salt.
pub async fn hash_password(password: Password) -> Result<PasswordHash, HashingError> {
    let secret = password.into_secret();
    spawn_blocking_with_tracing(move || hash_blocking(secret.expose_secret().as_bytes()))
        .await
        .map_err(HashingError::of("the blocking pool"))?
}

/// Checks a password against a stored hash, or against the dummy hash when the
/// user does not exist; returns `true` only for a real hash that matches.
pub async fn verify_password(candidate: SecretString, stored: Option<PasswordHash>) -> Result<bool, HashingError> {
    spawn_blocking_with_tracing(move || {
        let is_real = stored.is_some();
        let phc = stored.map(|hash| hash.0).unwrap_or_else(|| DUMMY_HASH.to_owned());
        let matches = verify_blocking(candidate.expose_secret().as_bytes(), &phc)?;
        Ok(is_real && matches)
    })
    .await
    .map_err(HashingError::of("the blocking pool"))?
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

    #[tokio::test]
    async fn hashes_are_argon2s_own_phc_strings_both_ways() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let reference = Argon2::new(Algorithm::Argon2id, Version::V0x13, params());
        // Ours, checked by the argon2 crate's own verifier.
        let ours = hash_password(password("correct horse battery staple")).await.unwrap();
        let parsed = PhcHash::new(ours.as_phc()).unwrap();
        assert!(reference.verify_password(b"correct horse battery staple", &parsed).is_ok());
        assert!(reference.verify_password(b"correct horse battery stapler", &parsed).is_err());
        // The crate's, at other parameters (as an older deployment's), checked by ours.
        let older = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(4096, 3, 1, None).unwrap());
        let theirs = older.hash_password(b"an older long password").unwrap().to_string();
        let theirs = PasswordHash::from_phc(theirs);
        assert!(verify_password("an older long password".into(), Some(theirs.clone())).await.unwrap());
        assert!(!verify_password("an older long passwore".into(), Some(theirs)).await.unwrap());
    }

    #[test]
    fn the_working_memory_is_kept_and_reused() {
        verify_blocking(b"a first check", DUMMY_HASH).unwrap();
        let first = BLOCKS.lock().unwrap().as_ptr();
        verify_blocking(b"a second check", DUMMY_HASH).unwrap();
        // A hash at less memory works in the same blocks.
        let smaller = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(1024, 1, 1, None).unwrap());
        use argon2::password_hash::PasswordHasher as _;
        let phc = smaller.hash_password(b"a smaller hash").unwrap().to_string();
        assert!(verify_blocking(b"a smaller hash", &phc).unwrap());
        let blocks = BLOCKS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        assert!(blocks.len() >= MEMORY_KIB as usize);
        assert_eq!(blocks.as_ptr(), first, "the same blocks, not a new allocation");
    }

    #[test]
    fn a_hash_without_salt_or_output_is_an_error() {
        assert!(verify_blocking(b"x", "$argon2id$v=19$m=19456,t=2,p=1").is_err());
        assert!(verify_blocking(b"x", "not a hash").is_err());
    }

    #[test]
    fn debug_output_is_redacted() {
        let hash = PasswordHash::from_phc(DUMMY_HASH.to_owned());
        assert!(!format!("{hash:?}").contains("argon2"));
    }
}
