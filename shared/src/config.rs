//! Configuration from the environment. Every variable, its default and the
//! functions that read it are listed in docs/configuration.md.
//!
//! Every read goes through [`Env`], the SDK's settings and logging's
//! included. It records the names it was asked for, so a test can prove that
//! `template.yaml` sets exactly what each function reads.
//!
//! Each function has a `Config::from_env` made of the readers here.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use crate::domain::SessionLifetime;
use crate::tokens::TokenSettings;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {name} is required but not set")]
    Missing { name: &'static str },
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// The variables, by name, so that code, template checks and documentation agree.
pub mod vars {
    pub const USERS_TABLE: &str = "USERS_TABLE";
    pub const USERNAMES_TABLE: &str = "USERNAMES_TABLE";
    pub const SESSIONS_TABLE: &str = "SESSIONS_TABLE";
    pub const LOGIN_ATTEMPTS_TABLE: &str = "LOGIN_ATTEMPTS_TABLE";
    pub const SIGN_UPS_TABLE: &str = "SIGN_UPS_TABLE";
    pub const EMAIL_ADDRESSES_TABLE: &str = "EMAIL_ADDRESSES_TABLE";
    pub const CODES_TABLE: &str = "CODES_TABLE";
    pub const EVENTS_TABLE: &str = "EVENTS_TABLE";
    pub const PASSKEYS_TABLE: &str = "PASSKEYS_TABLE";
    pub const WEBAUTHN_RP_ID: &str = "WEBAUTHN_RP_ID";
    pub const WEBAUTHN_ORIGIN: &str = "WEBAUTHN_ORIGIN";
    pub const EVENT_RETENTION_DAYS: &str = "EVENT_RETENTION_DAYS";
    pub const CODE_HASH_KEY: &str = "CODE_HASH_KEY";
    pub const MAIL_FROM: &str = "MAIL_FROM";
    pub const TOTP_ISSUER: &str = "TOTP_ISSUER";
    pub const SIGN_UPS_PER_ADDRESS_PER_HOUR: &str = "SIGN_UPS_PER_ADDRESS_PER_HOUR";
    pub const RECOVERY_PER_ADDRESS_PER_HOUR: &str = "RECOVERY_PER_ADDRESS_PER_HOUR";
    pub const PASSWORD_MIN_LENGTH: &str = "PASSWORD_MIN_LENGTH";
    pub const TOKEN_ISSUER: &str = "TOKEN_ISSUER";
    pub const TOKEN_AUDIENCE: &str = "TOKEN_AUDIENCE";
    pub const TOKEN_TTL_SECONDS: &str = "TOKEN_TTL_SECONDS";
    pub const TOKEN_SIGNING_KEY_FILE: &str = "TOKEN_SIGNING_KEY_FILE";
    pub const TOKEN_SIGNING_KEY_SECRET_ARN: &str = "TOKEN_SIGNING_KEY_SECRET_ARN";
    pub const TOKEN_SIGNING_KEY_VERSION_ID: &str = "TOKEN_SIGNING_KEY_VERSION_ID";
    pub const TOKEN_VERIFYING_KEY: &str = "TOKEN_VERIFYING_KEY";
    pub const SESSION_TTL_SECONDS: &str = "SESSION_TTL_SECONDS";
    pub const SESSION_IDLE_SECONDS: &str = "SESSION_IDLE_SECONDS";
    pub const REFRESH_REUSE_GRACE_SECONDS: &str = "REFRESH_REUSE_GRACE_SECONDS";
    pub const MAX_SESSIONS_PER_USER: &str = "MAX_SESSIONS_PER_USER";
    pub const USERNAME_LOG_KEY: &str = "USERNAME_LOG_KEY";
    pub const EDGE_ORIGIN_SECRET: &str = "EDGE_ORIGIN_SECRET";
    pub const PAGES_URL: &str = "PAGES_URL";

    /// Set by Lambda itself in every function; a template cannot set them.
    pub const AWS_REGION: &str = "AWS_REGION";
    pub const AWS_DEFAULT_REGION: &str = "AWS_DEFAULT_REGION";
    pub const AWS_ACCESS_KEY_ID: &str = "AWS_ACCESS_KEY_ID";
    pub const AWS_SECRET_ACCESS_KEY: &str = "AWS_SECRET_ACCESS_KEY";
    pub const AWS_SESSION_TOKEN: &str = "AWS_SESSION_TOKEN";
    pub const AWS_LAMBDA_LOG_FORMAT: &str = "AWS_LAMBDA_LOG_FORMAT";
    pub const AWS_LAMBDA_LOG_LEVEL: &str = "AWS_LAMBDA_LOG_LEVEL";
    pub const SET_BY_LAMBDA: [&str; 7] = [
        AWS_REGION,
        AWS_DEFAULT_REGION,
        AWS_ACCESS_KEY_ID,
        AWS_SECRET_ACCESS_KEY,
        AWS_SESSION_TOKEN,
        AWS_LAMBDA_LOG_FORMAT,
        AWS_LAMBDA_LOG_LEVEL,
    ];

    /// For local runs and tests only: other endpoints, another log level.
    pub const AWS_ENDPOINT_URL: &str = "AWS_ENDPOINT_URL";
    pub const AWS_ENDPOINT_URL_DYNAMODB: &str = "AWS_ENDPOINT_URL_DYNAMODB";
    pub const AWS_ENDPOINT_URL_SECRETS_MANAGER: &str = "AWS_ENDPOINT_URL_SECRETS_MANAGER";
    pub const AWS_ENDPOINT_URL_SESV2: &str = "AWS_ENDPOINT_URL_SESV2";
    pub const AWS_ENDPOINT_URL_STS: &str = "AWS_ENDPOINT_URL_STS";
    pub const RUST_LOG: &str = "RUST_LOG";
    /// Set by local runs (`cargo lambda watch`), never deployed: see
    /// [`crate::edge::AfterResponse::from_env`].
    pub const LOCAL_EMULATOR: &str = "LOCAL_EMULATOR";
    pub const LOCAL_ONLY: [&str; 7] = [
        AWS_ENDPOINT_URL,
        AWS_ENDPOINT_URL_DYNAMODB,
        AWS_ENDPOINT_URL_SECRETS_MANAGER,
        AWS_ENDPOINT_URL_SESV2,
        AWS_ENDPOINT_URL_STS,
        RUST_LOG,
        LOCAL_EMULATOR,
    ];
}

pub const DEFAULT_PASSWORD_MIN_LENGTH: usize = 15;
pub const DEFAULT_SIGN_UPS_PER_ADDRESS_PER_HOUR: u64 = 20;
pub const DEFAULT_RECOVERY_PER_ADDRESS_PER_HOUR: u64 = 20;
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(15 * 60);
/// The longest access token lifetime a deployment may set: 12 hours.
pub const MAX_TOKEN_TTL_SECONDS: u64 = 12 * 3600;
pub const DEFAULT_TOKEN_ISSUER: &str = "user-auth-service";
pub const DEFAULT_TOTP_ISSUER: &str = "UserAuthService";
pub const DEFAULT_TOKEN_AUDIENCE: &str = "user-auth-service";
pub const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(30 * 86_400);
pub const DEFAULT_SESSION_IDLE: Duration = Duration::from_secs(7 * 86_400);
pub const DEFAULT_REFRESH_REUSE_GRACE: Duration = Duration::from_secs(10);
/// The bounds of the reuse grace, in seconds: at least a second, since with
/// none two refreshes of one token a second apart, or on hosts whose clocks
/// differ by one, would count as theft.
pub const REFRESH_REUSE_GRACE_RANGE: std::ops::RangeInclusive<u64> = 1..=60;
pub const DEFAULT_MAX_SESSIONS_PER_USER: usize = 100;
/// The bounds of the cap of live sessions per user.
pub const MAX_SESSIONS_PER_USER_RANGE: std::ops::RangeInclusive<usize> = 1..=1000;

/// The DynamoDB tables, by name. Their keys are in [`crate::store::dynamodb::schema`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableNames {
    pub users: String,
    pub usernames: String,
    pub sessions: String,
    pub login_attempts: String,
    pub sign_ups: String,
    pub email_addresses: String,
    pub codes: String,
    pub events: String,
    pub passkeys: String,
}

