//! `bench --arm64 <dir>`: the arm64 artifacts of `sam build`, the binaries
//! that run in AWS, each run under user-mode emulation (qemu-user) through
//! the Runtime API emulator against DynamoDB Local, must answer one request
//! they serve and one they refuse, each as the function's own build does.
//! They run as behind the template's CloudFront, so that the origin check
//! runs too. For correctness only: nothing is timed. `<dir>` holds each
//! function's `bootstrap` at `<dir>/<binary>`. An artifact that holds the
//! name of a variable only the benchmark's `bench-test-ca` build reads fails
//! without being run.

use std::path::Path;

use crate::cases::{self, Case, Events};
use crate::measure::Running;
use crate::BoxError;

/// The origin secret the functions run with, and the headers CloudFront
/// would add to every request.
const ORIGIN_SECRET: &str = "an-origin-secret-for-the-arm64-smoke-test";
const VIEWER_IP: &str = "198.51.100.23";

/// Where `-L` finds the aarch64 loader and libraries (Debian's libc6-arm64-cross).
const SYSROOT: &str = "/usr/aarch64-linux-gnu";

/// `event` as it comes through CloudFront: with the origin's secret and the viewer's address.
fn through_cloudfront(event: &str) -> Result<String, BoxError> {
    let mut event: serde_json::Value = serde_json::from_str(event)?;
    event["headers"]["x-origin-verify"] = ORIGIN_SECRET.into();
    event["headers"]["x-viewer-ip"] = VIEWER_IP.into();
    Ok(event.to_string())
}

/// The name of a variable only a `bench-test-ca` build reads, if the
/// artifact holds one: such a build would trust the benchmark's test CA.
fn bench_only_variable_in(artifact: &Path) -> Result<Option<&'static str>, BoxError> {
    let bytes = std::fs::read(artifact)?;
    let holds = |name: &str| bytes.windows(name.len()).any(|window| window == name.as_bytes());
    Ok(user_auth_core::sdk_settings::BENCH_ONLY_VARIABLES.into_iter().find(|name| holds(name)))
}

/// Runs every case but the reference (hello, which `sam build` does not make).
pub async fn serve_and_refuse(
    dir: &Path,
    cases: Vec<Case<'_>>,
    events: &Events,
    env: &[(String, String)],
) -> Result<(), BoxError> {
    let mut env = env.to_vec();
    env.push((user_auth_core::config::vars::EDGE_ORIGIN_SECRET.to_owned(), ORIGIN_SECRET.to_owned()));
    let mut failures = Vec::new();
    for mut case in cases.into_iter().filter(|case| case.judge().is_some()) {
        let artifact = dir.join(case.name);
        if !artifact.is_file() {
            return Err(format!("no arm64 artifact of {} at {}", case.name, artifact.display()).into());
        }
        if let Some(name) = bench_only_variable_in(&artifact)? {
            failures.push(format!("{}: carries {name}, so it was built with the bench-test-ca feature", case.name));
            continue;
        }
        let mut command = tokio::process::Command::new("qemu-aarch64-static");
        command.arg("-L").arg(SYSROOT).arg(&artifact);
        let (mut function, _) = Running::start_command(command, &env).await?;
        let served = through_cloudfront(&case.next_event()?)?;
        let (refused, refusal, via_cloudfront) = cases::refusal(case.name, events)?;
        let refused = if via_cloudfront { through_cloudfront(&refused)? } else { refused };
        let outcome = match function.invoke_event(served, case.expected).await {
            Ok(_) => function.invoke_event(refused, refusal).await.map(|_| ()),
            Err(err) => Err(err),
        };
        function.stop().await?;
        match outcome {
            Ok(()) => eprintln!("  {:<16} arm64: served ({:?}) and refused ({refusal:?})", case.name, case.expected),
            Err(err) => failures.push(format!("{}: {err}", case.name)),
        }
    }
    match failures.is_empty() {
        true => Ok(()),
        false => Err(format!("arm64 artifacts that did not answer as they must:\n{}", failures.join("\n")).into()),
    }
}
