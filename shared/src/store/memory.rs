//! An in-memory store with the same contract as the DynamoDB one, for unit
//! tests of the domain and of the handlers. Never used by a function.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::{
    AccountStore, CredentialStore, Credentials, LoginAttemptStore, PasswordChange, SessionStore, StoreError, UserStore,
};
use crate::domain::{Rotation, Session, SessionId, User, UserId, Username};
use crate::lockout::Attempts;
use crate::passwords::PasswordHash;

/// Clones share their data, as clones of the DynamoDB store share the tables.
#[derive(Clone, Default)]
pub struct MemoryStore {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Default)]
struct Inner {
    users: HashMap<UserId, User>,
    usernames: HashMap<Username, Credentials>,
    sessions: HashMap<(UserId, SessionId), Session>,
    /// failures, window end, locked until
    attempts: HashMap<Username, (u64, u64, u64)>,
}

impl MemoryStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl UserStore for MemoryStore {
    async fn create_user(&self, user: &User, hash: &PasswordHash) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if inner.usernames.contains_key(&user.username) {
            return Err(StoreError::UsernameTaken);
        }
        let credentials = Credentials { user_id: user.id.clone(), password_hash: hash.clone() };
        inner.usernames.insert(user.username.clone(), credentials);
        inner.users.insert(user.id.clone(), user.clone());
        Ok(())
    }

    async fn get_user(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        Ok(self.lock().users.get(id).cloned())
    }
}

impl AccountStore for MemoryStore {
    async fn delete_account(&self, user: &User) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        let claimed = inner.usernames.get(&user.username).is_some_and(|claim| claim.user_id == user.id);
        if !claimed || !inner.users.contains_key(&user.id) {
            return Ok(false);
        }
        inner.users.remove(&user.id);
        inner.usernames.remove(&user.username);
        inner.sessions.retain(|(owner, _), _| *owner != user.id);
        Ok(true)
    }
}

impl CredentialStore for MemoryStore {
    async fn credentials(&self, username: &Username) -> Result<Option<Credentials>, StoreError> {
        Ok(self.lock().usernames.get(username).cloned())
    }

    async fn change_password(&self, change: &PasswordChange) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        let Some(claim) = inner.usernames.get_mut(&change.username) else { return Ok(false) };
        if claim.user_id != change.user_id || claim.password_hash != change.from {
            return Ok(false);
        }
        claim.password_hash = change.to.clone();
        inner.sessions.retain(|(owner, id), _| *owner != change.user_id || *id == change.keep);
        Ok(true)
    }
}

impl SessionStore for MemoryStore {
    async fn create_session(&self, session: &Session) -> Result<(), StoreError> {
        self.lock().sessions.insert((session.user_id.clone(), session.id.clone()), session.clone());
        Ok(())
    }

    async fn session(&self, user_id: &UserId, id: &SessionId) -> Result<Option<Session>, StoreError> {
        Ok(self.lock().sessions.get(&(user_id.clone(), id.clone())).cloned())
    }

    async fn sessions(&self, user_id: &UserId) -> Result<Vec<Session>, StoreError> {
        Ok(self.lock().sessions.values().filter(|session| session.user_id == *user_id).cloned().collect())
    }

    async fn session_ids(&self, user_id: &UserId) -> Result<Vec<SessionId>, StoreError> {
        Ok(self.sessions(user_id).await?.into_iter().map(|session| session.id).collect())
    }

    async fn rotate(&self, rotation: &Rotation) -> Result<Option<Session>, StoreError> {
        let mut inner = self.lock();
        let Some(stored) = inner.sessions.get_mut(&(rotation.user_id.clone(), rotation.session_id.clone())) else {
            return Ok(None);
        };
        let rotated = stored.after(rotation);
        if let Some(rotated) = &rotated {
            *stored = rotated.clone();
        }
        Ok(rotated)
    }

    async fn end_session(&self, user_id: &UserId, id: &SessionId) -> Result<bool, StoreError> {
        Ok(self.lock().sessions.remove(&(user_id.clone(), id.clone())).is_some())
    }
}

impl LoginAttemptStore for MemoryStore {
    async fn attempts(&self, username: &Username, now: u64) -> Result<Attempts, StoreError> {
        Ok(match self.lock().attempts.get(username) {
            Some(&(failures, window_end, locked_until)) if window_end > now => Attempts { failures, locked_until },
            _ => Attempts::default(),
        })
    }

    async fn record_failure(&self, username: &Username, now: u64, window: u64) -> Result<u64, StoreError> {
        let mut inner = self.lock();
        let entry = inner.attempts.entry(username.clone()).or_insert((0, 0, 0));
        if entry.1 <= now {
            *entry = (0, 0, 0);
        }
        entry.0 += 1;
        entry.1 = entry.1.max(now + window);
        Ok(entry.0)
    }

    async fn lock(&self, username: &Username, until: u64, window: u64) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let entry = inner.attempts.entry(username.clone()).or_insert((0, 0, 0));
        entry.2 = until;
        entry.1 = entry.1.max(until + window);
        Ok(())
    }

    async fn reset(&self, username: &Username) -> Result<(), StoreError> {
        self.lock().attempts.remove(username);
        Ok(())
    }
}