impl Default for TableNames {
    fn default() -> Self {
        TableNames {
            users: "users".into(),
            usernames: "usernames".into(),
            sessions: "sessions".into(),
            login_attempts: "login-attempts".into(),
            sign_ups: "sign-ups".into(),
            email_addresses: "email-addresses".into(),
            codes: "codes".into(),
            events: "events".into(),
            passkeys: "passkeys".into(),
        }
    }
}

/// A source of environment variables that remembers which ones were read.
#[derive(Debug)]
pub struct Env {
    values: Option<HashMap<String, String>>,
    read: Mutex<BTreeSet<&'static str>>,
}

impl Env {
    /// The process environment.
    pub fn process() -> Self {
        Env { values: None, read: Mutex::default() }
    }

    /// A fixed set of variables, for tests.
    pub fn from_map(values: HashMap<String, String>) -> Self {
        Env { values: Some(values), read: Mutex::default() }
    }

    /// A fixed set of variables from pairs, for tests.
    pub fn from_pairs<K: ToString, V: ToString>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        Env::from_map(pairs.into_iter().map(|(name, value)| (name.to_string(), value.to_string())).collect())
    }

    /// The names read so far.
    pub fn names_read(&self) -> BTreeSet<&'static str> {
        self.read.lock().map(|read| read.clone()).unwrap_or_default()
    }

    pub fn optional(&self, name: &'static str) -> Option<String> {
        if let Ok(mut read) = self.read.lock() {
            read.insert(name);
        }
        let value = match &self.values {
            Some(values) => values.get(name).cloned(),
            None => std::env::var(name).ok(),
        };
        value.filter(|value| !value.trim().is_empty())
    }

    pub fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.optional(name).ok_or(ConfigError::Missing { name })
    }

    fn parsed<T: std::str::FromStr>(&self, name: &'static str, default: T) -> Result<T, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        match self.optional(name) {
            None => Ok(default),
            Some(raw) => {
                raw.trim().parse().map_err(|err: T::Err| ConfigError::Invalid { name, reason: err.to_string() })
            }
        }
    }
}

