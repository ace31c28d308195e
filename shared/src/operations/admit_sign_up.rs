use crate::store::SignUpStore;
use crate::ApiError;

/// Sign-ups (and recovery requests) are counted per source address in
/// fixed windows of an hour.
pub const SIGN_UP_WINDOW_SECONDS: u64 = 3600;

/// The start and the end (Unix seconds) of the hour `now` is in.
pub(super) fn hour_window(now: u64) -> (u64, u64) {
    let start = now - now % SIGN_UP_WINDOW_SECONDS;
    (start, start + SIGN_UP_WINDOW_SECONDS)
}

/// Counts a sign-up request from `address` at `now`, before any argon2 work,
/// and refuses it when the address has made `per_hour` already in this
/// hour: each sign-up costs an argon2 hash and a transaction, so a flood of
/// them costs money and fills the tables with names.
pub async fn admit_sign_up(store: &impl SignUpStore, per_hour: u64, now: u64, address: &str) -> Result<(), ApiError> {
    let (start, end) = hour_window(now);
    if !store.count_sign_up(address, start, end, per_hour).await? {
        tracing::info!(source_ip = address, "sign-up refused: too many from this address");
        return Err(ApiError::TooManySignUps { retry_after: end - now });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::MemoryStore;

    #[tokio::test]
    async fn an_address_gets_its_sign_ups_per_hour_and_no_more() {
        let store = MemoryStore::default();
        let hour = 1_800_000_000 - 1_800_000_000 % SIGN_UP_WINDOW_SECONDS;
        for _ in 0..3 {
            admit_sign_up(&store, 3, hour + 10, "198.51.100.1").await.unwrap();
        }
        let err = admit_sign_up(&store, 3, hour + 600, "198.51.100.1").await.unwrap_err();
        assert!(matches!(err, ApiError::TooManySignUps { retry_after: 3000 }), "{err:?}");
        assert_eq!(err.code(), "too_many_requests");
        // Another address, or the next hour, is counted afresh.
        admit_sign_up(&store, 3, hour + 600, "198.51.100.2").await.unwrap();
        admit_sign_up(&store, 3, hour + SIGN_UP_WINDOW_SECONDS, "198.51.100.1").await.unwrap();
    }
}
