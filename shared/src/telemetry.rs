//! Logging set-up, and blocking work that keeps the request's span.

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
