//! What the login-attempts table holds and what a password check writes to
//! it: the lockout's records, below the store that keeps them and the
//! policy that reads them ([`crate::lockout`]).

use super::UserId;

/// Failed checks from one address at one name, as of a moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressAttempts {
    /// Failures in the current window; 0 once it has ended.
    pub failures: u64,
    /// Unix second until which checks from the address are refused; 0 when never locked.
    pub locked_until: u64,
    /// Unix second until which the address counts as known to `known_for`; 0 when it never logged in.
    pub known_until: u64,
    /// The user the address logged in as, last.
    pub known_for: Option<UserId>,
    /// The count as stored, window or not, which the next claim must find
    /// unchanged; `None` when there is no record.
    pub stored: Option<u64>,
}

/// Failed checks at one name from addresses unknown to it, as of a moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NameAttempts {
    /// Failures since the last success; 0 once the window has ended.
    pub failures: u64,
    /// When the window ends: 30 days after the last failure.
    pub expires_at: u64,
    /// A record is stored whose window has ended: the next claim starts it anew.
    pub stale: bool,
}

/// One address's counts at one name as stored, every field written every
/// time: the failures, the lock, until when the address is known and to
/// whom, and when the window ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressRecord {
    pub failures: u64,
    pub locked_until: u64,
    pub known_until: u64,
    pub known_for: Option<UserId>,
    pub window_ends_at: u64,
}

impl AddressRecord {
    /// The attempts as of `now`: a window that has ended counts as none (TTL
    /// deletion is late), but the stored count is what the next claim expects.
    pub fn attempts_at(self, now: u64) -> AddressAttempts {
        let live = self.window_ends_at > now;
        AddressAttempts {
            failures: if live { self.failures } else { 0 },
            locked_until: if live { self.locked_until } else { 0 },
            known_until: self.known_until,
            known_for: self.known_for,
            stored: Some(self.failures),
        }
    }
}

/// A name's count as stored: its failures from unknown addresses, and when
/// its window ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameRecord {
    pub failures: u64,
    pub expires_at: u64,
}

impl NameRecord {
    /// The attempts as of `now`: a window that has ended counts as none, and
    /// marks the record stale.
    pub fn attempts_at(self, now: u64) -> NameAttempts {
        match self.expires_at > now {
            true => NameAttempts { failures: self.failures, expires_at: self.expires_at, stale: false },
            false => NameAttempts { failures: 0, expires_at: self.expires_at, stale: true },
        }
    }
}

/// Both counts that bear on one check, read before it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Standing {
    pub address: AddressAttempts,
    pub name: NameAttempts,
}

/// What claiming an attempt at `at` writes for its address: the count with
/// this attempt counted as a failure, the lock that failure sets, the end of
/// the window, and when the item may go (its TTL: not before the address
/// stops being known); on the condition that the stored count is still
/// `expected` and no lock holds at `at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressClaim {
    pub at: u64,
    pub expected: Option<u64>,
    pub failures: u64,
    pub locked_until: u64,
    pub window_ends_at: u64,
    pub expires_at: u64,
}

/// What claiming an attempt at `at` from an unknown address writes for its
/// name: one more failure, while fewer than `cap`, kept until `expires_at`;
/// or, when the stored count's window has ended, a count of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameClaim {
    pub at: u64,
    pub restart: bool,
    pub cap: u64,
    pub expires_at: u64,
}
