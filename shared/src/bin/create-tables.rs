//! Creates the service's tables where they are missing, for local runs against
//! DynamoDB Local. Table names come from the same variables the functions read.

use user_auth_core::aws::Aws;
use user_auth_core::config;
use user_auth_core::store::dynamodb::{client, schema};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let names = config::table_names(&config::Env::process());
    let client = client(&Aws::from_env()?);
    schema::create_tables(&client, &names).await?;
    eprintln!("tables ready: {}, {}, {}", names.users, names.usernames, names.revoked_tokens);
    Ok(())
}
