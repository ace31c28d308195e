//! Addresses, their claims and one-time codes ([`EmailStore`]).

use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem, Update};

use super::errors::{classify, is_condition_failure};
use super::item::{n, parsed, pending_code, s};
use super::schema::{codes, email_addresses, users};
use super::{key, DynamoStore};
use crate::domain::{CodePurpose, EmailAddress, PendingCode, UserId};
use crate::store::{EmailStore, EmailVerification, StoreError};

impl DynamoStore {
    /// Deletes the user's codes and, when `address` is given, its claim of
    /// it: the items an account deletion adds to its transaction.
    pub(super) fn email_deletions(
        &self,
        user_id: &UserId,
        address: Option<&EmailAddress>,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let failed = |err: aws_sdk_dynamodb::error::BuildError| StoreError::Failed(err.into());
        let mut items = Vec::new();
        for purpose in [CodePurpose::VerifyEmail, CodePurpose::Recovery] {
            let code = Delete::builder()
                .table_name(&self.tables.codes)
                .key(codes::CODE_KEY, s(&codes::code_key(purpose, user_id)))
                .build()
                .map_err(failed)?;
            items.push(TransactWriteItem::builder().delete(code).build());
        }
        if let Some(address) = address {
            items.push(self.claim_release(user_id, address)?);
        }
        Ok(items)
    }

    /// Gives up the user's claim of `address`; a claim of another account
    /// (or none) is left as it is.
    fn claim_release(&self, user_id: &UserId, address: &EmailAddress) -> Result<TransactWriteItem, StoreError> {
        let claim = Delete::builder()
            .table_name(&self.tables.email_addresses)
            .key(email_addresses::EMAIL, s(address.as_str()))
            .condition_expression("attribute_not_exists(#email) OR #owner = :user")
            .expression_attribute_names("#email", email_addresses::EMAIL)
            .expression_attribute_names("#owner", email_addresses::USER_ID)
            .expression_attribute_values(":user", s(user_id.as_str()))
            .build()
            .map_err(|err| StoreError::Failed(err.into()))?;
        Ok(TransactWriteItem::builder().delete(claim).build())
    }

    /// Consumes `code`, on the condition that it is still the stored one,
    /// with tries left and in time at `now`: of two uses, one passes.
    pub(super) fn code_consumption(&self, code: &PendingCode, now: u64) -> Result<TransactWriteItem, StoreError> {
        let consume = Delete::builder()
            .table_name(&self.tables.codes)
            .key(codes::CODE_KEY, s(&codes::code_key(code.purpose, &code.user_id)))
            .condition_expression("#hash = :hash AND #tries > :zero AND #expires > :now")
            .expression_attribute_names("#hash", codes::CODE_HASH)
            .expression_attribute_names("#tries", codes::TRIES_LEFT)
            .expression_attribute_names("#expires", codes::EXPIRES_AT)
            .expression_attribute_values(":hash", s(&code.hash))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":now", n(now))
            .build()
            .map_err(|err| StoreError::Failed(err.into()))?;
        Ok(TransactWriteItem::builder().delete(consume).build())
    }
}