pub fn table_names(env: &Env) -> TableNames {
    let defaults = TableNames::default();
    TableNames {
        users: env.optional(vars::USERS_TABLE).unwrap_or(defaults.users),
        usernames: env.optional(vars::USERNAMES_TABLE).unwrap_or(defaults.usernames),
        sessions: env.optional(vars::SESSIONS_TABLE).unwrap_or(defaults.sessions),
        login_attempts: env.optional(vars::LOGIN_ATTEMPTS_TABLE).unwrap_or(defaults.login_attempts),
        sign_ups: env.optional(vars::SIGN_UPS_TABLE).unwrap_or(defaults.sign_ups),
        email_addresses: env.optional(vars::EMAIL_ADDRESSES_TABLE).unwrap_or(defaults.email_addresses),
        codes: env.optional(vars::CODES_TABLE).unwrap_or(defaults.codes),
        events: env.optional(vars::EVENTS_TABLE).unwrap_or(defaults.events),
        passkeys: env.optional(vars::PASSKEYS_TABLE).unwrap_or(defaults.passkeys),
    }
}

/// How many days an account's security events are kept (1 to 3650); 90
/// when unset.
pub fn event_retention_days(env: &Env) -> Result<u64, ConfigError> {
    let days = env.parsed(vars::EVENT_RETENTION_DAYS, DEFAULT_EVENT_RETENTION_DAYS)?;
    if !EVENT_RETENTION_DAYS_RANGE.contains(&days) {
        return Err(ConfigError::Invalid {
            name: vars::EVENT_RETENTION_DAYS,
            reason: "must be between 1 and 3650".into(),
        });
    }
    Ok(days)
}

