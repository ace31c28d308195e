//! Account recovery's counts and the password reset ([`RecoveryStore`]).

use aws_sdk_dynamodb::types::{TransactWriteItem, Update};

use super::errors::{classify, is_condition_failure};
use super::item::{n, s};
use super::schema::{codes, sign_ups, usernames, users};
use super::DynamoStore;
use crate::domain::UserId;
use crate::store::{PasswordReset, RecoveryStore, StoreError, RECOVERIES_PER_USER_PER_HOUR, RECOVERY_INTERVAL_SECONDS};

const HOUR: u64 = 3600;

impl RecoveryStore for DynamoStore {
    async fn count_recovery(&self, address: &str, start: u64, end: u64, limit: u64) -> Result<bool, StoreError> {
        self.count_in_window(&sign_ups::recovery_window_key(address, start), end, limit).await
    }

    async fn admit_recovery(&self, user_id: &UserId, now: u64) -> Result<bool, StoreError> {
        let key = s(&codes::recovery_requests_key(user_id));
        let minute_ago = n(now.saturating_sub(RECOVERY_INTERVAL_SECONDS));
        let hour_ago = n(now.saturating_sub(HOUR));
        // An hour of its own: none counted yet, or the last hour is over.
        let new_hour = self
            .client
            .update_item()
            .table_name(&self.tables.codes)
            .key(codes::CODE_KEY, key.clone())
            .update_expression("SET #last = :now, #start = :now, #count = :one, #expires = :end")
            .condition_expression("attribute_not_exists(#key) OR (#start <= :hour_ago AND #last <= :minute_ago)")
            .expression_attribute_names("#key", codes::CODE_KEY)
            .expression_attribute_names("#last", codes::LAST_AT)
            .expression_attribute_names("#start", codes::HOUR_START)
            .expression_attribute_names("#count", codes::HOUR_COUNT)
            .expression_attribute_names("#expires", codes::EXPIRES_AT)
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":end", n(now + HOUR))
            .expression_attribute_values(":hour_ago", hour_ago.clone())
            .expression_attribute_values(":minute_ago", minute_ago.clone())
            .send()
            .await;
        match new_hour {
            Ok(_) => return Ok(true),
            Err(err) if is_condition_failure(&err) => {}
            Err(err) => return Err(classify(err)),
        }
        // The same hour: a minute since the last, and room in the hour.
        let same_hour = self
            .client
            .update_item()
            .table_name(&self.tables.codes)
            .key(codes::CODE_KEY, key)
            .update_expression("SET #last = :now ADD #count :one")
            .condition_expression("#start > :hour_ago AND #last <= :minute_ago AND #count < :most")
            .expression_attribute_names("#last", codes::LAST_AT)
            .expression_attribute_names("#start", codes::HOUR_START)
            .expression_attribute_names("#count", codes::HOUR_COUNT)
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":hour_ago", hour_ago)
            .expression_attribute_values(":minute_ago", minute_ago)
            .expression_attribute_values(":most", n(RECOVERIES_PER_USER_PER_HOUR))
            .send()
            .await;
        match same_hour {
            Ok(_) => Ok(true),
            Err(err) if is_condition_failure(&err) => Ok(false),
            Err(err) => Err(classify(err)),
        }
    }

    async fn reset_password(&self, reset: &PasswordReset) -> Result<bool, StoreError> {
        let failed = |err: aws_sdk_dynamodb::error::BuildError| StoreError::Failed(err.into());
        let code = &reset.code;
        let consume = self.code_consumption(code, reset.now)?;
        let next = n(reset.generation + 1);
        // From the credentials read: a password changed meanwhile wins.
        let current = match reset.generation {
            0 => "#owner = :user AND (attribute_not_exists(#generation) OR #generation = :current)",
            _ => "#owner = :user AND #generation = :current",
        };
        let hash = Update::builder()
            .table_name(&self.tables.usernames)
            .key(usernames::USERNAME, s(reset.username.as_str()))
            .update_expression("SET #hash = :to, #generation = :next")
            .condition_expression(current)
            .expression_attribute_names("#hash", usernames::PASSWORD_HASH)
            .expression_attribute_names("#generation", usernames::CREDENTIAL_GENERATION)
            .expression_attribute_names("#owner", usernames::USER_ID)
            .expression_attribute_values(":user", s(code.user_id.as_str()))
            .expression_attribute_values(":to", s(reset.to.as_phc()))
            .expression_attribute_values(":current", n(reset.generation))
            .expression_attribute_values(":next", next.clone())
            .build()
            .map_err(failed)?;
        let user = Update::builder()
            .table_name(&self.tables.users)
            .key(users::ID, s(code.user_id.as_str()))
            .update_expression("SET #generation = :next")
            .condition_expression("attribute_exists(#id)")
            .expression_attribute_names("#generation", users::CREDENTIAL_GENERATION)
            .expression_attribute_names("#id", users::ID)
            .expression_attribute_values(":next", next)
            .build()
            .map_err(failed)?;
        self.transact(vec![
            consume,
            TransactWriteItem::builder().update(hash).build(),
            TransactWriteItem::builder().update(user).build(),
        ])
        .await
    }
}
