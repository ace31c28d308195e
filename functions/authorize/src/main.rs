use user_auth_core::config::Env;
use user_auth_core::{edge, telemetry};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    let env = Env::process();
    telemetry::init(&env);
    edge::serve_authorizer(&authorize::build(&env).await?, authorize::handle).await
}
