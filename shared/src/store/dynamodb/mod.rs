//! The DynamoDB adapter. All mapping between items and domain types is here.

mod activity;
mod email;
mod errors;
mod item;
mod operator;
mod passkeys;
mod recovery;
pub mod schema;
mod second_factor;

use std::sync::Arc;
use std::time::Duration;

use ring::hmac;
use secrecy::{ExposeSecret, SecretString};

use aws_sdk_dynamodb::types::{ConditionCheck, Delete, Put, ReturnValue, TransactWriteItem, Update};
use aws_sdk_dynamodb::Client;

use self::errors::{classify, is_condition_failure, is_transaction_conflict, transaction_condition_failed};
use self::item::{n, s, session_item, Item};
use self::schema::{login_attempts, sessions, sign_ups, usernames, users};
use super::{
    AccountStore, CredentialStore, Credentials, LoginAttemptStore, PasswordChange, SessionStore, SignUpStore,
    StoreError, TableNames, UserStore,
};
use crate::domain::{AddressAttempts, AddressClaim, AddressRecord, NameAttempts, NameClaim, NameRecord, Standing};
use crate::domain::{Rotation, Session, SessionId, User, UserId, Username};
use crate::passwords::PasswordHash;
use crate::sdk_settings::{SdkSettings, Service};

/// The DynamoDB client, built once per process.
pub fn client(sdk: &SdkSettings) -> Client {
    Client::new(&sdk.sdk_config(Service::DynamoDb))
}

#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    tables: TableNames,
    /// Keys the login-attempts items by the username's keyed hash; the
    /// functions that check passwords set it ([`DynamoStore::with_username_key`]).
    username_key: Option<Arc<hmac::Key>>,
    /// How long an event of the activity is kept.
    event_retention_days: u64,
}

impl DynamoStore {
    pub fn new(client: Client, tables: TableNames) -> Self {
        let event_retention_days = crate::config::DEFAULT_EVENT_RETENTION_DAYS;
        DynamoStore { client, tables, username_key: None, event_retention_days }
    }

    /// The store, keeping each event of the activity `days` days.
    pub fn with_event_retention(self, days: u64) -> Self {
        DynamoStore { event_retention_days: days, ..self }
    }

    /// The store with the key under which the login-attempts table knows
    /// usernames: only as their HMAC-SHA-256, never as typed, so a password
    /// typed into the name field is not kept there either. The logs' key:
    /// a log line's pseudonym is the start of the item's key.
    pub fn with_username_key(self, key: &SecretString) -> Self {
        let key = hmac::Key::new(hmac::HMAC_SHA256, key.expose_secret().as_bytes());
        DynamoStore { username_key: Some(Arc::new(key)), ..self }
    }

    /// What the login-attempts table knows of a username: its keyed hash.
    fn attempts_name(&self, username: &Username) -> Result<String, StoreError> {
        let key = self
            .username_key
            .as_ref()
            .ok_or_else(|| StoreError::Failed("the login-attempts table is used without the username key".into()))?;
        Ok(login_attempts::name_key(key, username.as_str()))
    }

    pub fn from_settings(sdk: &SdkSettings, tables: TableNames) -> Self {
        DynamoStore::new(client(sdk), tables)
    }

