use std::sync::Arc;

use create_user::{config, handle, CreateUser};
use user_auth_core::config::Env;
use user_auth_core::http;
use user_auth_core::store::dynamodb::{sdk_config_loader, DynamoStore};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    http::init_logging();
    let config = config(&Env::process())?;
    let store = DynamoStore::from_sdk_config(&sdk_config_loader().load().await, config.tables);
    let app = Arc::new(CreateUser { store, password_min_length: config.password_min_length });
    http::serve(|request| handle(app.clone(), request)).await
}