pub const DEFAULT_EVENT_RETENTION_DAYS: u64 = 90;
pub const EVENT_RETENTION_DAYS_RANGE: std::ops::RangeInclusive<u64> = 1..=3650;

/// How many recovery requests one source address may make in an hour (1 to
/// 100000); beyond them, 429 until the hour ends.
pub fn recovery_per_address_per_hour(env: &Env) -> Result<u64, ConfigError> {
    per_address_per_hour(env, vars::RECOVERY_PER_ADDRESS_PER_HOUR, DEFAULT_RECOVERY_PER_ADDRESS_PER_HOUR)
}

/// How many sign-ups one source address may make in an hour (1 to 100000).
pub fn sign_ups_per_address_per_hour(env: &Env) -> Result<u64, ConfigError> {
    per_address_per_hour(env, vars::SIGN_UPS_PER_ADDRESS_PER_HOUR, DEFAULT_SIGN_UPS_PER_ADDRESS_PER_HOUR)
}

/// What the per-address hourly limits may be set to.
pub const PER_ADDRESS_PER_HOUR_RANGE: std::ops::RangeInclusive<u64> = 1..=100_000;

fn per_address_per_hour(env: &Env, name: &'static str, default: u64) -> Result<u64, ConfigError> {
    let limit = env.parsed(name, default)?;
    if !PER_ADDRESS_PER_HOUR_RANGE.contains(&limit) {
        return Err(ConfigError::Invalid { name, reason: "must be between 1 and 100000".into() });
    }
    Ok(limit)
}

pub fn password_min_length(env: &Env) -> Result<usize, ConfigError> {
    let min = env.parsed(vars::PASSWORD_MIN_LENGTH, DEFAULT_PASSWORD_MIN_LENGTH)?;
    if !(8..=crate::domain::PASSWORD_MAX_LENGTH).contains(&min) {
        return Err(ConfigError::Invalid {
            name: vars::PASSWORD_MIN_LENGTH,
            reason: format!("must be between 8 and {}", crate::domain::PASSWORD_MAX_LENGTH),
        });
    }
    Ok(min)
}

pub fn token_settings(env: &Env) -> Result<TokenSettings, ConfigError> {
    let ttl_seconds: u64 = env.parsed(vars::TOKEN_TTL_SECONDS, DEFAULT_TOKEN_TTL.as_secs())?;
    // At most 12 hours (OWASP ASVS 4.0.3, 3.3.2): an access token cannot be
    // called back by a service that checks only its signature.
    if !(60..=MAX_TOKEN_TTL_SECONDS).contains(&ttl_seconds) {
        return Err(ConfigError::Invalid {
            name: vars::TOKEN_TTL_SECONDS,
            reason: format!("must be between 60 and {MAX_TOKEN_TTL_SECONDS}"),
        });
    }
    Ok(TokenSettings {
        issuer: token_issuer(env),
        audience: env.optional(vars::TOKEN_AUDIENCE).unwrap_or_else(|| DEFAULT_TOKEN_AUDIENCE.into()),
        ttl: Duration::from_secs(ttl_seconds),
    })
}

/// The `iss` of access tokens: any string, or, for a discovery document to
/// be published, the service's public base URL.
pub fn token_issuer(env: &Env) -> String {
    env.optional(vars::TOKEN_ISSUER).unwrap_or_else(|| DEFAULT_TOKEN_ISSUER.into())
}