    /// Every item of the user's sessions (strongly consistent, page by page),
    /// or only the attributes `only` of each (all of them when empty).
    async fn query_sessions(&self, user_id: &UserId, only: &[&str]) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let mut query = self
                .client
                .query()
                .table_name(&self.tables.sessions)
                .key_condition_expression("#user = :user")
                .expression_attribute_names("#user", sessions::USER_ID)
                .expression_attribute_values(":user", s(user_id.as_str()))
                .consistent_read(true)
                .set_exclusive_start_key(start);
            if !only.is_empty() {
                let names: Vec<String> = (0..only.len()).map(|index| format!("#only{index}")).collect();
                query = query.projection_expression(names.join(", "));
                for (name, attribute) in names.iter().zip(only) {
                    query = query.expression_attribute_names(name, *attribute);
                }
            }
            let page = query.send().await.map_err(classify)?;
            found.extend(page.items.unwrap_or_default());
            match page.last_evaluated_key {
                Some(next) => start = Some(next),
                None => return Ok(found),
            }
        }
    }

    /// Writes the items in one transaction: `false` when a condition refused
    /// it. Each attempt has its own client request token, so the SDK's
    /// retry of an attempt whose answer was lost cannot apply it twice, nor
    /// report as refused what it applied.
    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<bool, StoreError> {
        let mut attempt = 0;
        loop {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .client_request_token(uuid::Uuid::new_v4().to_string())
                .send()
                .await;
            match result {
                Ok(_) => return Ok(true),
                Err(err) if transaction_condition_failed(&err) => return Ok(false),
                Err(err) if is_transaction_conflict(&err) && attempt < TRANSACTION_CONFLICT_RETRIES => {
                    attempt += 1;
                    tokio::time::sleep(conflict_backoff(attempt)).await;
                }
                Err(err) => return Err(classify(err)),
            }
        }
    }

    /// Ends the sessions that do not fit into one transaction beside `others`
    /// items, and returns those that do. Ending a session early is safe: the
    /// account stays whole if the transaction then fails.
    async fn end_overflow(
        &self,
        user_id: &UserId,
        mut ids: Vec<SessionId>,
        others: usize,
    ) -> Result<Vec<SessionId>, StoreError> {
        let room = TRANSACTION_ITEMS - others;
        if ids.len() > room {
            let overflow = ids.split_off(room);
            self.end_sessions(user_id, &overflow).await?;
        }
        Ok(ids)
    }

    /// A transaction's deletion of one session.
    fn session_deletion(&self, user_id: &UserId, id: &SessionId) -> Result<TransactWriteItem, StoreError> {
        let delete = Delete::builder()
            .table_name(&self.tables.sessions)
            .set_key(Some(session_key(user_id, id)))
            .build()
            .map_err(|err| StoreError::Failed(err.into()))?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// The item of `table` under `key`, if any. Every read is strongly
    /// consistent (twice the read capacity of an eventually consistent one):
    /// each decides who may do what, and must see every write before it.
    async fn read(&self, table: &str, key: Item) -> Result<Option<Item>, StoreError> {
        let read = self.client.get_item().table_name(table).set_key(Some(key)).consistent_read(true);
        Ok(read.send().await.map_err(classify)?.item)
    }
}

/// A table's key of one string attribute.
fn key(name: &str, value: &str) -> Item {
    Item::from([(name.to_owned(), s(value))])
}

/// A session's key: its user, then its id.
fn session_key(user_id: &UserId, id: &SessionId) -> Item {
    Item::from([(sessions::USER_ID.to_owned(), s(user_id.as_str())), (sessions::SID.to_owned(), s(id.as_str()))])
}

/// How often a transaction is retried when DynamoDB reports a conflicting
/// concurrent one on the same items (two sign-ups for one name, a logout
/// during a password change, logins at once beside one); the retry then sees
/// the winner's writes.
const TRANSACTION_CONFLICT_RETRIES: u32 = 7;

/// The wait before the `attempt`-th retry of a conflicting transaction:
/// doubling from 10 ms up to 320 ms, with up to as much again at random, so
/// that transactions that conflicted once do not meet again in step. All
/// the retries together wait under two seconds.
fn conflict_backoff(attempt: u32) -> Duration {
    let base = 10u64 << attempt.saturating_sub(1).min(5);
    let jitter = uuid::Uuid::new_v4().as_u128() as u64 % (base + 1);
    Duration::from_millis(base + jitter)
}

/// The most items one DynamoDB transaction may write.
const TRANSACTION_ITEMS: usize = 100;

