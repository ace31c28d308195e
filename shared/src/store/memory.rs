//! An in-memory store with the same contract as the DynamoDB one, for unit
//! tests of the domain and of the handlers. Never used by a function.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use super::{
    AccountStore, ActivityStore, CredentialStore, Credentials, EmailStore, EmailVerification, LoginAttemptStore,
    OperatorStore, PasskeyStore, PasswordChange, PasswordReset, RecoveryStore, SecondFactorStore, SessionStore,
    SignUpStore, StoreError, UserStore, RECOVERIES_PER_USER_PER_HOUR, RECOVERY_INTERVAL_SECONDS,
};
use crate::domain::SecondFactor;
use crate::domain::{ActiveTotp, CodePurpose, EmailAddress, FactorUse, PendingCode, PendingSignIn, SealedSecret};
use crate::domain::{ActivityEvent, ActivityPage};
use crate::domain::{AddressClaim, AddressRecord, NameClaim, NameRecord, Standing};
use crate::domain::{Ceremony, CeremonyKey, PasskeyRecord};
use crate::domain::{Rotation, Session, SessionId, User, UserId, Username};
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
    addresses: HashMap<(Username, String), AddressRecord>,
    names: HashMap<Username, NameRecord>,
    /// sign-ups per address and window start
    sign_ups: HashMap<(String, u64), u64>,
    /// verified addresses and their accounts
    email_owners: HashMap<EmailAddress, UserId>,
    codes: HashMap<(UserId, &'static str), PendingCode>,
    /// recovery requests per address and window start
    recoveries: HashMap<(String, u64), u64>,
    /// per user: the last recovery request, the hour's start and count
    recovery_requests: HashMap<UserId, (u64, u64, u64)>,
    /// logins waiting for their second factor, by their token's hash
    sign_ins: HashMap<String, PendingSignIn>,
    /// every user's activity, by user and event key
    events: std::collections::BTreeMap<(UserId, String), ActivityEvent>,
    /// every user's passkeys, by user and credential id
    passkeys: std::collections::BTreeMap<(UserId, String), PasskeyRecord>,
    /// WebAuthn ceremonies waiting for the browser: their state and expiry
    ceremonies: HashMap<CeremonyKey, (String, u64)>,
}

/// Spends `used` on `factor`, if it can be: as the DynamoDB store's conditions.
fn spend(factor: &mut SecondFactor, used: &FactorUse) -> bool {
    match (used, factor.totp.as_mut()) {
        (FactorUse::Totp { step }, Some(totp)) if *step > totp.last_step => {
            totp.last_step = *step;
            true
        }
        (FactorUse::RecoveryCode { hash }, _) => factor.recovery_codes.remove(hash),
        _ => false,
    }
}

impl MemoryStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl MemoryStore {
    /// Every event of the user, newest first.
    pub fn events_of(&self, user_id: &UserId) -> Vec<ActivityEvent> {
        let inner = self.lock();
        inner.events.iter().rev().filter(|((user, _), _)| user == user_id).map(|(_, event)| event.clone()).collect()
    }
}

impl ActivityStore for MemoryStore {
    async fn record(&self, event: &ActivityEvent) -> Result<(), StoreError> {
        self.lock().events.insert((event.user_id.clone(), event.key()), event.clone());
        Ok(())
    }

    async fn activity(&self, user_id: &UserId, limit: usize, after: Option<&str>) -> Result<ActivityPage, StoreError> {
        let mut events: Vec<_> = self
            .events_of(user_id)
            .into_iter()
            .filter(|event| after.is_none_or(|after| event.key().as_str() < after))
            .collect();
        let next = match events.len() > limit {
            true => {
                events.truncate(limit);
                events.last().map(ActivityEvent::key)
            }
            false => None,
        };
        Ok(ActivityPage { events, next })
    }
}

