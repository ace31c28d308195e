//! Brute-force defence for every password check: login, password change and
//! account deletion all go through it. Two counts, both claimed before any
//! argon2 work, so that guesses sent at once cannot pass a check that has
//! not counted them yet:
//!
//! - per username and source address, after Amazon Cognito's scheme: five
//!   failures are free; each further one locks that pair for 2^(n-5) seconds,
//!   at most 15 minutes (plus up to a second, as the clock counts whole
//!   seconds); the failures are forgotten 15 minutes after the last one, or
//!   after its lock ends;
//! - per username alone, from every address that has not logged in to that
//!   name: at 100 failures without a success between them (NIST SP 800-63B-4,
//!   3.2.2) the name is closed to such addresses until a login succeeds, or
//!   30 days pass without a failure.
//!
//! A success forgets both counts and makes its address known to the user
//! (not the name: a name deleted and signed up again is a new user) for 90
//! days. An attacker elsewhere can neither lock the owner's known
//! addresses (each pair counts on its own) nor close them (the name's cap
//! does not apply to them); an attacker spread over any number of addresses
//! gets at most 100 guesses between two successes. Unknown usernames are
//! counted and locked the same way, so a lock says nothing about whether a
//! user exists.
//!
//! Each attempt is counted as a failure when it is claimed, and forgotten if
//! it succeeds; so a guess whose outcome is never written still counts, and a
//! claim that cannot be written stops the check before argon2 (503). A claim
//! is conditional on the address's count being the one just read and on no
//! lock holding: of concurrent attempts from one address, one is claimed and
//! the others are refused (429, retry after a second), and a claim can never
//! shorten a lock. The time is the caller's clock reading.

pub use crate::domain::{AddressAttempts, AddressClaim, AddressRecord, NameAttempts, NameClaim, NameRecord, Standing};
use crate::domain::{UserId, Username};
use crate::store::{LoginAttemptStore, StoreError};

/// Failures from one address allowed before its first lock.
pub const FREE_FAILURES: u64 = 5;
/// An address's failures are forgotten this long after the last one (or after its lock ends).
pub const WINDOW_SECONDS: u64 = 15 * 60;
/// The longest lock of an address.
pub const MAX_LOCK_SECONDS: u64 = 15 * 60;
/// Failures from unknown addresses, without a success between them, that close a name to them.
pub const MAX_CONSECUTIVE_FAILURES: u64 = 100;
/// A name's count is forgotten this long after its last failure.
pub const NAME_WINDOW_SECONDS: u64 = 30 * 24 * 60 * 60;
/// An address that logged in to a name stays known to it this long.
pub const KNOWN_ADDRESS_SECONDS: u64 = 90 * 24 * 60 * 60;

/// An attempt that was claimed, to be forgotten if it succeeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claimed {
    /// The address's failures, this attempt included.
    pub failures: u64,
    /// The name's count holds failures to forget on a success.
    name_counted: bool,
}