/// Where the hosted pages are (`PAGES_URL`, such as
/// `https://auth.example.com/app`): recovery mails then link to its
/// recovery page. Unset, they carry the code alone. HTTPS, but for a local
/// run on the loopback interface.
pub fn pages_url(env: &Env) -> Result<Option<String>, ConfigError> {
    let Some(url) = env.optional(vars::PAGES_URL) else { return Ok(None) };
    let url = url.trim().to_owned();
    let invalid = |reason: &str| ConfigError::Invalid { name: vars::PAGES_URL, reason: reason.to_owned() };
    let rest = match (url.strip_prefix("https://"), url.strip_prefix("http://")) {
        (Some(rest), _) => rest,
        (None, Some(rest)) if ["localhost", "127.0.0.1"].iter().any(|host| loopback_host(rest, host)) => rest,
        _ => return Err(invalid("must be an https:// URL (http:// only for localhost)")),
    };
    if rest.is_empty() || rest.contains(['#', '?', ' ', '"', '<', '>']) {
        return Err(invalid("must be a URL without a query or fragment"));
    }
    Ok(Some(url))
}

fn loopback_host(rest: &str, host: &str) -> bool {
    rest.strip_prefix(host).is_some_and(|after| after.is_empty() || after.starts_with([':', '/']))
}

/// How long sessions last: `SESSION_TTL_SECONDS` from login at most (an hour
/// to a year), and `SESSION_IDLE_SECONDS` without a refresh (0: no limit).
pub fn session_lifetime(env: &Env) -> Result<SessionLifetime, ConfigError> {
    let absolute = env.parsed(vars::SESSION_TTL_SECONDS, DEFAULT_SESSION_TTL.as_secs())?;
    if !(3600..=365 * 86_400).contains(&absolute) {
        return Err(ConfigError::Invalid {
            name: vars::SESSION_TTL_SECONDS,
            reason: "must be between 3600 and 31536000".into(),
        });
    }
    let idle = env.parsed(vars::SESSION_IDLE_SECONDS, DEFAULT_SESSION_IDLE.as_secs())?;
    if idle > absolute {
        return Err(ConfigError::Invalid {
            name: vars::SESSION_IDLE_SECONDS,
            reason: format!("must be at most {} (SESSION_TTL_SECONDS)", vars::SESSION_TTL_SECONDS),
        });
    }
    Ok(SessionLifetime { absolute, idle: (idle > 0).then_some(idle) })
}

/// How long after a refresh its spent token still counts as a retry rather
/// than theft (`REFRESH_REUSE_GRACE_SECONDS`, within [`REFRESH_REUSE_GRACE_RANGE`]).
pub fn refresh_reuse_grace(env: &Env) -> Result<u64, ConfigError> {
    let grace = env.parsed(vars::REFRESH_REUSE_GRACE_SECONDS, DEFAULT_REFRESH_REUSE_GRACE.as_secs())?;
    within(vars::REFRESH_REUSE_GRACE_SECONDS, grace, &REFRESH_REUSE_GRACE_RANGE)
}

/// The most live sessions a user may have (`MAX_SESSIONS_PER_USER`, within
/// [`MAX_SESSIONS_PER_USER_RANGE`]): a login beyond it ends the least
/// recently refreshed, so every ending of a user's sessions has a known size.
pub fn max_sessions_per_user(env: &Env) -> Result<usize, ConfigError> {
    let max = env.parsed(vars::MAX_SESSIONS_PER_USER, DEFAULT_MAX_SESSIONS_PER_USER)?;
    within(vars::MAX_SESSIONS_PER_USER, max, &MAX_SESSIONS_PER_USER_RANGE)
}

/// `value` of the variable `name`, if `range` holds it.
fn within<T>(name: &'static str, value: T, range: &std::ops::RangeInclusive<T>) -> Result<T, ConfigError>
where
    T: PartialOrd + std::fmt::Display,
{
    match range.contains(&value) {
        true => Ok(value),
        false => {
            Err(ConfigError::Invalid { name, reason: format!("must be between {} and {}", range.start(), range.end()) })
        }
    }
}

/// Where the login function finds the Ed25519 private key (PKCS#8 PEM).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SigningKeySource {
    /// A file: local runs, with a development key.
    File(PathBuf),
    /// An AWS Secrets Manager secret holding the PEM, at a version of it
    /// (else its current one): deployments.
    Secret { arn: String, version_id: Option<String> },
}