impl UserStore for MemoryStore {
    async fn create_user(&self, user: &User, hash: &PasswordHash) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if inner.usernames.contains_key(&user.username) {
            return Err(StoreError::UsernameTaken);
        }
        let credentials = Credentials {
            user_id: user.id.clone(),
            password_hash: hash.clone(),
            generation: user.credential_generation,
            second_factor: user.second_factor.is_active(),
            disabled: user.disabled.is_some(),
        };
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
        inner.email_owners.retain(|_, owner| *owner != user.id);
        inner.codes.retain(|(owner, _), _| *owner != user.id);
        inner.sessions.retain(|(owner, _), _| *owner != user.id);
        inner.passkeys.retain(|(owner, _), _| *owner != user.id);
        Ok(true)
    }
}

impl PasskeyStore for MemoryStore {
    async fn put_ceremony(&self, ceremony: &Ceremony) -> Result<(), StoreError> {
        self.lock().ceremonies.insert(ceremony.key.clone(), (ceremony.state.clone(), ceremony.expires_at));
        Ok(())
    }

    async fn take_ceremony(&self, key: &CeremonyKey, now: u64) -> Result<Option<String>, StoreError> {
        let taken = self.lock().ceremonies.remove(key);
        Ok(taken.filter(|(_, expires_at)| *expires_at > now).map(|(state, _)| state))
    }

    async fn add_passkey(&self, record: &PasskeyRecord) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        let key = (record.user_id.clone(), record.id.clone());
        if inner.passkeys.contains_key(&key) {
            return Ok(false);
        }
        inner.passkeys.insert(key, record.clone());
        Ok(true)
    }

    async fn passkeys(&self, user_id: &UserId) -> Result<Vec<PasskeyRecord>, StoreError> {
        let inner = self.lock();
        let mut found: Vec<_> = inner.passkeys.values().filter(|record| record.user_id == *user_id).cloned().collect();
        found.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(found)
    }

    async fn passkey(&self, user_id: &UserId, id: &str) -> Result<Option<PasskeyRecord>, StoreError> {
        Ok(self.lock().passkeys.get(&(user_id.clone(), id.to_owned())).cloned())
    }

    async fn passkey_used(
        &self,
        user_id: &UserId,
        id: &str,
        at: u64,
        credential: Option<&str>,
    ) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        let Some(record) = inner.passkeys.get_mut(&(user_id.clone(), id.to_owned())) else { return Ok(false) };
        record.last_used_at = Some(at);
        if let Some(credential) = credential {
            record.credential = credential.to_owned();
        }
        Ok(true)
    }

    async fn remove_passkey(&self, user_id: &UserId, id: &str) -> Result<bool, StoreError> {
        Ok(self.lock().passkeys.remove(&(user_id.clone(), id.to_owned())).is_some())
    }
}

impl CredentialStore for MemoryStore {
    async fn credentials(&self, username: &Username) -> Result<Option<Credentials>, StoreError> {
        Ok(self.lock().usernames.get(username).cloned())
    }

    async fn change_password(&self, change: &PasswordChange) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        let inner = &mut *inner;
        let Some(claim) = inner.usernames.get_mut(&change.username) else { return Ok(false) };
        let kept = (change.user_id.clone(), change.keep.clone());
        if claim.user_id != change.user_id
            || claim.password_hash != change.from
            || !inner.users.contains_key(&change.user_id)
            || inner.sessions.get(&kept).is_none_or(|session| session.credential_generation != change.generation)
        {
            return Ok(false);
        }
        let next = change.next_generation();
        (claim.password_hash, claim.generation) = (change.to.clone(), next);
        inner.users.get_mut(&change.user_id).into_iter().for_each(|user| user.credential_generation = next);
        inner.sessions.get_mut(&kept).into_iter().for_each(|session| session.credential_generation = next);
        Ok(true)
    }
}

impl SessionStore for MemoryStore {
    async fn create_session(&self, session: &Session) -> Result<(), StoreError> {
        self.lock().sessions.insert((session.user_id.clone(), session.id.clone()), session.clone());
        Ok(())
    }

    async fn start_session(
        &self,
        session: &Session,
        username: &Username,
        checked: &PasswordHash,
    ) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        let current = inner.usernames.get(username);
        if !current.is_some_and(|claim| claim.user_id == session.user_id && claim.password_hash == *checked) {
            return Ok(false);
        }
        inner.sessions.insert((session.user_id.clone(), session.id.clone()), session.clone());
        Ok(true)
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