impl UserStore for DynamoStore {
    async fn create_user(&self, user: &User, hash: &PasswordHash) -> Result<(), StoreError> {
        let claim = Put::builder()
            .table_name(&self.tables.usernames)
            .item(usernames::USERNAME, s(user.username.as_str()))
            .item(usernames::USER_ID, s(user.id.as_str()))
            .item(usernames::PASSWORD_HASH, s(hash.as_phc()))
            .item(usernames::CREDENTIAL_GENERATION, n(user.credential_generation))
            .condition_expression("attribute_not_exists(#key)")
            .expression_attribute_names("#key", usernames::USERNAME)
            .build()
            .map_err(|err| StoreError::Failed(err.into()))?;
        let profile = Put::builder()
            .table_name(&self.tables.users)
            // The address first: `set_item` replaces the whole item.
            .set_item(Some(self::item::with_email(Item::new(), user.email.as_ref())))
            .item(users::ID, s(user.id.as_str()))
            .item(users::USERNAME, s(user.username.as_str()))
            .item(users::CREATED_AT, s(&user.created_at_rfc3339()))
            .item(users::CREDENTIAL_GENERATION, n(user.credential_generation))
            .condition_expression("attribute_not_exists(#key)")
            .expression_attribute_names("#key", users::ID)
            .build()
            .map_err(|err| StoreError::Failed(err.into()))?;

        let items =
            vec![TransactWriteItem::builder().put(claim).build(), TransactWriteItem::builder().put(profile).build()];
        // A refusal can only be the claim's: the user id is new and random.
        match self.transact(items).await? {
            true => Ok(()),
            false => Err(StoreError::UsernameTaken),
        }
    }

    async fn get_user(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        // Strongly consistent: every token check reads its user, so a user
        // who just signed up must be found, and one just deleted must not.
        let item = self.read(&self.tables.users, key(users::ID, id.as_str())).await?;
        item.as_ref().map(User::try_from).transpose()
    }
}

impl AccountStore for DynamoStore {
    async fn delete_account(&self, user: &User) -> Result<bool, StoreError> {
        let profile = Delete::builder()
            .table_name(&self.tables.users)
            .key(users::ID, s(user.id.as_str()))
            .condition_expression("attribute_exists(#key)")
            .expression_attribute_names("#key", users::ID)
            .build()
            .map_err(|err| StoreError::Failed(err.into()))?;
        let claim = Delete::builder()
            .table_name(&self.tables.usernames)
            .key(usernames::USERNAME, s(user.username.as_str()))
            .condition_expression("#owner = :user")
            .expression_attribute_names("#owner", usernames::USER_ID)
            .expression_attribute_values(":user", s(user.id.as_str()))
            .build()
            .map_err(|err| StoreError::Failed(err.into()))?;
        let mut items = vec![
            TransactWriteItem::builder().delete(profile).build(),
            TransactWriteItem::builder().delete(claim).build(),
        ];
        let address = user.email.as_ref().filter(|email| email.verified).map(|email| &email.address);
        items.extend(self.email_deletions(&user.id, address)?);
        let sessions = self.end_overflow(&user.id, self.session_ids(&user.id).await?, items.len()).await?;
        for id in &sessions {
            items.push(self.session_deletion(&user.id, id)?);
        }
        if !self.transact(items).await? {
            return Ok(false);
        }
        // A login that read the claim before the deletion may store its
        // session after the list above was read. User ids are never reused:
        // every session left under this one is such a straggler.
        let sweep = async { self.end_sessions(&user.id, &self.session_ids(&user.id).await?).await };
        if let Err(err) = sweep.await {
            // The account is gone; a straggler's tokens are refused all the
            // same (its user is gone), and its record expires.
            tracing::warn!(error = %err, "sessions left after an account deletion");
        }
        if let Err(err) = self.delete_passkeys(&user.id).await {
            tracing::warn!(error = %err, "passkeys left after an account deletion");
        }
        Ok(true)
    }
}

impl CredentialStore for DynamoStore {
    async fn credentials(&self, username: &Username) -> Result<Option<Credentials>, StoreError> {
        let key = key(usernames::USERNAME, username.as_str());
        let item = self.read(&self.tables.usernames, key).await?;
        item.as_ref().map(Credentials::try_from).transpose()
    }

