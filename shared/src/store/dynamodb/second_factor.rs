//! The second factor on users' items, and logins waiting for it
//! ([`SecondFactorStore`]).

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};

use super::errors::{classify, is_condition_failure};
use super::item::{n, pending_sign_in, s, session_item, Item};
use super::schema::{codes, sessions, usernames, users};
use super::{key, DynamoStore};
use crate::domain::{FactorUse, PendingSignIn, SealedSecret, Session, User, UserId};
use crate::store::{SecondFactorStore, StoreError};

/// One conditional update of an item, its expression built a clause at a time.
#[derive(Default)]
struct Conditional {
    set: Vec<String>,
    remove: Vec<String>,
    delete: Vec<String>,
    conditions: Vec<String>,
    names: HashMap<String, String>,
    values: Item,
}

impl Conditional {
    fn name(&mut self, name: &str) -> String {
        let placeholder = format!("#{name}");
        self.names.insert(placeholder.clone(), name.to_owned());
        placeholder
    }

    fn value(&mut self, label: &str, value: AttributeValue) -> String {
        let placeholder = format!(":{label}");
        self.values.insert(placeholder.clone(), value);
        placeholder
    }

    fn set(&mut self, name: &str, value: AttributeValue) -> &mut Self {
        let (name, value) = (self.name(name), self.value(name, value));
        self.set.push(format!("{name} = {value}"));
        self
    }

    fn remove(&mut self, name: &str) -> &mut Self {
        let name = self.name(name);
        self.remove.push(name);
        self
    }

    fn condition(&mut self, condition: String) -> &mut Self {
        self.conditions.push(condition);
        self
    }

    /// Spends `used` on a user's item: a TOTP step later than the last
    /// (which needs an active secret), or a recovery code still in the set;
    /// and, when given, puts `replace` in place of the recovery codes (which
    /// then stands for deleting the one used).
    fn spending(&mut self, used: &FactorUse, replace: Option<&BTreeSet<String>>) -> &mut Self {
        match used {
            FactorUse::Totp { step } => {
                let secret = self.name(users::TOTP_SECRET);
                let last = self.name(users::TOTP_LAST_STEP);
                let step = self.value("step", n(*step));
                self.set.push(format!("{last} = {step}"));
                self.condition(format!("attribute_exists({secret}) AND {last} < {step}"));
            }
            FactorUse::RecoveryCode { hash } => {
                let codes = self.name(users::RECOVERY_CODES);
                let hash_value = self.value("used", s(hash));
                if replace.is_none() {
                    let used_set = self.value("used_set", AttributeValue::Ss(vec![hash.clone()]));
                    self.delete.push(format!("{codes} {used_set}"));
                }
                self.condition(format!("contains({codes}, {hash_value})"));
            }
        }
        if let Some(replace) = replace {
            let (codes, replacement) =
                (self.name(users::RECOVERY_CODES), self.value("replacement", recovery_set(replace)));
            self.set.push(format!("{codes} = {replacement}"));
        }
        self
    }

    fn expression(&self) -> String {
        let mut clauses = Vec::new();
        for (verb, parts) in [("SET", &self.set), ("REMOVE", &self.remove), ("DELETE", &self.delete)] {
            if !parts.is_empty() {
                clauses.push(format!("{verb} {}", parts.join(", ")));
            }
        }
        clauses.join(" ")
    }

    fn on(&self, table: &str, key: Item) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(table)
            .set_key(Some(key))
            .update_expression(self.expression())
            .condition_expression(self.conditions.join(" AND "))
            .set_expression_attribute_names(Some(self.names.clone()))
            .set_expression_attribute_values((!self.values.is_empty()).then(|| self.values.clone()))
            .build()
            .map_err(|err| StoreError::Failed(err.into()))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}

fn recovery_set(hashes: &BTreeSet<String>) -> AttributeValue {
    AttributeValue::Ss(hashes.iter().cloned().collect())
}

fn user_key(user_id: &UserId) -> Item {
    key(users::ID, user_id.as_str())
}

impl DynamoStore {
    /// Sets whether the user's name asks for a second factor at login, on
    /// the condition that the name is still the user's.
    fn name_demands_factor(&self, user: &User, demand: bool) -> Result<TransactWriteItem, StoreError> {
        let mut update = Conditional::default();
        update.set(usernames::SECOND_FACTOR, AttributeValue::Bool(demand));
        let (owner, user_id) = (update.name(usernames::USER_ID), update.value("owner", s(user.id.as_str())));
        update.condition(format!("{owner} = {user_id}"));
        update.on(&self.tables.usernames, key(usernames::USERNAME, user.username.as_str()))
    }
}

impl SecondFactorStore for DynamoStore {
    async fn put_pending_totp(&self, user_id: &UserId, sealed: &SealedSecret) -> Result<bool, StoreError> {
        let mut update = Conditional::default();
        update.set(users::TOTP_PENDING, AttributeValue::B(Blob::new(sealed.0.clone())));
        let (id, secret) = (update.name(users::ID), update.name(users::TOTP_SECRET));
        update.condition(format!("attribute_exists({id}) AND attribute_not_exists({secret})"));
        self.transact(vec![update.on(&self.tables.users, user_key(user_id))?]).await
    }