    async fn session_ages(&self, user_id: &UserId) -> Result<Vec<(SessionId, u64)>, StoreError> {
        Ok(self.sessions(user_id).await?.into_iter().map(|session| (session.id, session.last_refreshed_at)).collect())
    }

    async fn end_sessions(&self, user_id: &UserId, ids: &[SessionId]) -> Result<(), StoreError> {
        let mut inner = self.lock();
        for id in ids {
            inner.sessions.remove(&(user_id.clone(), id.clone()));
        }
        Ok(())
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

impl SignUpStore for MemoryStore {
    async fn count_sign_up(&self, address: &str, start: u64, _end: u64, limit: u64) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        let count = inner.sign_ups.entry((address.to_owned(), start)).or_insert(0);
        if *count >= limit {
            return Ok(false);
        }
        *count += 1;
        Ok(true)
    }
}

impl LoginAttemptStore for MemoryStore {
    async fn standing(&self, username: &Username, address: &str, now: u64) -> Result<Standing, StoreError> {
        let inner = self.lock();
        let address = inner.addresses.get(&(username.clone(), address.to_owned()));
        let address = address.map(|record| record.clone().attempts_at(now)).unwrap_or_default();
        let name = inner.names.get(username).map(|record| record.attempts_at(now)).unwrap_or_default();
        Ok(Standing { address, name })
    }

    async fn claim_address(
        &self,
        username: &Username,
        address: &str,
        claim: &AddressClaim,
    ) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        let key = (username.clone(), address.to_owned());
        let stored = inner.addresses.get(&key).cloned();
        if stored.as_ref().map(|record| record.failures) != claim.expected
            || stored.as_ref().is_some_and(|record| record.locked_until > claim.at)
        {
            return Ok(false);
        }
        let (known_until, known_for) = stored.map_or((0, None), |record| (record.known_until, record.known_for));
        let record = AddressRecord {
            failures: claim.failures,
            locked_until: claim.locked_until,
            known_until,
            known_for,
            window_ends_at: claim.window_ends_at,
        };
        inner.addresses.insert(key, record);
        Ok(true)
    }

    async fn claim_name(&self, username: &Username, claim: &NameClaim) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        let stored = inner.names.get(username).copied();
        let failures = match (claim.restart, stored) {
            (true, Some(record)) if record.expires_at > claim.at => return Ok(false),
            (true, _) | (false, None) => 1,
            (false, Some(record)) if record.failures < claim.cap && record.expires_at > claim.at => record.failures + 1,
            (false, Some(_)) => return Ok(false),
        };
        inner.names.insert(username.clone(), NameRecord { failures, expires_at: claim.expires_at });
        Ok(true)
    }

    async fn mark_known(
        &self,
        username: &Username,
        address: &str,
        owner: &UserId,
        known_until: u64,
    ) -> Result<(), StoreError> {
        let known_for = Some(owner.clone());
        let record = AddressRecord { failures: 0, locked_until: 0, known_until, known_for, window_ends_at: 0 };
        self.lock().addresses.insert((username.clone(), address.to_owned()), record);
        Ok(())
    }

    async fn forget_name(&self, username: &Username) -> Result<(), StoreError> {
        self.lock().names.remove(username);
        Ok(())
    }
}

impl EmailStore for MemoryStore {
    async fn put_code(&self, code: &PendingCode) -> Result<(), StoreError> {
        self.lock().codes.insert((code.user_id.clone(), code.purpose.as_str()), code.clone());
        Ok(())
    }

    async fn pending_code(&self, user_id: &UserId, purpose: CodePurpose) -> Result<Option<PendingCode>, StoreError> {
        Ok(self.lock().codes.get(&(user_id.clone(), purpose.as_str())).cloned())
    }

