use std::sync::Arc;

use get_user::{config, handle, GetUser};
use user_auth_core::aws::Aws;
use user_auth_core::config::Env;
use user_auth_core::http;
use user_auth_core::store::dynamodb::DynamoStore;
use user_auth_core::tokens::TokenVerifier;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    http::init_logging();
    let config = config(&Env::process())?;
    let verifier = TokenVerifier::from_pem(&config.verifying_key_pem, &config.token_settings)?;
    let store = DynamoStore::from_aws(&Aws::from_env()?, config.tables);
    let app = Arc::new(GetUser { store, verifier });
    http::serve(|request| handle(app.clone(), request)).await
}