pub fn signing_key_source(env: &Env) -> Result<SigningKeySource, ConfigError> {
    if let Some(arn) = env.optional(vars::TOKEN_SIGNING_KEY_SECRET_ARN) {
        let version_id = env.optional(vars::TOKEN_SIGNING_KEY_VERSION_ID).map(|id| id.trim().to_owned());
        return Ok(SigningKeySource::Secret { arn, version_id });
    }
    match env.optional(vars::TOKEN_SIGNING_KEY_FILE) {
        Some(path) => Ok(SigningKeySource::File(path.into())),
        None => Err(ConfigError::Missing { name: vars::TOKEN_SIGNING_KEY_SECRET_ARN }),
    }
}

/// The PEM of the Ed25519 public key. It is public, so a variable is fine.
pub fn verifying_key_pem(env: &Env) -> Result<String, ConfigError> {
    env.required(vars::TOKEN_VERIFYING_KEY)
}

/// The shortest key [`username_log_key`] takes: 32 characters, as many
/// bytes as the HMAC's output.
pub const MIN_USERNAME_LOG_KEY_LENGTH: usize = 32;

/// The key of the username's pseudonym in the logs of the functions that
/// check passwords ([`crate::telemetry::username_pseudonym`]).
pub fn username_log_key(env: &Env) -> Result<secrecy::SecretString, ConfigError> {
    let key = env.required(vars::USERNAME_LOG_KEY)?;
    if key.trim().chars().count() < MIN_USERNAME_LOG_KEY_LENGTH {
        let reason = format!("at least {MIN_USERNAME_LOG_KEY_LENGTH} characters are needed");
        return Err(ConfigError::Invalid { name: vars::USERNAME_LOG_KEY, reason });
    }
    Ok(key.trim().to_owned().into())
}

/// The key of the one-time codes' hashes ([`crate::domain::CodeHasher`]):
/// at least 32 characters, like [`username_log_key`], and a key of its own.
pub fn code_hash_key(env: &Env) -> Result<secrecy::SecretString, ConfigError> {
    let key = env.required(vars::CODE_HASH_KEY)?;
    if key.trim().chars().count() < MIN_USERNAME_LOG_KEY_LENGTH {
        let reason = format!("at least {MIN_USERNAME_LOG_KEY_LENGTH} characters are needed");
        return Err(ConfigError::Invalid { name: vars::CODE_HASH_KEY, reason });
    }
    Ok(key.trim().to_owned().into())
}

/// The sender of the service's mail: an identity verified in SES.
/// The name authenticator apps show beside the account's: any non-empty
/// text of at most 64 characters without a colon (it separates the two in
/// the `otpauth://` label).
pub fn totp_issuer(env: &Env) -> Result<String, ConfigError> {
    let issuer = env.optional(vars::TOTP_ISSUER).unwrap_or_else(|| DEFAULT_TOTP_ISSUER.into());
    match !issuer.trim().is_empty() && issuer.chars().count() <= 64 && !issuer.contains(':') {
        true => Ok(issuer),
        false => Err(ConfigError::Invalid {
            name: vars::TOTP_ISSUER,
            reason: "must be 1 to 64 characters without a colon".into(),
        }),
    }
}