    async fn spend_try(&self, code: &PendingCode) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        match inner.codes.get_mut(&(code.user_id.clone(), code.purpose.as_str())) {
            Some(stored) if stored.hash == code.hash && stored.tries_left > 0 => {
                stored.tries_left -= 1;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn address_owner(&self, address: &EmailAddress) -> Result<Option<UserId>, StoreError> {
        Ok(self.lock().email_owners.get(address).cloned())
    }

    async fn set_email(
        &self,
        user_id: &UserId,
        address: &EmailAddress,
        release: Option<&EmailAddress>,
    ) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        if !inner.users.contains_key(user_id) {
            return Ok(false);
        }
        if let Some(released) = release {
            if inner.email_owners.get(released) == Some(user_id) {
                inner.email_owners.remove(released);
            }
        }
        if let Some(user) = inner.users.get_mut(user_id) {
            user.email = Some(crate::domain::UserEmail { address: address.clone(), verified: false });
        }
        Ok(true)
    }

    async fn verify_email(&self, code: &PendingCode, now: u64) -> Result<EmailVerification, StoreError> {
        let mut inner = self.lock();
        let key = (code.user_id.clone(), code.purpose.as_str());
        let live = inner
            .codes
            .get(&key)
            .is_some_and(|stored| stored.hash == code.hash && stored.tries_left > 0 && stored.expires_at > now);
        let on_profile = inner
            .users
            .get(&code.user_id)
            .and_then(|user| user.email.as_ref())
            .is_some_and(|email| email.address == code.email);
        let owner = inner.email_owners.get(&code.email);
        if owner.is_some_and(|owner| *owner != code.user_id) {
            return Ok(EmailVerification::AddressTaken);
        }
        if !live || !on_profile {
            return Ok(EmailVerification::CodeGone);
        }
        inner.codes.remove(&key);
        inner.email_owners.insert(code.email.clone(), code.user_id.clone());
        if let Some(email) = inner.users.get_mut(&code.user_id).and_then(|user| user.email.as_mut()) {
            email.verified = true;
        }
        Ok(EmailVerification::Verified)
    }
}

impl RecoveryStore for MemoryStore {
    async fn count_recovery(&self, address: &str, start: u64, _end: u64, limit: u64) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        let count = inner.recoveries.entry((address.to_owned(), start)).or_insert(0);
        if *count >= limit {
            return Ok(false);
        }
        *count += 1;
        Ok(true)
    }

    async fn admit_recovery(&self, user_id: &UserId, now: u64) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        let entry = inner.recovery_requests.entry(user_id.clone()).or_insert((0, 0, 0));
        let (last, start, count) = *entry;
        if count > 0 && last + RECOVERY_INTERVAL_SECONDS > now {
            return Ok(false);
        }
        if count == 0 || start + 3600 <= now {
            *entry = (now, now, 1);
            return Ok(true);
        }
        if count >= RECOVERIES_PER_USER_PER_HOUR {
            return Ok(false);
        }
        *entry = (now, start, count + 1);
        Ok(true)
    }

    async fn reset_password(&self, reset: &PasswordReset) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        let code = &reset.code;
        let key = (code.user_id.clone(), code.purpose.as_str());
        let live = inner
            .codes
            .get(&key)
            .is_some_and(|stored| stored.hash == code.hash && stored.tries_left > 0 && stored.expires_at > reset.now);
        let current = inner
            .usernames
            .get(&reset.username)
            .is_some_and(|claim| claim.user_id == code.user_id && claim.generation == reset.generation);
        if !live || !current || !inner.users.contains_key(&code.user_id) {
            return Ok(false);
        }
        inner.codes.remove(&key);
        if let Some(claim) = inner.usernames.get_mut(&reset.username) {
            claim.password_hash = reset.to.clone();
            claim.generation = reset.generation + 1;
        }
        if let Some(user) = inner.users.get_mut(&code.user_id) {
            user.credential_generation = reset.generation + 1;
        }
        Ok(true)
    }
}