    async fn change_password(&self, change: &PasswordChange) -> Result<bool, StoreError> {
        let next = n(change.next_generation());
        let hash = Update::builder()
            .table_name(&self.tables.usernames)
            .key(usernames::USERNAME, s(change.username.as_str()))
            .update_expression("SET #hash = :to, #generation = :next")
            // Only from the hash that was checked: of two changes from one
            // password, one wins and the other changes nothing.
            .condition_expression("#owner = :user AND #hash = :from")
            .expression_attribute_names("#hash", usernames::PASSWORD_HASH)
            .expression_attribute_names("#generation", usernames::CREDENTIAL_GENERATION)
            .expression_attribute_names("#owner", usernames::USER_ID)
            .expression_attribute_values(":user", s(change.user_id.as_str()))
            .expression_attribute_values(":from", s(change.from.as_phc()))
            .expression_attribute_values(":to", s(change.to.as_phc()))
            .expression_attribute_values(":next", next.clone())
            .build()
            .map_err(|err| StoreError::Failed(err.into()))?;
        // The generation every token check reads: sessions stored under the
        // old one, by a login however late, open nothing from now on.
        let user = Update::builder()
            .table_name(&self.tables.users)
            .key(users::ID, s(change.user_id.as_str()))
            .update_expression("SET #generation = :next")
            .condition_expression("attribute_exists(#id)")
            .expression_attribute_names("#generation", users::CREDENTIAL_GENERATION)
            .expression_attribute_names("#id", users::ID)
            .expression_attribute_values(":next", next.clone())
            .build()
            .map_err(|err| StoreError::Failed(err.into()))?;
        // The kept session moves along only from the generation checked: a
        // session some change left behind is never brought forward.
        let kept_condition = match change.generation {
            0 => "attribute_exists(#sid) AND (attribute_not_exists(#generation) OR #generation = :current)",
            _ => "attribute_exists(#sid) AND #generation = :current",
        };
        let kept = Update::builder()
            .table_name(&self.tables.sessions)
            .set_key(Some(session_key(&change.user_id, &change.keep)))
            .update_expression("SET #generation = :next")
            .condition_expression(kept_condition)
            .expression_attribute_names("#generation", sessions::CREDENTIAL_GENERATION)
            .expression_attribute_names("#sid", sessions::SID)
            .expression_attribute_values(":current", n(change.generation))
            .expression_attribute_values(":next", next)
            .build()
            .map_err(|err| StoreError::Failed(err.into()))?;
        self.transact(vec![
            TransactWriteItem::builder().update(hash).build(),
            TransactWriteItem::builder().update(user).build(),
            TransactWriteItem::builder().update(kept).build(),
        ])
        .await
    }
}

impl SignUpStore for DynamoStore {
    async fn count_sign_up(&self, address: &str, start: u64, end: u64, limit: u64) -> Result<bool, StoreError> {
        self.count_in_window(&sign_ups::window_key(address, start), end, limit).await
    }
}

impl DynamoStore {
    /// Counts one more under `window` (an item of the sign-ups table, gone
    /// by TTL at `end`), if fewer than `limit` were counted; `false`, and
    /// nothing written, otherwise.
    pub(super) async fn count_in_window(&self, window: &str, end: u64, limit: u64) -> Result<bool, StoreError> {
        let counted = self
            .client
            .update_item()
            .table_name(&self.tables.sign_ups)
            .key(sign_ups::WINDOW, s(window))
            .update_expression("ADD #count :one SET #expires = :end")
            .condition_expression("attribute_not_exists(#count) OR #count < :limit")
            .expression_attribute_names("#count", sign_ups::COUNT)
            .expression_attribute_names("#expires", sign_ups::EXPIRES_AT)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":end", n(end))
            .expression_attribute_values(":limit", n(limit))
            .send()
            .await;
        match counted {
            Ok(_) => Ok(true),
            Err(err) if is_condition_failure(&err) => Ok(false),
            Err(err) => Err(classify(err)),
        }
    }
}

