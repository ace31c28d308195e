//! The time as the rules read it: whole Unix seconds from a [`Clock`] that
//! each function is given, so that tests of time-bound rules (the lockout,
//! token expiry) move time forward instead of sleeping.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

pub trait Clock: Send + Sync {
    /// Seconds since the Unix epoch, rounded down.
    fn now(&self) -> u64;
}

/// A clock as the functions hold it: one per process, shared by every request.
pub type SharedClock = Arc<dyn Clock>;

/// The host's clock: what every function runs on.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> u64 {
        // A host clock before 1970 is broken beyond what a default could mend;
        // 0 makes every token expired and every lock over, which fails closed
        // for tokens and open only for a lock that cannot be dated anyway.
        SystemTime::now().duration_since(UNIX_EPOCH).map(|since| since.as_secs()).unwrap_or(0)
    }
}

/// The host's clock, shared.
pub fn system() -> SharedClock {
    Arc::new(SystemClock)
}
