use user_auth_core::config::Env;
use user_auth_core::{edge, telemetry};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    let env = Env::process();
    telemetry::init(&env);
    let app = get_user::build(&env).await?;
    edge::serve(&app, get_user::handle).await
}