impl LoginAttemptStore for DynamoStore {
    async fn standing(&self, username: &Username, address: &str, now: u64) -> Result<Standing, StoreError> {
        let table = &self.tables.login_attempts;
        let name = self.attempts_name(username)?;
        let address_key = key(login_attempts::USERNAME, &login_attempts::address_key(&name, address));
        let name_key = key(login_attempts::USERNAME, &name);
        let (address, name) = tokio::join!(self.read(table, address_key), self.read(table, name_key));
        let address = match address? {
            Some(item) => AddressRecord::try_from(&item)?.attempts_at(now),
            None => AddressAttempts::default(),
        };
        let name = match name? {
            Some(item) => NameRecord::try_from(&item)?.attempts_at(now),
            None => NameAttempts::default(),
        };
        Ok(Standing { address, name })
    }

    async fn claim_address(
        &self,
        username: &Username,
        address: &str,
        claim: &AddressClaim,
    ) -> Result<bool, StoreError> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.tables.login_attempts)
            .key(login_attempts::USERNAME, s(&login_attempts::address_key(&self.attempts_name(username)?, address)))
            .update_expression(
                "SET #failures = :failures, #locked = :locked, #window = :window, #expires = :expires, \
                 #known = if_not_exists(#known, :never), #known_for = if_not_exists(#known_for, :nobody)",
            )
            .expression_attribute_names("#failures", login_attempts::FAILURES)
            .expression_attribute_names("#locked", login_attempts::LOCKED_UNTIL)
            .expression_attribute_names("#expires", login_attempts::EXPIRES_AT)
            .expression_attribute_names("#known", login_attempts::KNOWN_UNTIL)
            .expression_attribute_names("#window", login_attempts::WINDOW_ENDS_AT)
            .expression_attribute_values(":window", n(claim.window_ends_at))
            .expression_attribute_names("#known_for", login_attempts::KNOWN_FOR)
            .expression_attribute_values(":nobody", s(""))
            .expression_attribute_values(":failures", n(claim.failures))
            .expression_attribute_values(":locked", n(claim.locked_until))
            .expression_attribute_values(":expires", n(claim.expires_at))
            .expression_attribute_values(":never", n(0));
        // Only over the count just read, and never during a lock: of two
        // claims from one reading, one is written; no lock is ever shortened.
        update = match claim.expected {
            None => update.condition_expression("attribute_not_exists(#failures)"),
            Some(expected) => update
                .condition_expression("#failures = :expected AND #locked <= :at")
                .expression_attribute_values(":expected", n(expected))
                .expression_attribute_values(":at", n(claim.at)),
        };
        match update.send().await {
            Ok(_) => Ok(true),
            Err(err) if is_condition_failure(&err) => Ok(false),
            Err(err) => Err(classify(err)),
        }
    }

    async fn claim_name(&self, username: &Username, claim: &NameClaim) -> Result<bool, StoreError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.tables.login_attempts)
            .key(login_attempts::USERNAME, s(&self.attempts_name(username)?))
            .expression_attribute_names("#failures", login_attempts::FAILURES)
            .expression_attribute_names("#expires", login_attempts::EXPIRES_AT)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":expires", n(claim.expires_at))
            .expression_attribute_values(":at", n(claim.at));
        let update = match claim.restart {
            // The window ended: a count of one, unless another claim restarted it first.
            true => update
                .update_expression("SET #failures = :one, #expires = :expires")
                .condition_expression("attribute_not_exists(#failures) OR #expires <= :at"),
            // An atomic counter that stops at the cap.
            false => update
                .update_expression("ADD #failures :one SET #expires = :expires")
                .condition_expression("attribute_not_exists(#failures) OR (#failures < :cap AND #expires > :at)")
                .expression_attribute_values(":cap", n(claim.cap)),
        };
        match update.send().await {
            Ok(_) => Ok(true),
            Err(err) if is_condition_failure(&err) => Ok(false),
            Err(err) => Err(classify(err)),
        }
    }

    async fn mark_known(
        &self,
        username: &Username,
        address: &str,
        owner: &UserId,
        known_until: u64,
    ) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.tables.login_attempts)
            .item(login_attempts::USERNAME, s(&login_attempts::address_key(&self.attempts_name(username)?, address)))
            .item(login_attempts::FAILURES, n(0))
            .item(login_attempts::LOCKED_UNTIL, n(0))
            .item(login_attempts::KNOWN_UNTIL, n(known_until))
            .item(login_attempts::KNOWN_FOR, s(owner.as_str()))
            .item(login_attempts::WINDOW_ENDS_AT, n(0))
            .item(login_attempts::EXPIRES_AT, n(known_until))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn forget_name(&self, username: &Username) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.tables.login_attempts)
            .key(login_attempts::USERNAME, s(&self.attempts_name(username)?))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }
}

