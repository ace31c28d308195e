//! Creates the service's tables where they are missing, for local runs against
//! DynamoDB Local. Table names come from the same variables the functions read.

use user_auth_core::config;
use user_auth_core::store::dynamodb::{client_from_env, schema};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let names = config::table_names(&config::Env::process());
    let client = client_from_env().await;
    schema::create_tables(&client, &names).await?;
    eprintln!("tables ready: {}, {}, {}", names.users, names.usernames, names.revoked_tokens);
    Ok(())
}
