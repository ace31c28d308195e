use user_auth_core::config::Env;
use user_auth_core::edge::{self, Origin};
use user_auth_core::telemetry;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    let env = Env::process();
    telemetry::init(&env);
    edge::serve(Origin::from_env(&env)?, &login_with_passkey::build(&env).await?, login_with_passkey::handle).await
}