impl SessionStore for DynamoStore {
    async fn create_session(&self, session: &Session) -> Result<(), StoreError> {
        let created = self
            .client
            .put_item()
            .table_name(&self.tables.sessions)
            .set_item(Some(session_item(session)))
            .condition_expression("attribute_not_exists(#sid)")
            .expression_attribute_names("#sid", sessions::SID)
            .send()
            .await;
        match created {
            Ok(_) => Ok(()),
            // The id is new and random: if it exists, it is this very put,
            // landed once already and retried by the SDK after a lost answer.
            Err(err) if is_condition_failure(&err) => Ok(()),
            Err(err) => Err(classify(err)),
        }
    }

    async fn start_session(
        &self,
        session: &Session,
        username: &Username,
        checked: &PasswordHash,
    ) -> Result<bool, StoreError> {
        let put = Put::builder()
            .table_name(&self.tables.sessions)
            .set_item(Some(session_item(session)))
            .condition_expression("attribute_not_exists(#sid)")
            .expression_attribute_names("#sid", sessions::SID)
            .build()
            .map_err(|err| StoreError::Failed(err.into()))?;
        let credentials_unchanged = ConditionCheck::builder()
            .table_name(&self.tables.usernames)
            .key(usernames::USERNAME, s(username.as_str()))
            .condition_expression("#owner = :user AND #hash = :checked")
            .expression_attribute_names("#owner", usernames::USER_ID)
            .expression_attribute_names("#hash", usernames::PASSWORD_HASH)
            .expression_attribute_values(":user", s(session.user_id.as_str()))
            .expression_attribute_values(":checked", s(checked.as_phc()))
            .build()
            .map_err(|err| StoreError::Failed(err.into()))?;
        // The session id is new and random, so only the check can refuse it.
        self.transact(vec![
            TransactWriteItem::builder().put(put).build(),
            TransactWriteItem::builder().condition_check(credentials_unchanged).build(),
        ])
        .await
    }

    async fn session(&self, user_id: &UserId, id: &SessionId) -> Result<Option<Session>, StoreError> {
        let item = self.read(&self.tables.sessions, session_key(user_id, id)).await?;
        item.as_ref().map(Session::try_from).transpose()
    }

    async fn sessions(&self, user_id: &UserId) -> Result<Vec<Session>, StoreError> {
        let items = self.query_sessions(user_id, &[]).await?;
        items.iter().map(Session::try_from).collect()
    }

    async fn session_ids(&self, user_id: &UserId) -> Result<Vec<SessionId>, StoreError> {
        let items = self.query_sessions(user_id, &[sessions::SID]).await?;
        let id = |item: &Item| item.get(sessions::SID)?.as_s().ok().and_then(|id| SessionId::parse(id));
        Ok(items.iter().filter_map(id).collect())
    }

