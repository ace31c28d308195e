use std::sync::Arc;

use logout::{config, handle, Logout};
use user_auth_core::config::Env;
use user_auth_core::http;
use user_auth_core::store::dynamodb::{sdk_config_loader, DynamoStore};
use user_auth_core::tokens::TokenVerifier;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    http::init_logging();
    let config = config(&Env::process())?;
    let verifier = TokenVerifier::from_pem(&config.verifying_key_pem, &config.token_settings)?;
    let store = DynamoStore::from_sdk_config(&sdk_config_loader().load().await, config.tables);
    let app = Arc::new(Logout { store, verifier });
    http::serve(|request| handle(app.clone(), request)).await
}