pub fn mail_from(env: &Env) -> Result<crate::domain::EmailAddress, ConfigError> {
    let raw = env.required(vars::MAIL_FROM)?;
    crate::domain::EmailAddress::parse(&raw)
        .map_err(|err| ConfigError::Invalid { name: vars::MAIL_FROM, reason: err.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn defaults_apply_when_unset() {
        let env = env(&[]);
        assert_eq!(password_min_length(&env).unwrap(), 15);
        let settings = token_settings(&env).unwrap();
        assert_eq!(settings.ttl, Duration::from_secs(900));
        assert_eq!(table_names(&env), TableNames::default());
        assert!(env.names_read().contains(vars::TOKEN_TTL_SECONDS));
    }

    #[test]
    fn values_are_validated() {
        assert!(password_min_length(&env(&[(vars::PASSWORD_MIN_LENGTH, "4")])).is_err());
        assert!(password_min_length(&env(&[(vars::PASSWORD_MIN_LENGTH, "x")])).is_err());
        assert_eq!(password_min_length(&env(&[(vars::PASSWORD_MIN_LENGTH, "20")])).unwrap(), 20);
        assert!(token_settings(&env(&[(vars::TOKEN_TTL_SECONDS, "5")])).is_err());
        assert!(token_settings(&env(&[(vars::TOKEN_TTL_SECONDS, "43200")])).is_ok());
        assert!(token_settings(&env(&[(vars::TOKEN_TTL_SECONDS, "43201")])).is_err());
        assert!(verifying_key_pem(&env(&[])).is_err());
    }

    #[test]
    fn the_pages_url_is_https_but_on_the_loopback_interface() {
        let pages = |url: &str| pages_url(&env(&[(vars::PAGES_URL, url)]));
        assert_eq!(pages_url(&env(&[])).unwrap(), None);
        for good in ["https://auth.example.com/app", "http://localhost:9000/app/", "http://127.0.0.1/app"] {
            assert_eq!(pages(good).unwrap().as_deref(), Some(good));
        }
        for bad in ["http://auth.example.com/app", "http://localhost.example.com/app", "ftp://x", "https://", "/app"] {
            assert!(pages(bad).is_err(), "{bad}");
        }
        assert!(pages("https://auth.example.com/app#/x").is_err());
        assert!(pages("https://auth.example.com/app?x=1").is_err());
    }

    #[test]
    fn session_settings_have_defaults_and_limits() {
        let defaults = session_lifetime(&env(&[])).unwrap();
        assert_eq!(defaults, SessionLifetime { absolute: 30 * 86_400, idle: Some(7 * 86_400) });
        let no_idle = session_lifetime(&env(&[(vars::SESSION_IDLE_SECONDS, "0")])).unwrap();
        assert_eq!(no_idle.idle, None);
        assert!(session_lifetime(&env(&[(vars::SESSION_TTL_SECONDS, "60")])).is_err());
        assert!(session_lifetime(&env(&[(vars::SESSION_TTL_SECONDS, "7200"), (vars::SESSION_IDLE_SECONDS, "7201")]))
            .is_err());
        assert_eq!(refresh_reuse_grace(&env(&[])).unwrap(), 10);
        assert!(refresh_reuse_grace(&env(&[(vars::REFRESH_REUSE_GRACE_SECONDS, "61")])).is_err());
        assert!(refresh_reuse_grace(&env(&[(vars::REFRESH_REUSE_GRACE_SECONDS, "0")])).is_err());
        assert_eq!(max_sessions_per_user(&env(&[])).unwrap(), 100);
        assert_eq!(max_sessions_per_user(&env(&[(vars::MAX_SESSIONS_PER_USER, "3")])).unwrap(), 3);
        for bad in ["0", "1001", "-1", "many"] {
            assert!(max_sessions_per_user(&env(&[(vars::MAX_SESSIONS_PER_USER, bad)])).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_secret_takes_precedence_over_a_key_file() {
        let both = env(&[(vars::TOKEN_SIGNING_KEY_SECRET_ARN, "arn:secret"), (vars::TOKEN_SIGNING_KEY_FILE, "/k.pem")]);
        assert_eq!(
            signing_key_source(&both).unwrap(),
            SigningKeySource::Secret { arn: "arn:secret".into(), version_id: None }
        );
        let file = env(&[(vars::TOKEN_SIGNING_KEY_FILE, "/k.pem")]);
        assert_eq!(signing_key_source(&file).unwrap(), SigningKeySource::File("/k.pem".into()));
        assert!(signing_key_source(&env(&[])).is_err());
    }
}