impl SecondFactorStore for MemoryStore {
    async fn put_pending_totp(&self, user_id: &UserId, sealed: &SealedSecret) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        match inner.users.get_mut(user_id) {
            Some(user) if !user.second_factor.is_active() => {
                user.second_factor.pending = Some(sealed.clone());
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn activate_totp(
        &self,
        user: &User,
        sealed: &SealedSecret,
        step: u64,
        recovery_codes: &BTreeSet<String>,
    ) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        let Some(stored) = inner.users.get_mut(&user.id) else { return Ok(false) };
        if stored.second_factor.is_active() || stored.second_factor.pending.as_ref() != Some(sealed) {
            return Ok(false);
        }
        stored.second_factor = SecondFactor {
            totp: Some(ActiveTotp { sealed: sealed.clone(), last_step: step }),
            pending: None,
            recovery_codes: recovery_codes.clone(),
        };
        if let Some(credentials) = inner.usernames.get_mut(&user.username) {
            credentials.second_factor = true;
        }
        Ok(true)
    }

    async fn spend_factor(
        &self,
        user_id: &UserId,
        used: &FactorUse,
        replace: Option<&BTreeSet<String>>,
    ) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        let Some(user) = inner.users.get_mut(user_id) else { return Ok(false) };
        if !spend(&mut user.second_factor, used) {
            return Ok(false);
        }
        if let Some(replace) = replace {
            user.second_factor.recovery_codes = replace.clone();
        }
        Ok(true)
    }

    async fn remove_totp(&self, user: &User) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        let Some(stored) = inner.users.get_mut(&user.id) else { return Ok(false) };
        if !stored.second_factor.is_active() {
            return Ok(false);
        }
        stored.second_factor = SecondFactor { pending: stored.second_factor.pending.take(), ..SecondFactor::default() };
        if let Some(credentials) = inner.usernames.get_mut(&user.username) {
            credentials.second_factor = false;
        }
        Ok(true)
    }

    async fn put_pending_sign_in(&self, pending: &PendingSignIn) -> Result<(), StoreError> {
        self.lock().sign_ins.insert(pending.token_hash.clone(), pending.clone());
        Ok(())
    }

    async fn pending_sign_in(&self, token_hash: &str) -> Result<Option<PendingSignIn>, StoreError> {
        Ok(self.lock().sign_ins.get(token_hash).cloned())
    }

    async fn spend_sign_in_try(&self, pending: &PendingSignIn) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        match inner.sign_ins.get_mut(&pending.token_hash) {
            Some(stored) if stored.tries_left > 0 => {
                stored.tries_left -= 1;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn complete_sign_in(
        &self,
        pending: &PendingSignIn,
        used: &FactorUse,
        session: &Session,
        now: u64,
    ) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        let live = inner.sign_ins.get(&pending.token_hash).is_some_and(|stored| stored.is_live(now));
        let Some(user) = inner.users.get_mut(&pending.user_id) else { return Ok(false) };
        if !live || user.credential_generation != pending.credential_generation {
            return Ok(false);
        }
        let mut factor = user.second_factor.clone();
        if !spend(&mut factor, used) {
            return Ok(false);
        }
        user.second_factor = factor;
        inner.sign_ins.remove(&pending.token_hash);
        inner.sessions.insert((session.user_id.clone(), session.id.clone()), session.clone());
        Ok(true)
    }
}

impl OperatorStore for MemoryStore {
    async fn disable_account(&self, user: &User, disabled: &crate::domain::Disabled) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        let claimed = inner.usernames.get(&user.username).is_some_and(|claim| claim.user_id == user.id);
        let Some(stored) = inner.users.get_mut(&user.id).filter(|_| claimed) else { return Ok(false) };
        stored.disabled = Some(disabled.clone());
        stored.credential_generation += 1;
        let credentials = inner.usernames.get_mut(&user.username).expect("claimed");
        credentials.disabled = true;
        credentials.generation += 1;
        Ok(true)
    }

    async fn enable_account(&self, user: &User) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        let claimed = inner.usernames.get(&user.username).is_some_and(|claim| claim.user_id == user.id);
        let Some(stored) = inner.users.get_mut(&user.id).filter(|_| claimed) else { return Ok(false) };
        stored.disabled = None;
        inner.usernames.get_mut(&user.username).expect("claimed").disabled = false;
        Ok(true)
    }
}
