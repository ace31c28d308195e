use std::sync::Arc;

use get_user::{handle, GetUser};
use user_auth_core::store::dynamodb::{client_from_env, DynamoStore};
use user_auth_core::tokens::TokenVerifier;
use user_auth_core::{config, http};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    http::init_logging();
    let verifier = TokenVerifier::from_pem(&config::verifying_key_pem()?, &config::token_settings()?)?;
    let store = DynamoStore::new(client_from_env().await, config::table_names());
    let app = Arc::new(GetUser { store, verifier });
    http::serve(|request| handle(app.clone(), request)).await
}
