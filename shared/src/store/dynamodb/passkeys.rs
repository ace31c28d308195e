//! Passkeys and the WebAuthn ceremonies waiting for a browser ([`PasskeyStore`]).

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::errors::{classify, is_condition_failure};
use super::item::{get_n, get_s, n, parsed, s, Item};
use super::schema::{ceremonies, codes, passkeys};
use super::{key, DynamoStore};
use crate::domain::{Ceremony, CeremonyKey, PasskeyName, PasskeyRecord, UserId};
use crate::store::{PasskeyStore, StoreError};

impl TryFrom<&Item> for PasskeyRecord {
    type Error = StoreError;

    fn try_from(item: &Item) -> Result<Self, StoreError> {
        Ok(PasskeyRecord {
            user_id: parsed(item, passkeys::USER_ID, UserId::parse)?,
            id: get_s(item, passkeys::ID)?.to_owned(),
            name: parsed(item, passkeys::NAME, |name| PasskeyName::parse(Some(name)).ok())?,
            created_at: get_n(item, passkeys::CREATED_AT)?,
            last_used_at: item
                .contains_key(passkeys::LAST_USED_AT)
                .then(|| get_n(item, passkeys::LAST_USED_AT))
                .transpose()?,
            credential: get_s(item, passkeys::CREDENTIAL)?.to_owned(),
        })
    }
}

fn passkey_key(user_id: &UserId, id: &str) -> Item {
    Item::from([(passkeys::USER_ID.to_owned(), s(user_id.as_str())), (passkeys::ID.to_owned(), s(id))])
}

impl DynamoStore {
    /// Deletes every passkey of the user, one request each: after an
    /// account's deletion, where a failure leaves passkeys that sign
    /// nothing in (their user is gone).
    pub(super) async fn delete_passkeys(&self, user_id: &UserId) -> Result<(), StoreError> {
        for record in self.passkeys(user_id).await? {
            self.remove_passkey(user_id, &record.id).await?;
        }
        Ok(())
    }
}

impl PasskeyStore for DynamoStore {
    async fn put_ceremony(&self, ceremony: &Ceremony) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.tables.codes)
            .item(codes::CODE_KEY, s(&ceremonies::key(&ceremony.key)))
            .item(ceremonies::STATE, s(&ceremony.state))
            .item(codes::EXPIRES_AT, n(ceremony.expires_at))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn take_ceremony(&self, ceremony: &CeremonyKey, now: u64) -> Result<Option<String>, StoreError> {
        // Conditional: of concurrent deletions of one item, exactly one
        // finds it there (an unconditional one can report the old item to
        // more than one of them).
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.tables.codes)
            .set_key(Some(key(codes::CODE_KEY, &ceremonies::key(ceremony))))
            .condition_expression("attribute_exists(#key)")
            .expression_attribute_names("#key", codes::CODE_KEY)
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        let output = match deleted {
            Ok(output) => output,
            Err(err) if is_condition_failure(&err) => return Ok(None),
            Err(err) => return Err(classify(err)),
        };
        let Some(old) = output.attributes.filter(|old| !old.is_empty()) else { return Ok(None) };
        // TTL deletes late: an expired state is refused here, not by it.
        if get_n(&old, codes::EXPIRES_AT)? <= now {
            return Ok(None);
        }
        Ok(Some(get_s(&old, ceremonies::STATE)?.to_owned()))
    }

    async fn add_passkey(&self, record: &PasskeyRecord) -> Result<bool, StoreError> {
        let mut item = passkey_key(&record.user_id, &record.id);
        item.insert(passkeys::NAME.to_owned(), s(record.name.as_str()));
        item.insert(passkeys::CREATED_AT.to_owned(), n(record.created_at));
        item.insert(passkeys::CREDENTIAL.to_owned(), s(&record.credential));
        if let Some(at) = record.last_used_at {
            item.insert(passkeys::LAST_USED_AT.to_owned(), n(at));
        }
        let put = self
            .client
            .put_item()
            .table_name(&self.tables.passkeys)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#id)")
            .expression_attribute_names("#id", passkeys::ID)
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(err) if is_condition_failure(&err) => Ok(false),
            Err(err) => Err(classify(err)),
        }
    }

    async fn passkeys(&self, user_id: &UserId) -> Result<Vec<PasskeyRecord>, StoreError> {
        let mut found = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.tables.passkeys)
                .key_condition_expression("#user = :user")
                .expression_attribute_names("#user", passkeys::USER_ID)
                .expression_attribute_values(":user", s(user_id.as_str()))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(classify)?;
            for item in page.items() {
                found.push(PasskeyRecord::try_from(item)?);
            }
            start = page.last_evaluated_key.filter(|key| !key.is_empty());
            if start.is_none() {
                break;
            }
        }
        found.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(found)
    }

    async fn passkey(&self, user_id: &UserId, id: &str) -> Result<Option<PasskeyRecord>, StoreError> {
        let item = self.read(&self.tables.passkeys, passkey_key(user_id, id)).await?;
        item.as_ref().map(PasskeyRecord::try_from).transpose()
    }

    async fn passkey_used(
        &self,
        user_id: &UserId,
        id: &str,
        at: u64,
        credential: Option<&str>,
    ) -> Result<bool, StoreError> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.tables.passkeys)
            .set_key(Some(passkey_key(user_id, id)))
            .condition_expression("attribute_exists(#id)")
            .expression_attribute_names("#id", passkeys::ID)
            .expression_attribute_names("#used", passkeys::LAST_USED_AT)
            .expression_attribute_values(":used", n(at));
        update = match credential {
            Some(credential) => update
                .update_expression("SET #used = :used, #credential = :credential")
                .expression_attribute_names("#credential", passkeys::CREDENTIAL)
                .expression_attribute_values(":credential", AttributeValue::S(credential.to_owned())),
            None => update.update_expression("SET #used = :used"),
        };
        match update.send().await {
            Ok(_) => Ok(true),
            Err(err) if is_condition_failure(&err) => Ok(false),
            Err(err) => Err(classify(err)),
        }
    }

    async fn remove_passkey(&self, user_id: &UserId, id: &str) -> Result<bool, StoreError> {
        let output = self
            .client
            .delete_item()
            .table_name(&self.tables.passkeys)
            .set_key(Some(passkey_key(user_id, id)))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(classify)?;
        Ok(output.attributes.is_some_and(|old| !old.is_empty()))
    }
}
