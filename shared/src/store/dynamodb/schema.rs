//! Table keys and attribute names: the single source of truth for the code,
//! the table set-up of local runs and tests, and the template checks.
//!
//! All partition keys are high-cardinality (a UUID, a username, a token id),
//! so no key design makes a hot partition.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;

use crate::store::TableNames;

/// `users`: one item per user, the public profile.
pub mod users {
    pub const ID: &str = "id";
    pub const USERNAME: &str = "username";
    pub const CREATED_AT: &str = "created_at";
}

/// `usernames`: one item per claimed username, holding the credentials. The
/// username is its key, so uniqueness is a conditional write, and login reads
/// it with a strongly consistent `GetItem`.
pub mod usernames {
    pub const USERNAME: &str = "username";
    pub const USER_ID: &str = "user_id";
    pub const PASSWORD_HASH: &str = "password_hash";
}

/// `revoked-tokens`: one item per logged-out token until it would have expired.
pub mod revoked_tokens {
    pub const JTI: &str = "jti";
    /// Unix seconds; the table's TTL attribute.
    pub const EXPIRES_AT: &str = "expires_at";
}

/// `login-attempts`: failed logins per username (known or not), for lockout.
pub mod login_attempts {
    pub const USERNAME: &str = "username";
    pub const FAILURES: &str = "failures";
    pub const LOCKED_UNTIL: &str = "locked_until";
    /// Unix seconds: the end of the counting window; the table's TTL attribute.
    pub const EXPIRES_AT: &str = "expires_at";
}

/// Each table's name, its partition key (a string) and its TTL attribute.
pub fn tables(names: &TableNames) -> [(&str, &'static str, Option<&'static str>); 4] {
    [
        (names.login_attempts.as_str(), login_attempts::USERNAME, Some(login_attempts::EXPIRES_AT)),
        (names.users.as_str(), users::ID, None),
        (names.usernames.as_str(), usernames::USERNAME, None),
        (names.revoked_tokens.as_str(), revoked_tokens::JTI, Some(revoked_tokens::EXPIRES_AT)),
    ]
}

/// Creates the tables (on-demand, as deployed) where they do not exist yet.
/// For local runs and tests; deployed tables come from `template.yaml`.
pub async fn create_tables(client: &Client, names: &TableNames) -> Result<(), aws_sdk_dynamodb::Error> {
    let existing = client.list_tables().send().await?.table_names.unwrap_or_default();
    for (table, key, ttl) in tables(names) {
        if existing.iter().any(|name| name == table) {
            continue;
        }
        client
            .create_table()
            .table_name(table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(
                AttributeDefinition::builder().attribute_name(key).attribute_type(ScalarAttributeType::S).build()?,
            )
            .key_schema(KeySchemaElement::builder().attribute_name(key).key_type(KeyType::Hash).build()?)
            .send()
            .await?;
        if let Some(attribute) = ttl {
            client
                .update_time_to_live()
                .table_name(table)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder().enabled(true).attribute_name(attribute).build()?,
                )
                .send()
                .await?;
        }
    }
    Ok(())
}