impl EmailStore for DynamoStore {
    async fn put_code(&self, code: &PendingCode) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.tables.codes)
            .item(codes::CODE_KEY, s(&codes::code_key(code.purpose, &code.user_id)))
            .item(codes::USER_ID, s(code.user_id.as_str()))
            .item(codes::CODE_HASH, s(&code.hash))
            .item(codes::EMAIL, s(code.email.as_str()))
            .item(codes::EXPIRES_AT, n(code.expires_at))
            .item(codes::TRIES_LEFT, n(code.tries_left))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn pending_code(&self, user_id: &UserId, purpose: CodePurpose) -> Result<Option<PendingCode>, StoreError> {
        let item = self.read(&self.tables.codes, key(codes::CODE_KEY, &codes::code_key(purpose, user_id))).await?;
        item.as_ref().map(|item| pending_code(item, purpose)).transpose()
    }

    async fn spend_try(&self, code: &PendingCode) -> Result<bool, StoreError> {
        let spent = self
            .client
            .update_item()
            .table_name(&self.tables.codes)
            .key(codes::CODE_KEY, s(&codes::code_key(code.purpose, &code.user_id)))
            .update_expression("SET #tries = #tries - :one")
            .condition_expression("#hash = :hash AND #tries > :zero")
            .expression_attribute_names("#tries", codes::TRIES_LEFT)
            .expression_attribute_names("#hash", codes::CODE_HASH)
            .expression_attribute_values(":hash", s(&code.hash))
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

    async fn address_owner(&self, address: &EmailAddress) -> Result<Option<UserId>, StoreError> {
        let item = self.read(&self.tables.email_addresses, key(email_addresses::EMAIL, address.as_str())).await?;
        item.as_ref().map(|item| parsed(item, email_addresses::USER_ID, UserId::parse)).transpose()
    }

    async fn set_email(
        &self,
        user_id: &UserId,
        address: &EmailAddress,
        release: Option<&EmailAddress>,
    ) -> Result<bool, StoreError> {
        let failed = |err: aws_sdk_dynamodb::error::BuildError| StoreError::Failed(err.into());
        let profile = Update::builder()
            .table_name(&self.tables.users)
            .key(users::ID, s(user_id.as_str()))
            .update_expression("SET #email = :email, #verified = :false")
            .condition_expression("attribute_exists(#id)")
            .expression_attribute_names("#email", users::EMAIL)
            .expression_attribute_names("#verified", users::EMAIL_VERIFIED)
            .expression_attribute_names("#id", users::ID)
            .expression_attribute_values(":email", s(address.as_str()))
            .expression_attribute_values(":false", aws_sdk_dynamodb::types::AttributeValue::Bool(false))
            .build()
            .map_err(failed)?;
        let mut items = vec![TransactWriteItem::builder().update(profile).build()];
        if let Some(released) = release {
            items.push(self.claim_release(user_id, released)?);
        }
        self.transact(items).await
    }

    async fn verify_email(&self, code: &PendingCode, now: u64) -> Result<EmailVerification, StoreError> {
        let failed = |err: aws_sdk_dynamodb::error::BuildError| StoreError::Failed(err.into());
        let consume = self.code_consumption(code, now)?;
        let claim = Put::builder()
            .table_name(&self.tables.email_addresses)
            .item(email_addresses::EMAIL, s(code.email.as_str()))
            .item(email_addresses::USER_ID, s(code.user_id.as_str()))
            .condition_expression("attribute_not_exists(#email) OR #owner = :user")
            .expression_attribute_names("#email", email_addresses::EMAIL)
            .expression_attribute_names("#owner", email_addresses::USER_ID)
            .expression_attribute_values(":user", s(code.user_id.as_str()))
            .build()
            .map_err(failed)?;
        let profile = Update::builder()
            .table_name(&self.tables.users)
            .key(users::ID, s(code.user_id.as_str()))
            .update_expression("SET #verified = :true")
            .condition_expression("#email = :email")
            .expression_attribute_names("#verified", users::EMAIL_VERIFIED)
            .expression_attribute_names("#email", users::EMAIL)
            .expression_attribute_values(":true", aws_sdk_dynamodb::types::AttributeValue::Bool(true))
            .expression_attribute_values(":email", s(code.email.as_str()))
            .build()
            .map_err(failed)?;
        let items = vec![
            consume,
            TransactWriteItem::builder().put(claim).build(),
            TransactWriteItem::builder().update(profile).build(),
        ];
        if self.transact(items).await? {
            return Ok(EmailVerification::Verified);
        }
        // Which condition refused it: a claim of another account is the one
        // that tells the caller something.
        match self.address_owner(&code.email).await? {
            Some(owner) if owner != code.user_id => Ok(EmailVerification::AddressTaken),
            _ => Ok(EmailVerification::CodeGone),
        }
    }
}
