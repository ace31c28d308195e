use user_auth_core::config::Env;
use user_auth_core::{edge, telemetry};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init(&Env::process());
    edge::serve(&revoke_session::build(&Env::process()).await?, revoke_session::handle).await
}
