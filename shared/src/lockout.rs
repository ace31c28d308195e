//! Brute-force defence for login, after Amazon Cognito's scheme: five failed
//! logins for a username are free; each further one locks that username for
//! 2^(n-5) seconds, at most 15 minutes (plus up to a second, as the clock
//! counts whole seconds). Unknown usernames are counted and locked the same
//! way, so a lock says nothing about whether a user exists. A success forgets
//! the failures; so does a quiet window of 15 minutes.
//!
//! The whole policy is here: the login operation asks [`admit`] before any
//! argon2 work, then reports the outcome with [`record_failure`] or
//! [`record_success`]. Time is the caller's clock reading.

use crate::domain::Username;
use crate::store::{LoginAttemptStore, StoreError};

/// Failures allowed before the first lock.
pub const FREE_FAILURES: u64 = 5;
/// Failures are forgotten this long after the last one (or after a lock ends).
pub const WINDOW_SECONDS: u64 = 15 * 60;
/// The longest lock.
pub const MAX_LOCK_SECONDS: u64 = 15 * 60;

/// Failed logins of one username in the current window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Attempts {
    pub failures: u64,
    /// Unix second until which logins are refused; 0 when never locked.
    pub locked_until: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum LockoutError {
    #[error("the username is locked for {retry_after} more seconds")]
    Locked { retry_after: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How long to lock a username after its `failures`-th failure, if at all.
pub fn lock_seconds(failures: u64) -> Option<u64> {
    let beyond = failures.checked_sub(FREE_FAILURES)?;
    let seconds = 1u64.checked_shl(beyond.min(63) as u32).unwrap_or(u64::MAX);
    Some(seconds.min(MAX_LOCK_SECONDS))
}

/// Until when the `failures`-th failure at `now` locks the username, if at all.
/// `now` is whole seconds, rounded down: one more second so that a lock lasts
/// at least its full length, never a fraction of it.
pub fn locked_until(failures: u64, now: u64) -> Option<u64> {
    lock_seconds(failures).map(|seconds| now + seconds + 1)
}

/// Whether a login may be tried at `now`; refused while the username is locked.
pub fn judge(attempts: Attempts, now: u64) -> Result<Attempts, LockoutError> {
    if attempts.locked_until > now {
        return Err(LockoutError::Locked { retry_after: attempts.locked_until - now });
    }
    Ok(attempts)
}

/// Reads the username's failures and judges them at `now`.
pub async fn admit(store: &impl LoginAttemptStore, username: &Username, now: u64) -> Result<Attempts, LockoutError> {
    judge(store.attempts(username, now).await?, now)
}

/// Counts a failure at `now`, locking the username if it is one too many.
/// Returns the failures in the window.
pub async fn record_failure(store: &impl LoginAttemptStore, username: &Username, now: u64) -> Result<u64, StoreError> {
    let failures = store.record_failure(username, now, WINDOW_SECONDS).await?;
    if let Some(until) = locked_until(failures, now) {
        store.lock(username, until, WINDOW_SECONDS).await?;
    }
    Ok(failures)
}

/// Forgets the failures after a successful login (no write when there were none).
pub async fn record_success(
    store: &impl LoginAttemptStore,
    username: &Username,
    attempts: Attempts,
) -> Result<(), StoreError> {
    if attempts.failures > 0 {
        store.reset(username).await?;
    }
    Ok(())
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
        let attempts = Attempts { failures: 5, locked_until: 1002 };
        assert!(matches!(judge(attempts, 1000), Err(LockoutError::Locked { retry_after: 2 })));
        assert!(matches!(judge(attempts, 1001), Err(LockoutError::Locked { retry_after: 1 })));
        assert_eq!(judge(attempts, 1002).unwrap(), attempts);
    }

    #[tokio::test]
    async fn failures_lock_and_a_success_forgets_them() {
        let store = MemoryStore::default();
        let name = Username::parse("ivan").unwrap();
        for expected in 1..=4 {
            assert_eq!(record_failure(&store, &name, 1000).await.unwrap(), expected);
            assert!(admit(&store, &name, 1000).await.is_ok());
        }
        record_failure(&store, &name, 1000).await.unwrap();
        assert!(matches!(admit(&store, &name, 1001).await, Err(LockoutError::Locked { retry_after: 1 })));
        let attempts = admit(&store, &name, 1002).await.unwrap();
        assert_eq!(attempts.failures, 5);
        record_success(&store, &name, attempts).await.unwrap();
        assert_eq!(admit(&store, &name, 1002).await.unwrap(), Attempts::default());
    }

    #[tokio::test]
    async fn failures_are_forgotten_after_a_quiet_window() {
        let store = MemoryStore::default();
        let name = Username::parse("judy").unwrap();
        for _ in 0..4 {
            record_failure(&store, &name, 1000).await.unwrap();
        }
        assert_eq!(admit(&store, &name, 1000 + WINDOW_SECONDS - 1).await.unwrap().failures, 4);
        assert_eq!(admit(&store, &name, 1000 + WINDOW_SECONDS).await.unwrap(), Attempts::default());
        assert_eq!(record_failure(&store, &name, 1000 + WINDOW_SECONDS).await.unwrap(), 1);
    }
}