impl Claimed {
    /// The attempt a login with a second factor claimed and left counted,
    /// for the request that completes it with a code: everything counted
    /// at the name is forgotten.
    pub fn left_to_the_second_factor() -> Self {
        Claimed { failures: 0, name_counted: true }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockoutError {
    #[error("password checks for this username are refused for {retry_after} more seconds")]
    Locked { retry_after: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How long to lock an address after its `failures`-th failure, if at all.
pub fn lock_seconds(failures: u64) -> Option<u64> {
    let beyond = failures.checked_sub(FREE_FAILURES)?;
    let seconds = 1u64.checked_shl(beyond.min(63) as u32).unwrap_or(u64::MAX);
    Some(seconds.min(MAX_LOCK_SECONDS))
}

/// Until when the `failures`-th failure at `now` locks the address, if at all.
/// `now` is whole seconds, rounded down: one more second so that a lock lasts
/// at least its full length, never a fraction of it.
pub fn locked_until(failures: u64, now: u64) -> Option<u64> {
    lock_seconds(failures).map(|seconds| now + seconds + 1)
}

/// Whether the address has logged in as `owner` (the name's user, if it has
/// one) and is still known at `now`.
pub fn is_known(address: &AddressAttempts, owner: Option<&UserId>, now: u64) -> bool {
    address.known_until > now && owner.is_some() && address.known_for.as_ref() == owner
}

/// Whether a check may be tried at `now`: refused while the address is
/// locked, or while the name is closed to an address its user does not know.
pub fn judge(standing: &Standing, owner: Option<&UserId>, now: u64) -> Result<(), LockoutError> {
    let address = &standing.address;
    if address.locked_until > now {
        return Err(LockoutError::Locked { retry_after: address.locked_until - now });
    }
    let known = is_known(address, owner, now);
    if !known && standing.name.failures >= MAX_CONSECUTIVE_FAILURES {
        return Err(LockoutError::Locked { retry_after: standing.name.expires_at.saturating_sub(now).max(1) });
    }
    Ok(())
}

/// Whether an attempt the standing lets through would lock the name at
/// its address if its password is wrong; `None` when the standing refuses
/// the attempt.
pub fn failure_would_lock(standing: &Standing, owner: Option<&UserId>, now: u64) -> Option<bool> {
    judge(standing, owner, now).ok()?;
    Some(next_claim(&standing.address, now).locked_until > 0)
}

/// The claim of the next attempt from an address at `now`. The window slides
/// with every failure, and never ends before the address stops being known.
pub fn next_claim(address: &AddressAttempts, now: u64) -> AddressClaim {
    let failures = address.failures + 1;
    let locked_until = locked_until(failures, now).unwrap_or(0);
    let window_ends_at = now.max(locked_until) + WINDOW_SECONDS;
    let expires_at = window_ends_at.max(address.known_until);
    AddressClaim { at: now, expected: address.stored, failures, locked_until, window_ends_at, expires_at }
}

/// The claim of the next attempt from an unknown address at a name, at `now`.
pub fn next_name_claim(name: &NameAttempts, now: u64) -> NameClaim {
    NameClaim { at: now, restart: name.stale, cap: MAX_CONSECUTIVE_FAILURES, expires_at: now + NAME_WINDOW_SECONDS }
}

/// Reads both counts for a check from `address` at `username`.
pub async fn standing(
    store: &impl LoginAttemptStore,
    username: &Username,
    address: &str,
    now: u64,
) -> Result<Standing, StoreError> {
    store.standing(username, address, now).await
}

/// Judges the standing and claims the attempt, before any argon2 work.
/// `owner` is the user of the name, if any. A claim that a concurrent attempt
/// beat is refused like a lock, for a second.
pub async fn claim(
    store: &impl LoginAttemptStore,
    username: &Username,
    address: &str,
    standing: &Standing,
    owner: Option<&UserId>,
    now: u64,
) -> Result<Claimed, LockoutError> {
    judge(standing, owner, now)?;
    let known = is_known(&standing.address, owner, now);
    let address_claim = next_claim(&standing.address, now);
    // The address first, and the name only for the one attempt the address
    // let through: a burst from one address must not count against the
    // name once per request it sent.
    let name_claimed = store.claim_address(username, address, &address_claim).await?
        && (known || store.claim_name(username, &next_name_claim(&standing.name, now)).await?);
    if !name_claimed {
        return Err(LockoutError::Locked { retry_after: 1 });
    }
    Ok(Claimed { failures: address_claim.failures, name_counted: !known || standing.name.failures > 0 })
}

/// Forgets a claimed attempt that succeeded, with the failures before it,
/// and makes the address known to the user it logged in as.
pub async fn record_success(
    store: &impl LoginAttemptStore,
    username: &Username,
    address: &str,
    owner: &UserId,
    claimed: Claimed,
    now: u64,
) -> Result<(), StoreError> {
    let forget_name = async {
        match claimed.name_counted {
            true => store.forget_name(username).await,
            false => Ok(()),
        }
    };
    let (known, forgotten) =
        tokio::join!(store.mark_known(username, address, owner, now + KNOWN_ADDRESS_SECONDS), forget_name);
    known?;
    forgotten
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::MemoryStore;

    #[test]
    fn five_failures_are_free_then_the_lock_doubles() {
        assert_eq!((1..5).map(lock_seconds).collect::<Vec<_>>(), [None; 4]);
        assert_eq!(lock_seconds(5), Some(1));
        assert_eq!(lock_seconds(6), Some(2));
        assert_eq!(lock_seconds(7), Some(4));
        assert_eq!(lock_seconds(14), Some(512));
    }

    #[test]
    fn the_lock_is_capped_at_fifteen_minutes() {
        assert_eq!(lock_seconds(15), Some(900));
        assert_eq!(lock_seconds(70), Some(900));
        assert_eq!(lock_seconds(u64::MAX), Some(900));
    }

    #[test]
    fn a_lock_lasts_at_least_its_full_length() {
        assert_eq!(locked_until(4, 1000), None);
        assert_eq!(locked_until(5, 1000), Some(1002));
        let standing = |locked_until| Standing {
            address: AddressAttempts { failures: 5, locked_until, ..AddressAttempts::default() },
            ..Standing::default()
        };
        assert!(matches!(judge(&standing(1002), None, 1000), Err(LockoutError::Locked { retry_after: 2 })));
        assert!(matches!(judge(&standing(1002), None, 1001), Err(LockoutError::Locked { retry_after: 1 })));
        assert!(judge(&standing(1002), None, 1002).is_ok());
    }

    #[test]
    fn the_window_slides_with_every_failure_and_outlasts_the_lock() {
        let address = AddressAttempts { failures: 3, stored: Some(3), ..AddressAttempts::default() };
        assert_eq!(next_claim(&address, 5000).window_ends_at, 5000 + WINDOW_SECONDS);
        // A known address's item stays while it is known; its window does not.
        let known = AddressAttempts { known_until: 90_000, ..address.clone() };
        let claim = next_claim(&known, 5000);
        assert_eq!((claim.window_ends_at, claim.expires_at), (5000 + WINDOW_SECONDS, 90_000));
        let address = AddressAttempts { failures: 9, stored: Some(9), ..AddressAttempts::default() };
        let claim = next_claim(&address, 5000);
        assert_eq!((claim.failures, claim.locked_until), (10, 5000 + 32 + 1));
        assert_eq!(claim.window_ends_at, claim.locked_until + WINDOW_SECONDS);
        assert_eq!(claim.expected, Some(9));
    }

    #[test]
    fn a_closed_name_refuses_unknown_addresses_only() {
        let name = NameAttempts { failures: MAX_CONSECUTIVE_FAILURES, expires_at: 9000, stale: false };
        let owner = UserId::new_random();
        let unknown = Standing { name, ..Standing::default() };
        assert!(matches!(judge(&unknown, Some(&owner), 1000), Err(LockoutError::Locked { retry_after: 8000 })));
        let address =
            AddressAttempts { known_until: 2000, known_for: Some(owner.clone()), ..AddressAttempts::default() };
        let known = Standing { address, name };
        assert!(judge(&known, Some(&owner), 1000).is_ok());
        assert!(judge(&known, Some(&owner), 2000).is_err(), "known no longer");
        // Known to the user of the name before it was deleted and signed up again: not to this one.
        assert!(judge(&known, Some(&UserId::new_random()), 1000).is_err());
        assert!(judge(&known, None, 1000).is_err());
    }

    /// One check from `address` at `name`, failed.
    async fn fail(store: &MemoryStore, name: &Username, address: &str, now: u64) -> Result<Claimed, LockoutError> {
        let standing = standing(store, name, address, now).await?;
        claim(store, name, address, &standing, None, now).await
    }

    /// One check from `address` at `name`, as `owner`, that succeeds.
    async fn succeed(store: &MemoryStore, name: &Username, address: &str, owner: &UserId, now: u64) {
        let standing = standing(store, name, address, now).await.unwrap();
        let claimed = claim(store, name, address, &standing, Some(owner), now).await.unwrap();
        record_success(store, name, address, owner, claimed, now).await.unwrap();
    }

    #[tokio::test]
    async fn failures_lock_the_address_and_a_success_forgets_them() {
        let store = MemoryStore::default();
        let name = Username::parse("ivan").unwrap();
        for expected in 1..=4 {
            assert_eq!(fail(&store, &name, "198.51.100.1", 1000).await.unwrap().failures, expected);
        }
        fail(&store, &name, "198.51.100.1", 1000).await.unwrap();
        let locked = fail(&store, &name, "198.51.100.1", 1001).await;
        assert!(matches!(locked, Err(LockoutError::Locked { retry_after: 1 })), "{locked:?}");
        // Another address is not locked by this one.
        assert_eq!(fail(&store, &name, "198.51.100.2", 1001).await.unwrap().failures, 1);
        succeed(&store, &name, "198.51.100.1", &UserId::new_random(), 1002).await;
        let after = self::standing(&store, &name, "198.51.100.1", 1002).await.unwrap();
        assert_eq!((after.address.failures, after.address.locked_until, after.name.failures), (0, 0, 0));
        assert_eq!(after.address.known_until, 1002 + KNOWN_ADDRESS_SECONDS);
    }

    #[tokio::test]
    async fn failures_are_forgotten_a_quiet_window_after_the_last_one() {
        let store = MemoryStore::default();
        let name = Username::parse("judy").unwrap();
        // Four failures spread over more than one window: the window slides.
        for at in [1000, 1300, 1600, 1850] {
            fail(&store, &name, "198.51.100.1", at).await.unwrap();
        }
        assert_eq!(fail(&store, &name, "198.51.100.1", 1000 + WINDOW_SECONDS + 100).await.unwrap().failures, 5);
        let quiet = 1000 + WINDOW_SECONDS + 100 + 1 + WINDOW_SECONDS + 1;
        assert_eq!(fail(&store, &name, "198.51.100.1", quiet).await.unwrap().failures, 1);
    }

    #[tokio::test]
    async fn a_known_addresss_failures_are_forgotten_a_window_after_the_last_one() {
        let store = MemoryStore::default();
        let name = Username::parse("mona").unwrap();
        succeed(&store, &name, "192.0.2.9", &UserId::new_random(), 1000).await;
        fail(&store, &name, "192.0.2.9", 1100).await.unwrap();
        let read = standing(&store, &name, "192.0.2.9", 1100 + WINDOW_SECONDS - 1).await.unwrap();
        assert_eq!(read.address.failures, 1);
        let read = standing(&store, &name, "192.0.2.9", 1100 + WINDOW_SECONDS).await.unwrap();
        assert_eq!(read.address.failures, 0, "the item outlives the window while the address is known");
        assert!(read.address.known_until > 1100 + WINDOW_SECONDS);
    }

    #[tokio::test]
    async fn a_claim_beaten_by_a_concurrent_one_is_refused() {
        let store = MemoryStore::default();
        let name = Username::parse("kim").unwrap();
        let read = standing(&store, &name, "198.51.100.1", 1000).await.unwrap();
        claim(&store, &name, "198.51.100.1", &read, None, 1000).await.unwrap();
        // The same reading again: the count has moved since.
        let beaten = claim(&store, &name, "198.51.100.1", &read, None, 1000).await;
        assert!(matches!(beaten, Err(LockoutError::Locked { retry_after: 1 })), "{beaten:?}");
    }

    #[tokio::test]
    async fn a_hundred_failures_from_everywhere_close_the_name_but_not_to_a_known_address() {
        let store = MemoryStore::default();
        let name = Username::parse("lena").unwrap();
        let (owner, lena) = ("192.0.2.7", UserId::new_random());
        succeed(&store, &name, owner, &lena, 1000).await;
        for i in 0..MAX_CONSECUTIVE_FAILURES {
            fail(&store, &name, &format!("203.0.113.{}", i % 250), 1000 + i).await.unwrap();
        }
        let closed = fail(&store, &name, "198.51.100.99", 2000).await;
        assert!(matches!(closed, Err(LockoutError::Locked { .. })), "{closed:?}");
        // Not to a new user of the name, at the owner's address.
        let read = standing(&store, &name, owner, 2000).await.unwrap();
        let new_user = claim(&store, &name, owner, &read, Some(&UserId::new_random()), 2000).await;
        assert!(matches!(new_user, Err(LockoutError::Locked { .. })), "{new_user:?}");
        // The owner's address is known: it is let through, and its success reopens the name.
        succeed(&store, &name, owner, &lena, 2000).await;
        assert_eq!(fail(&store, &name, "198.51.100.99", 2000).await.unwrap().failures, 1);
    }
}
