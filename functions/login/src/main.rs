use std::sync::Arc;

use login::{config, handle, signing_key_pem, Login};
use user_auth_core::config::Env;
use user_auth_core::http;
use user_auth_core::store::dynamodb::{sdk_config_loader, DynamoStore};
use user_auth_core::tokens::TokenIssuer;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    http::init_logging();
    let config = config(&Env::process())?;
    let sdk = sdk_config_loader().load().await;
    let issuer = TokenIssuer::from_pem(&signing_key_pem(&config.signing_key, &sdk).await?, config.token_settings)?;
    let store = DynamoStore::from_sdk_config(&sdk, config.tables);
    let app = Arc::new(Login { store, issuer });
    http::serve(|request| handle(app.clone(), request)).await
}
