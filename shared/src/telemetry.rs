//! Logging set-up, the username's pseudonym in logs, and blocking work that
//! keeps the request's span.

use std::sync::OnceLock;

use ring::hmac;
use secrecy::{ExposeSecret, SecretString};
use tracing_subscriber::filter::LevelFilter;

use crate::config::{vars, Env};

/// How the function logs, as Lambda's logging controls ask: JSON lines when
/// `AWS_LAMBDA_LOG_FORMAT` is `JSON`, at the level `AWS_LAMBDA_LOG_LEVEL`
/// names (else `RUST_LOG`, else INFO). Either holds a plain level: per-module
/// filters would cost every binary a regex engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogSettings {
    pub json: bool,
    pub level: LevelFilter,
}

impl LogSettings {
    pub fn from_env(env: &Env) -> Self {
        let format = env.optional(vars::AWS_LAMBDA_LOG_FORMAT);
        let level = env.optional(vars::AWS_LAMBDA_LOG_LEVEL).or_else(|| env.optional(vars::RUST_LOG));
        LogSettings { json: format.is_some_and(|format| format.eq_ignore_ascii_case("json")), level: log_level(level) }
    }
}

/// Installs the process's logger, as [`LogSettings`] reads the environment.
pub fn init(env: &Env) {
    let settings = LogSettings::from_env(env);
    let subscriber = tracing_subscriber::fmt().with_target(false).with_max_level(settings.level);
    if settings.json {
        // Lambda reads a JSON line's level only if it has an RFC 3339
        // `timestamp`; without one, every line would count as INFO.
        subscriber.json().init();
    } else {
        // Lambda stamps text lines itself.
        subscriber.without_time().init();
    }
}

fn log_level(name: Option<String>) -> LevelFilter {
    let name = name.map(|name| name.trim().to_ascii_uppercase());
    match name.as_deref() {
        // Lambda's levels include FATAL; tracing's most severe is ERROR.
        Some("FATAL") => LevelFilter::ERROR,
        Some(name) => name.parse().unwrap_or(LevelFilter::INFO),
        None => LevelFilter::INFO,
    }
}

/// The key of [`username_pseudonym`], set once per process by the functions
/// that check passwords. A process-wide setting, as the logger is.
static USERNAME_LOG_KEY: OnceLock<hmac::Key> = OnceLock::new();

/// Makes `key` the key of this process's username pseudonyms. The first key
/// set stays: one process logs with one key.
pub fn use_username_log_key(key: &SecretString) {
    USERNAME_LOG_KEY.get_or_init(|| hmac::Key::new(hmac::HMAC_SHA256, key.expose_secret().as_bytes()));
}

/// What the logs say of a username: never the name (a password typed in the
/// name field would land in the logs), but the first 64 bits of its
/// HMAC-SHA256 under the deployment's key, in hex. Failures and locks of one
/// name can be followed across addresses and days, and who holds the key can
/// check whether they concern a given name; without the key a guess cannot
/// be tested. Before a key is set, every name is `unkeyed`.
pub fn username_pseudonym(name: &str) -> String {
    match USERNAME_LOG_KEY.get() {
        Some(key) => hmac::sign(key, name.as_bytes()).as_ref()[..8].iter().map(|byte| format!("{byte:02x}")).collect(),
        None => "unkeyed".to_owned(),
    }
}

/// Runs CPU-bound work (argon2) on tokio's blocking pool inside the current
/// span, so its log lines keep the invocation's request id.
pub fn spawn_blocking_with_tracing<F, R>(work: F) -> tokio::task::JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(work))
}

/// Counts one occurrence of `name` in CloudWatch: a line of the embedded
/// metric format, which Lambda's logs turn into the metric
/// `UserAuthService/<name>` (the log group tells which function).
pub fn count_metric(name: &str) {
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis())
        .unwrap_or_default();
    let line = serde_json::json!({
        "_aws": {
            "Timestamp": timestamp,
            "CloudWatchMetrics": [{
                "Namespace": "UserAuthService",
                "Dimensions": [[]],
                "Metrics": [{ "Name": name, "Unit": "Count" }],
            }],
        },
        name: 1,
    });
    println!("{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_level_is_a_plain_level_or_info() {
        let level = |name: &str| log_level(Some(name.to_owned()));
        assert_eq!(level("WARN"), LevelFilter::WARN);
        assert_eq!(level(" debug "), LevelFilter::DEBUG);
        assert_eq!(level("error"), LevelFilter::ERROR);
        assert_eq!(level("FATAL"), LevelFilter::ERROR);
        assert_eq!(level("info,aws_smithy_runtime=trace"), LevelFilter::INFO, "filters are not levels");
        assert_eq!(log_level(None), LevelFilter::INFO);
    }

    #[test]
    fn a_username_is_logged_as_its_keyed_hash() {
        use_username_log_key(&SecretString::from("k".repeat(32)));
        let pseudonym = username_pseudonym("alice");
        // HMAC-SHA256("kkkk…k", "alice"), as `openssl dgst -sha256 -hmac` gives it.
        assert_eq!(pseudonym, "6664a42048c6d6d7");
        assert!(!pseudonym.contains("alice"));
        assert_ne!(username_pseudonym("alicf"), pseudonym);
        use_username_log_key(&SecretString::from("x".repeat(32)));
        assert_eq!(username_pseudonym("alice"), pseudonym, "the first key stays");
    }

    #[test]
    fn lambdas_level_wins_over_rust_log() {
        let env = Env::from_pairs([(vars::AWS_LAMBDA_LOG_LEVEL, "WARN"), (vars::RUST_LOG, "debug")]);
        assert_eq!(LogSettings::from_env(&env), LogSettings { json: false, level: LevelFilter::WARN });
        let env = Env::from_pairs([(vars::AWS_LAMBDA_LOG_FORMAT, "json"), (vars::RUST_LOG, "debug")]);
        assert_eq!(LogSettings::from_env(&env), LogSettings { json: true, level: LevelFilter::DEBUG });
    }

    #[tokio::test]
    async fn blocking_work_runs_in_the_callers_span() {
        // Spans exist only under a subscriber; the blocking thread sees the global one.
        let _ = tracing_subscriber::fmt().with_test_writer().try_init();
        let span = tracing::info_span!("request", id = 7);
        let inside = {
            let _entered = span.enter();
            spawn_blocking_with_tracing(|| tracing::Span::current().metadata().map(|meta| meta.name()))
        };
        assert_eq!(inside.await.unwrap(), Some("request"));
    }
}
