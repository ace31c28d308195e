use std::process::ExitCode;

use user_auth_core::config::Env;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    // The security events each action logs, naming the operator, as JSON
    // lines on stderr: the operator's own record, beside CloudTrail's.
    tracing_subscriber::fmt().json().with_writer(std::io::stderr).with_target(false).init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut out = std::io::stdout();
    match user_auth_admin::run(&args, &Env::process(), &mut out).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("user-auth-admin: {err}");
            ExitCode::from(err.exit_code())
        }
    }
}
