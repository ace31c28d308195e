use std::sync::Arc;

use create_user::{config, handle, CreateUser};
use user_auth_core::aws::Aws;
use user_auth_core::config::Env;
use user_auth_core::http;
use user_auth_core::store::dynamodb::DynamoStore;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    http::init_logging();
    let config = config(&Env::process())?;
    let store = DynamoStore::from_aws(&Aws::from_env()?, config.tables);
    let app = Arc::new(CreateUser { store, password_min_length: config.password_min_length });
    http::serve(|request| handle(app.clone(), request)).await
}
