//! The reference floor: a minimal `lambda_runtime` function answering an API
//! Gateway event, built with the same release profile and on the same
//! single-threaded runtime as the service.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(service_fn(|_: LambdaEvent<Value>| async {
        Ok::<_, Error>(json!({ "statusCode": 200, "headers": {}, "body": "hello" }))
    }))
    .await
}
