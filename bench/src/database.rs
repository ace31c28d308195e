//! DynamoDB Local, started in memory for the run, and the DynamoDB calls the
//! harness makes itself, to measure floors and components alone.

use std::collections::HashMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use aws_sdk_dynamodb::Client;
use user_auth_core::clock::{Clock, SystemClock};
use user_auth_core::config::{self, Env};
use user_auth_core::domain::{self, Session, SessionId, User, UserId, Username};
use user_auth_core::passwords::PasswordHash;
use user_auth_core::sdk_settings::SdkSettings;
use user_auth_core::store::dynamodb::schema::{self, sessions, users};
use user_auth_core::store::dynamodb::DynamoStore;
use user_auth_core::store::{dynamodb, SessionStore, TableNames, UserStore};
use user_auth_core::tokens::refresh::RefreshToken;

use crate::BoxError;

pub struct Database {
    process: tokio::process::Child,
    pub endpoint: String,
    pub client: Client,
}

impl Database {
    /// Starts DynamoDB Local on a free port and creates the service's tables,
    /// sessions included.
    pub async fn start() -> Result<Self, BoxError> {
        let dir =
            std::env::var("DYNAMODB_LOCAL_DIR").map_err(|_| "DYNAMODB_LOCAL_DIR is not set: use scripts/bench")?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        // On the loopback interface only, as every local run (scripts/setup.sh).
        let classpath = std::env::var("DYNAMODB_LOCAL_CLASSPATH").map_err(|_| "DYNAMODB_LOCAL_CLASSPATH is not set")?;
        let process = tokio::process::Command::new("java")
            .arg(format!("-Djava.library.path={dir}/DynamoDBLocal_lib"))
            .args([
                "-cp",
                &classpath,
                "LoopbackDynamoDbLocal",
                "-inMemory",
                "-cors",
                "none",
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

pub type Item = HashMap<String, AttributeValue>;

/// The user's item as stored, for the instant stub to answer with.
pub async fn user_item(db: &Client, tables: &TableNames, id: &UserId) -> Result<Item, BoxError> {
    let item = db.get_item().table_name(&tables.users).key(users::ID, AttributeValue::S(id.to_string())).send().await?;
    Ok(item.item.ok_or("the benchmark's user is missing")?)
}

/// The user's sessions as stored, for the instant stub to answer with.
pub async fn session_items(db: &Client, tables: &TableNames, user_id: &UserId) -> Result<Vec<Item>, BoxError> {
    let found = db
        .query()
        .table_name(&tables.sessions)
        .key_condition_expression("#user = :user")
        .expression_attribute_names("#user", sessions::USER_ID)
        .expression_attribute_values(":user", AttributeValue::S(user_id.to_string()))
        .send()
        .await?;
    Ok(found.items.unwrap_or_default())
}

/// Starts a session of `user_id` as login does, with the functions' default
/// lifetime and the client the fixtures' requests come from: puts it with
/// the hash of its first refresh token, and returns that token, which names
/// the session's user and id.
pub async fn put_session(db: &Client, tables: &TableNames, user_id: &UserId) -> Result<RefreshToken, BoxError> {
    let lifetime = config::session_lifetime(&Env::from_pairs::<&str, &str>([]))?;
    let client = domain::Client { user_agent: "curl/8.5.0".into(), source_ip: "203.0.113.10".into() };
    let first = RefreshToken::first(user_id.clone(), SessionId::new_random())?;
    let id = first.session_id.clone();
    let session = Session::start(id, user_id.clone(), client, first.hash(), lifetime, SystemClock.now());
    DynamoStore::new(db.clone(), tables.clone()).create_session(&session).await?;
    Ok(first)
}

/// A user stored as sign-up stores one, its profile and its username claim
/// in one transaction, with `hash` as its password's: no argon2 work per
/// user. Its name is new and random, as a taken one is refused.
pub async fn put_user(db: &Client, tables: &TableNames, hash: &PasswordHash) -> Result<User, BoxError> {
    let user = User::new(Username::parse(&format!("b{}", &uuid::Uuid::new_v4().simple().to_string()[..16]))?);
    DynamoStore::new(db.clone(), tables.clone()).create_user(&user, hash).await?;
    Ok(user)
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

/// A session of a new user, put as login puts its session.
pub async fn put_item(db: &Client, tables: &TableNames) -> Result<(), BoxError> {
    put_session(db, tables, &UserId::new_random()).await.map(drop)
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
