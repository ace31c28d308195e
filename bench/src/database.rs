//! DynamoDB Local, started in memory for the run, and the DynamoDB calls the
//! harness makes itself, to measure floors and components alone.

use std::collections::HashMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use aws_sdk_dynamodb::Client;
use user_auth_core::domain::UserId;
use user_auth_core::sdk_settings::SdkSettings;
use user_auth_core::store::dynamodb::schema::{self, users};
use user_auth_core::store::{dynamodb, TableNames};

use crate::BoxError;

pub struct Database {
    process: tokio::process::Child,
    pub endpoint: String,
    pub client: Client,
}

impl Database {
    /// Starts DynamoDB Local on a free port and creates the service's tables.
    pub async fn start() -> Result<Self, BoxError> {
        let dir =
            std::env::var("DYNAMODB_LOCAL_DIR").map_err(|_| "DYNAMODB_LOCAL_DIR is not set: use scripts/bench")?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let process = tokio::process::Command::new("java")
            .arg(format!("-Djava.library.path={dir}/DynamoDBLocal_lib"))
            .args([
                "-jar",
                &format!("{dir}/DynamoDBLocal.jar"),
                "-inMemory",
                "-disableTelemetry",
                "-port",
                &port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        let endpoint = format!("http://127.0.0.1:{port}");
        let client = dynamodb::client(&SdkSettings::local(&endpoint));
        let deadline = Instant::now() + Duration::from_secs(60);
        while client.list_tables().send().await.is_err() {
            if Instant::now() > deadline {
                return Err("DynamoDB Local did not start".into());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        schema::create_tables(&client, &TableNames::default()).await?;
        Ok(Database { process, endpoint, client })
    }

    /// Stops DynamoDB Local: the process is killed as it is dropped.
    pub fn stop(self) {
        drop(self.process);
    }
}

/// The user's item as stored, for the instant stub to answer with.
pub async fn user_item(
    db: &Client,
    tables: &TableNames,
    id: &UserId,
) -> Result<HashMap<String, AttributeValue>, BoxError> {
    let item = db.get_item().table_name(&tables.users).key(users::ID, AttributeValue::S(id.to_string())).send().await?;
    Ok(item.item.ok_or("the benchmark's user is missing")?)
}

pub async fn get_item(db: &Client, tables: &TableNames) -> Result<(), BoxError> {
    db.get_item()
        .table_name(&tables.usernames)
        .key(schema::usernames::USERNAME, AttributeValue::S("alice".into()))
        .consistent_read(true)
        .send()
        .await?;
    Ok(())
}

pub async fn put_item(db: &Client, tables: &TableNames) -> Result<(), BoxError> {
    db.put_item()
        .table_name(&tables.revoked_tokens)
        .item(schema::revoked_tokens::JTI, AttributeValue::S(uuid::Uuid::new_v4().to_string()))
        .item(schema::revoked_tokens::EXPIRES_AT, AttributeValue::N("1".into()))
        .send()
        .await?;
    Ok(())
}

/// Two conditional puts in one transaction, as sign-up makes them.
pub async fn transaction(db: &Client, tables: &TableNames) -> Result<(), BoxError> {
    let put = |table: &str, key: &str| {
        Put::builder()
            .table_name(table)
            .item(key, AttributeValue::S(format!("floor-{}", uuid::Uuid::new_v4().simple())))
            .condition_expression("attribute_not_exists(#k)")
            .expression_attribute_names("#k", key)
            .build()
    };
    db.transact_write_items()
        .transact_items(TransactWriteItem::builder().put(put(&tables.usernames, schema::usernames::USERNAME)?).build())
        .transact_items(TransactWriteItem::builder().put(put(&tables.users, users::ID)?).build())
        .send()
        .await?;
    Ok(())
}
