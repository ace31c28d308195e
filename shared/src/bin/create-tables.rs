//! Creates the service's tables where they are missing, for local runs against
//! DynamoDB Local. Table names come from the same variables the functions read.

use user_auth_core::config::{self, Env};
use user_auth_core::sdk_settings::SdkSettings;
use user_auth_core::store::dynamodb::{client, schema};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let env = Env::process();
    let names = config::table_names(&env);
    let client = client(&SdkSettings::from_env(&env)?);
    schema::create_tables(&client, &names).await?;
    let tables: Vec<&str> = schema::tables(&names).iter().map(|table| table.name).collect();
    eprintln!("tables ready: {}", tables.join(", "));
    Ok(())
}
