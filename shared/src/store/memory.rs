//! An in-memory store with the same contract as the DynamoDB one, for unit
//! tests of the domain and of the handlers. Never used by a function.

use std::collections::HashMap;
use std::sync::Mutex;

use super::{CredentialStore, Credentials, RevocationStore, StoreError, UserStore};
use crate::domain::{User, UserId, Username};
use crate::passwords::PasswordHash;

#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    users: HashMap<UserId, User>,
    usernames: HashMap<Username, Credentials>,
    revoked: HashMap<String, u64>,
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

impl CredentialStore for MemoryStore {
    async fn credentials(&self, username: &Username) -> Result<Option<Credentials>, StoreError> {
        Ok(self.lock().usernames.get(username).cloned())
    }
}

impl RevocationStore for MemoryStore {
    async fn revoke(&self, jti: &str, expires_at: u64) -> Result<(), StoreError> {
        self.lock().revoked.insert(jti.to_owned(), expires_at);
        Ok(())
    }

    async fn is_revoked(&self, jti: &str) -> Result<bool, StoreError> {
        Ok(self.lock().revoked.contains_key(jti))
    }
}
