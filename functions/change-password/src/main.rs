use user_auth_core::config::Env;
use user_auth_core::{edge, telemetry};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init(&Env::process());
    edge::serve(&change_password::build(&Env::process()).await?, change_password::handle).await
}