    async fn activate_totp(
        &self,
        user: &User,
        sealed: &SealedSecret,
        step: u64,
        recovery_codes: &BTreeSet<String>,
    ) -> Result<bool, StoreError> {
        let mut update = Conditional::default();
        update
            .set(users::TOTP_SECRET, AttributeValue::B(Blob::new(sealed.0.clone())))
            .set(users::TOTP_LAST_STEP, n(step))
            .set(users::RECOVERY_CODES, recovery_set(recovery_codes))
            .remove(users::TOTP_PENDING);
        let (pending, secret) = (update.name(users::TOTP_PENDING), update.name(users::TOTP_SECRET));
        let read = update.value("read", AttributeValue::B(Blob::new(sealed.0.clone())));
        update.condition(format!("{pending} = {read} AND attribute_not_exists({secret})"));
        let user_item = update.on(&self.tables.users, user_key(&user.id))?;
        self.transact(vec![user_item, self.name_demands_factor(user, true)?]).await
    }

    async fn spend_factor(
        &self,
        user_id: &UserId,
        used: &FactorUse,
        replace: Option<&BTreeSet<String>>,
    ) -> Result<bool, StoreError> {
        let mut update = Conditional::default();
        update.spending(used, replace);
        self.transact(vec![update.on(&self.tables.users, user_key(user_id))?]).await
    }

    async fn remove_totp(&self, user: &User) -> Result<bool, StoreError> {
        let mut update = Conditional::default();
        update.remove(users::TOTP_SECRET).remove(users::TOTP_LAST_STEP).remove(users::RECOVERY_CODES);
        let secret = update.name(users::TOTP_SECRET);
        update.condition(format!("attribute_exists({secret})"));
        let user_item = update.on(&self.tables.users, user_key(&user.id))?;
        self.transact(vec![user_item, self.name_demands_factor(user, false)?]).await
    }

    async fn put_pending_sign_in(&self, pending: &PendingSignIn) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.tables.codes)
            .item(codes::CODE_KEY, s(&codes::sign_in_key(&pending.token_hash)))
            .item(codes::USER_ID, s(pending.user_id.as_str()))
            .item(codes::CREDENTIAL_GENERATION, n(pending.credential_generation))
            .item(codes::USER_AGENT, s(&pending.client.user_agent))
            .item(codes::SOURCE_IP, s(&pending.client.source_ip))
            .item(codes::EXPIRES_AT, n(pending.expires_at))
            .item(codes::TRIES_LEFT, n(pending.tries_left))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn pending_sign_in(&self, token_hash: &str) -> Result<Option<PendingSignIn>, StoreError> {
        let item = self.read(&self.tables.codes, key(codes::CODE_KEY, &codes::sign_in_key(token_hash))).await?;
        item.as_ref().map(|item| pending_sign_in(item, token_hash)).transpose()
    }

    async fn spend_sign_in_try(&self, pending: &PendingSignIn) -> Result<bool, StoreError> {
        let spent = self
            .client
            .update_item()
            .table_name(&self.tables.codes)
            .key(codes::CODE_KEY, s(&codes::sign_in_key(&pending.token_hash)))
            .update_expression("SET #tries = #tries - :one")
            .condition_expression("#tries > :zero")
            .expression_attribute_names("#tries", codes::TRIES_LEFT)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":zero", n(0))
            .send()
            .await;
        match spent {
            Ok(_) => Ok(true),
            Err(err) if is_condition_failure(&err) => Ok(false),
            Err(err) => Err(classify(err)),
        }
    }

    async fn complete_sign_in(
        &self,
        pending: &PendingSignIn,
        used: &FactorUse,
        session: &Session,
        now: u64,
    ) -> Result<bool, StoreError> {
        let failed = |err: aws_sdk_dynamodb::error::BuildError| StoreError::Failed(err.into());
        let consume = Delete::builder()
            .table_name(&self.tables.codes)
            .key(codes::CODE_KEY, s(&codes::sign_in_key(&pending.token_hash)))
            .condition_expression("#user = :user AND #tries > :zero AND #expires > :now")
            .expression_attribute_names("#user", codes::USER_ID)
            .expression_attribute_names("#tries", codes::TRIES_LEFT)
            .expression_attribute_names("#expires", codes::EXPIRES_AT)
            .expression_attribute_values(":user", s(pending.user_id.as_str()))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":now", n(now))
            .build()
            .map_err(failed)?;
        let mut spend = Conditional::default();
        spend.spending(used, None);
        let generation = spend.name(users::CREDENTIAL_GENERATION);
        let read = spend.value("generation", n(pending.credential_generation));
        // Users stored before generations have none, and are of generation 0.
        spend.condition(match pending.credential_generation {
            0 => format!("(attribute_not_exists({generation}) OR {generation} = {read})"),
            _ => format!("{generation} = {read}"),
        });
        let store_session = Put::builder()
            .table_name(&self.tables.sessions)
            .set_item(Some(session_item(session)))
            .condition_expression("attribute_not_exists(#sid)")
            .expression_attribute_names("#sid", sessions::SID)
            .build()
            .map_err(failed)?;
        self.transact(vec![
            TransactWriteItem::builder().delete(consume).build(),
            spend.on(&self.tables.users, user_key(&pending.user_id))?,
            TransactWriteItem::builder().put(store_session).build(),
        ])
        .await
    }
}
