use std::sync::Arc;

use create_user::{handle, CreateUser};
use user_auth_core::store::dynamodb::{client_from_env, DynamoStore};
use user_auth_core::{config, http};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    http::init_logging();
    let password_min_length = config::password_min_length()?;
    let store = DynamoStore::new(client_from_env().await, config::table_names());
    let app = Arc::new(CreateUser { store, password_min_length });
    http::serve(|request| handle(app.clone(), request)).await
}
