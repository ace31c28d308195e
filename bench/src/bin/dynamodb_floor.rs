//! The floor of a first request: a minimal `lambda_runtime` function whose
//! every invocation makes one DynamoDB call (a `GetItem` of a user that does
//! not exist), with the service's own SDK settings and HTTPS client. Like
//! every function of the service, it builds its client during init and
//! opens its connection in its first invocation, so its first invocation is
//! the least any function's can cost: a connection, a TLS handshake when the
//! endpoint is HTTPS, one signed request.
//!
//! With `FLOOR_CONNECT_DURING_INIT` set, it makes one call during init too,
//! so that the connection is open before the first invocation: a lever the
//! benchmark measures.

use aws_sdk_dynamodb::types::AttributeValue;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::{json, Value};
use user_auth_core::config::{self, Env};
use user_auth_core::sdk_settings::SdkSettings;
use user_auth_core::store::dynamodb::{self, schema};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let env = Env::process();
    let client = &dynamodb::client(&SdkSettings::from_env(&env)?);
    let users = &config::table_names(&env).users;
    let call = || client.get_item().table_name(users).key(schema::users::ID, AttributeValue::S("floor".into())).send();
    if env.optional("FLOOR_CONNECT_DURING_INIT").is_some() {
        call().await?;
    }
    run(service_fn(move |_: LambdaEvent<Value>| async move {
        call().await?;
        Ok::<_, Error>(json!({ "statusCode": 200, "headers": {}, "body": "floor" }))
    }))
    .await
}
