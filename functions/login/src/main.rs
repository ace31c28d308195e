use std::sync::Arc;

use login::{handle, Login};
use user_auth_core::store::dynamodb::{client_from_env, DynamoStore};
use user_auth_core::tokens::TokenIssuer;
use user_auth_core::{config, http};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    http::init_logging();
    let issuer = TokenIssuer::from_pem(&config::signing_key_pem()?, config::token_settings()?)?;
    let store = DynamoStore::new(client_from_env().await, config::table_names());
    let app = Arc::new(Login { store, issuer });
    http::serve(|request| handle(app.clone(), request)).await
}