    async fn rotate(&self, rotation: &Rotation) -> Result<Option<Session>, StoreError> {
        // Without an idle limit, the idle end is the absolute end.
        let idle_ends_at = match rotation.idle {
            Some(_) => ":idle_ends_at",
            None => "#expires",
        };
        let mut update = self
            .client
            .update_item()
            .table_name(&self.tables.sessions)
            .set_key(Some(session_key(&rotation.user_id, &rotation.session_id)))
            .update_expression(format!(
                "SET #hash = :next, #previous = :spent, #spent_at = :now, #refreshed = :now, \
                 #idle_ends = {idle_ends_at} ADD #generation :one"
            ))
            // Only from the token it spends, and only while the session lives:
            // of two refreshes with one token, one rotates and the other sees
            // it did; an ended (deleted) session is never brought back.
            .condition_expression("#hash = :spent AND #expires > :now AND #idle_ends > :now")
            .expression_attribute_names("#hash", sessions::REFRESH_HASH)
            .expression_attribute_names("#previous", sessions::PREVIOUS_HASH)
            .expression_attribute_names("#spent_at", sessions::PREVIOUS_SPENT_AT)
            .expression_attribute_names("#refreshed", sessions::LAST_REFRESHED_AT)
            .expression_attribute_names("#idle_ends", sessions::IDLE_ENDS_AT)
            .expression_attribute_names("#expires", sessions::EXPIRES_AT)
            .expression_attribute_names("#generation", sessions::GENERATION)
            .expression_attribute_values(":next", s(&rotation.next.0))
            .expression_attribute_values(":spent", s(&rotation.spent.0))
            .expression_attribute_values(":now", n(rotation.at))
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::AllNew);
        if let Some(idle) = rotation.idle {
            update = update.expression_attribute_values(":idle_ends_at", n(rotation.at.saturating_add(idle)));
        }
        match update.send().await {
            Ok(output) => Session::try_from(&output.attributes.unwrap_or_default()).map(Some),
            Err(err) if is_condition_failure(&err) => Ok(None),
            Err(err) => Err(classify(err)),
        }
    }

    async fn session_ages(&self, user_id: &UserId) -> Result<Vec<(SessionId, u64)>, StoreError> {
        let items = self.query_sessions(user_id, &[sessions::SID, sessions::LAST_REFRESHED_AT]).await?;
        let age = |item: &Item| {
            let id = item.get(sessions::SID)?.as_s().ok().and_then(|id| SessionId::parse(id))?;
            // An item whose time does not decode is the first to go.
            let refreshed = item::get_n(item, sessions::LAST_REFRESHED_AT).unwrap_or(0);
            Some((id, refreshed))
        };
        Ok(items.iter().filter_map(age).collect())
    }

    async fn end_sessions(&self, user_id: &UserId, ids: &[SessionId]) -> Result<(), StoreError> {
        // A transaction's worth at a time: ceil(n / 100) calls, one after
        // the other, for n sessions; one session is one plain deletion.
        if let [id] = ids {
            return self.end_session(user_id, id).await.map(drop);
        }
        for chunk in ids.chunks(TRANSACTION_ITEMS) {
            let deletions = chunk.iter().map(|id| self.session_deletion(user_id, id)).collect::<Result<_, _>>()?;
            // Deletions have no condition: only a fault refuses them.
            self.transact(deletions).await?;
        }
        Ok(())
    }

    async fn end_session(&self, user_id: &UserId, id: &SessionId) -> Result<bool, StoreError> {
        let output = self
            .client
            .delete_item()
            .table_name(&self.tables.sessions)
            .set_key(Some(session_key(user_id, id)))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(classify)?;
        Ok(output.attributes.is_some_and(|old| !old.is_empty()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflict_retries_back_off_and_stay_bounded() {
        for attempt in 1..=TRANSACTION_CONFLICT_RETRIES {
            let base = Duration::from_millis(10 << (attempt - 1).min(5));
            let wait = conflict_backoff(attempt);
            assert!(wait >= base && wait <= 2 * base, "attempt {attempt}: {wait:?}");
        }
        let most: Duration =
            (1..=TRANSACTION_CONFLICT_RETRIES).map(|a| 2 * Duration::from_millis(10 << (a - 1).min(5))).sum();
        assert!(most <= Duration::from_secs(3), "{most:?}");
    }
}
