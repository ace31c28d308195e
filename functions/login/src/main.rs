use std::sync::Arc;

use login::{config, handle, signing_key_pem, Login};
use user_auth_core::aws::Aws;
use user_auth_core::config::Env;
use user_auth_core::http;
use user_auth_core::store::dynamodb::DynamoStore;
use user_auth_core::tokens::TokenIssuer;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    http::init_logging();
    let config = config(&Env::process())?;
    let aws = Aws::from_env()?;
    let issuer = TokenIssuer::from_pem(&signing_key_pem(&config.signing_key, &aws).await?, config.token_settings)?;
    let store = DynamoStore::from_aws(&aws, config.tables);
    let app = Arc::new(Login { store, issuer });
    http::serve(|request| handle(app.clone(), request)).await
}
