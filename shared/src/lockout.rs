//! Brute-force defence for login, after Amazon Cognito's scheme: five failed
//! logins for a username are free; each further one locks that username for
//! 2^(n-5) seconds, at most 15 minutes (plus up to a second, as the clock
//! counts whole seconds). Unknown usernames are counted and
//! locked the same way, so a lock says nothing about whether a user exists.

/// Failures allowed before the first lock.
pub const FREE_FAILURES: u64 = 5;
/// Failures are forgotten this long after the last one (or after a lock ends).
pub const WINDOW_SECONDS: u64 = 15 * 60;
/// The longest lock.
pub const MAX_LOCK_SECONDS: u64 = 15 * 60;

/// How long to lock a username after its `failures`-th failure, if at all.
pub fn lock_seconds(failures: u64) -> Option<u64> {
    let beyond = failures.checked_sub(FREE_FAILURES)?;
    let seconds = 1u64.checked_shl(beyond.min(63) as u32).unwrap_or(u64::MAX);
    Some(seconds.min(MAX_LOCK_SECONDS))
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
