//! The in-memory store with faults and interleavings injected, for the unit
//! tests of what the operations do when the database fails or another
//! request commits between two of their reads. Built for tests only.

use std::sync::Mutex;

use super::memory::MemoryStore;
use super::{ActivityStore, SecondFactorStore};
use super::{CredentialStore, Credentials, LoginAttemptStore, PasswordChange, SessionStore, StoreError, UserStore};
use crate::domain::{ActivityEvent, ActivityPage, FactorUse, PendingSignIn, SealedSecret};
use crate::domain::{AddressClaim, NameClaim, Rotation, Session, SessionId, Standing, User, UserId, Username};
use crate::passwords::PasswordHash;

/// A [`MemoryStore`] that answers as it does but where a fault is asked for.
#[derive(Default)]
pub struct FaultyStore {
    pub inner: MemoryStore,
    /// Lockout claims fail, as a throttled database answers.
    pub claims_fail: bool,
    /// Reads of a user's session ages never answer.
    pub session_ages_hang: bool,
    /// A password change that commits just before the next read of a user:
    /// after a session read at the same time, as when a token check's two
    /// reads straddle the change.
    pub change_before_user_read: Mutex<Option<PasswordChange>>,
    /// Events are not recorded, as when the events table is throttled.
    pub events_fail: bool,
    /// Sessions are not started, as when the sessions table is throttled.
    pub sessions_fail: bool,
}

impl FaultyStore {
    /// No fault yet, over `inner`'s data.
    pub fn over(inner: MemoryStore) -> Self {
        FaultyStore { inner, ..FaultyStore::default() }
    }
}

impl UserStore for FaultyStore {
    async fn create_user(&self, user: &User, hash: &PasswordHash) -> Result<(), StoreError> {
        self.inner.create_user(user, hash).await
    }
    async fn get_user(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        let change = self.change_before_user_read.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
        if let Some(change) = change {
            assert!(self.inner.change_password(&change).await?, "the injected change commits");
        }
        self.inner.get_user(id).await
    }
}

impl CredentialStore for FaultyStore {
    async fn credentials(&self, name: &Username) -> Result<Option<Credentials>, StoreError> {
        self.inner.credentials(name).await
    }
    async fn change_password(&self, change: &PasswordChange) -> Result<bool, StoreError> {
        self.inner.change_password(change).await
    }
}

impl LoginAttemptStore for FaultyStore {
    async fn standing(&self, name: &Username, address: &str, now: u64) -> Result<Standing, StoreError> {
        self.inner.standing(name, address, now).await
    }
    async fn claim_address(&self, name: &Username, at: &str, claim: &AddressClaim) -> Result<bool, StoreError> {
        match self.claims_fail {
            true => Err(StoreError::Unavailable("throttled".into())),
            false => self.inner.claim_address(name, at, claim).await,
        }
    }
    async fn claim_name(&self, name: &Username, claim: &NameClaim) -> Result<bool, StoreError> {
        self.inner.claim_name(name, claim).await
    }
    async fn mark_known(&self, name: &Username, address: &str, owner: &UserId, until: u64) -> Result<(), StoreError> {
        self.inner.mark_known(name, address, owner, until).await
    }
    async fn forget_name(&self, name: &Username) -> Result<(), StoreError> {
        self.inner.forget_name(name).await
    }
}

impl SessionStore for FaultyStore {
    async fn create_session(&self, session: &Session) -> Result<(), StoreError> {
        self.inner.create_session(session).await
    }
    async fn start_session(
        &self,
        session: &Session,
        name: &Username,
        checked: &PasswordHash,
    ) -> Result<bool, StoreError> {
        match self.sessions_fail {
            true => Err(StoreError::Unavailable("injected: the sessions table is throttled".into())),
            false => self.inner.start_session(session, name, checked).await,
        }
    }
    async fn session(&self, user_id: &UserId, id: &SessionId) -> Result<Option<Session>, StoreError> {
        self.inner.session(user_id, id).await
    }
    async fn sessions(&self, user_id: &UserId) -> Result<Vec<Session>, StoreError> {
        self.inner.sessions(user_id).await
    }
    async fn session_ids(&self, user_id: &UserId) -> Result<Vec<SessionId>, StoreError> {
        self.inner.session_ids(user_id).await
    }
    async fn session_ages(&self, user_id: &UserId) -> Result<Vec<(SessionId, u64)>, StoreError> {
        if self.session_ages_hang {
            std::future::pending::<()>().await;
        }
        self.inner.session_ages(user_id).await
    }
    async fn end_sessions(&self, user_id: &UserId, ids: &[SessionId]) -> Result<(), StoreError> {
        self.inner.end_sessions(user_id, ids).await
    }
    async fn rotate(&self, rotation: &Rotation) -> Result<Option<Session>, StoreError> {
        self.inner.rotate(rotation).await
    }
    async fn end_session(&self, user_id: &UserId, id: &SessionId) -> Result<bool, StoreError> {
        self.inner.end_session(user_id, id).await
    }
}

impl SecondFactorStore for FaultyStore {
    async fn put_pending_totp(&self, user_id: &UserId, sealed: &SealedSecret) -> Result<bool, StoreError> {
        self.inner.put_pending_totp(user_id, sealed).await
    }
    async fn activate_totp(
        &self,
        user: &User,
        sealed: &SealedSecret,
        step: u64,
        codes: &std::collections::BTreeSet<String>,
    ) -> Result<bool, StoreError> {
        self.inner.activate_totp(user, sealed, step, codes).await
    }
    async fn spend_factor(
        &self,
        user_id: &UserId,
        used: &FactorUse,
        replace: Option<&std::collections::BTreeSet<String>>,
    ) -> Result<bool, StoreError> {
        self.inner.spend_factor(user_id, used, replace).await
    }
    async fn remove_totp(&self, user: &User) -> Result<bool, StoreError> {
        self.inner.remove_totp(user).await
    }
    async fn put_pending_sign_in(&self, pending: &PendingSignIn) -> Result<(), StoreError> {
        self.inner.put_pending_sign_in(pending).await
    }
    async fn pending_sign_in(&self, token_hash: &str) -> Result<Option<PendingSignIn>, StoreError> {
        self.inner.pending_sign_in(token_hash).await
    }
    async fn spend_sign_in_try(&self, pending: &PendingSignIn) -> Result<bool, StoreError> {
        self.inner.spend_sign_in_try(pending).await
    }
    async fn complete_sign_in(
        &self,
        pending: &PendingSignIn,
        used: &FactorUse,
        session: &Session,
        now: u64,
    ) -> Result<bool, StoreError> {
        self.inner.complete_sign_in(pending, used, session, now).await
    }
}

impl ActivityStore for FaultyStore {
    async fn record(&self, event: &ActivityEvent) -> Result<(), StoreError> {
        match self.events_fail {
            true => Err(StoreError::Unavailable("injected: the events table is throttled".into())),
            false => self.inner.record(event).await,
        }
    }
    async fn activity(&self, user_id: &UserId, limit: usize, after: Option<&str>) -> Result<ActivityPage, StoreError> {
        self.inner.activity(user_id, limit, after).await
    }
}
