//! What operators do to an account ([`OperatorStore`]).

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};

use super::item::{n, s};
use super::schema::{usernames, users};
use super::DynamoStore;
use crate::domain::{Disabled, User};
use crate::store::{OperatorStore, StoreError};

impl DynamoStore {
    /// Sets the name's `disabled` flag, on the condition that the name is
    /// still the user's; `next_generation` moves its credential generation on.
    fn name_disabled(
        &self,
        user: &User,
        disabled: bool,
        next_generation: bool,
    ) -> Result<TransactWriteItem, StoreError> {
        let expression = match next_generation {
            true => "SET #disabled = :disabled ADD #generation :one",
            false => "SET #disabled = :disabled",
        };
        let mut update = Update::builder()
            .table_name(&self.tables.usernames)
            .key(usernames::USERNAME, s(user.username.as_str()))
            .update_expression(expression)
            .condition_expression("#owner = :user")
            .expression_attribute_names("#disabled", usernames::DISABLED)
            .expression_attribute_names("#owner", usernames::USER_ID)
            .expression_attribute_values(":disabled", AttributeValue::Bool(disabled))
            .expression_attribute_values(":user", s(user.id.as_str()));
        if next_generation {
            update = update
                .expression_attribute_names("#generation", usernames::CREDENTIAL_GENERATION)
                .expression_attribute_values(":one", n(1));
        }
        let update = update.build().map_err(|err| StoreError::Failed(err.into()))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}

impl OperatorStore for DynamoStore {
    async fn disable_account(&self, user: &User, disabled: &Disabled) -> Result<bool, StoreError> {
        // ADD: the generation moves on from whatever it is, so a password
        // change racing the disabling cannot bring it back.
        let user_item = Update::builder()
            .table_name(&self.tables.users)
            .key(users::ID, s(user.id.as_str()))
            .update_expression("SET #at = :at, #reason = :reason, #by = :by ADD #generation :one")
            .condition_expression("attribute_exists(#id)")
            .expression_attribute_names("#at", users::DISABLED_AT)
            .expression_attribute_names("#reason", users::DISABLED_REASON)
            .expression_attribute_names("#by", users::DISABLED_BY)
            .expression_attribute_names("#generation", users::CREDENTIAL_GENERATION)
            .expression_attribute_names("#id", users::ID)
            .expression_attribute_values(":at", n(disabled.at))
            .expression_attribute_values(":reason", s(&disabled.reason))
            .expression_attribute_values(":by", s(&disabled.by))
            .expression_attribute_values(":one", n(1))
            .build()
            .map_err(|err| StoreError::Failed(err.into()))?;
        self.transact(vec![
            TransactWriteItem::builder().update(user_item).build(),
            self.name_disabled(user, true, true)?,
        ])
        .await
    }

    async fn enable_account(&self, user: &User) -> Result<bool, StoreError> {
        let user_item = Update::builder()
            .table_name(&self.tables.users)
            .key(users::ID, s(user.id.as_str()))
            .update_expression("REMOVE #at, #reason, #by")
            .condition_expression("attribute_exists(#id)")
            .expression_attribute_names("#at", users::DISABLED_AT)
            .expression_attribute_names("#reason", users::DISABLED_REASON)
            .expression_attribute_names("#by", users::DISABLED_BY)
            .expression_attribute_names("#id", users::ID)
            .build()
            .map_err(|err| StoreError::Failed(err.into()))?;
        self.transact(vec![
            TransactWriteItem::builder().update(user_item).build(),
            self.name_disabled(user, false, false)?,
        ])
        .await
    }
}
