//! Configuration from the environment. Each function reads only what it uses;
//! every variable, its default and its readers are listed in the README.

use std::time::Duration;

use crate::store::TableNames;
use crate::tokens::TokenSettings;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {name} is required but not set")]
    Missing { name: &'static str },
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// The variables, by name, so that code and documentation cannot drift.
pub mod vars {
    pub const USERS_TABLE: &str = "USERS_TABLE";
    pub const USERNAMES_TABLE: &str = "USERNAMES_TABLE";
    pub const REVOKED_TOKENS_TABLE: &str = "REVOKED_TOKENS_TABLE";
    pub const PASSWORD_MIN_LENGTH: &str = "PASSWORD_MIN_LENGTH";
    pub const TOKEN_ISSUER: &str = "TOKEN_ISSUER";
    pub const TOKEN_AUDIENCE: &str = "TOKEN_AUDIENCE";
    pub const TOKEN_TTL_SECONDS: &str = "TOKEN_TTL_SECONDS";
    pub const TOKEN_SIGNING_KEY_FILE: &str = "TOKEN_SIGNING_KEY_FILE";
    pub const TOKEN_VERIFYING_KEY: &str = "TOKEN_VERIFYING_KEY";
}

pub const DEFAULT_PASSWORD_MIN_LENGTH: usize = 15;
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(15 * 60);
pub const DEFAULT_TOKEN_ISSUER: &str = "user-auth-service";
pub const DEFAULT_TOKEN_AUDIENCE: &str = "user-auth-service";

fn optional(name: &'static str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.trim().is_empty())
}

pub fn required(name: &'static str) -> Result<String, ConfigError> {
    optional(name).ok_or(ConfigError::Missing { name })
}

fn parsed<T: std::str::FromStr>(name: &'static str, default: T) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match optional(name) {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse()
            .map_err(|err: T::Err| ConfigError::Invalid { name, reason: err.to_string() }),
    }
}

pub fn table_names() -> TableNames {
    let defaults = TableNames::default();
    TableNames {
        users: optional(vars::USERS_TABLE).unwrap_or(defaults.users),
        usernames: optional(vars::USERNAMES_TABLE).unwrap_or(defaults.usernames),
        revoked_tokens: optional(vars::REVOKED_TOKENS_TABLE).unwrap_or(defaults.revoked_tokens),
    }
}

pub fn password_min_length() -> Result<usize, ConfigError> {
    let min = parsed(vars::PASSWORD_MIN_LENGTH, DEFAULT_PASSWORD_MIN_LENGTH)?;
    if !(8..=crate::domain::PASSWORD_MAX_LENGTH).contains(&min) {
        return Err(ConfigError::Invalid {
            name: vars::PASSWORD_MIN_LENGTH,
            reason: format!("must be between 8 and {}", crate::domain::PASSWORD_MAX_LENGTH),
        });
    }
    Ok(min)
}

pub fn token_settings() -> Result<TokenSettings, ConfigError> {
    let ttl_seconds: u64 = parsed(vars::TOKEN_TTL_SECONDS, DEFAULT_TOKEN_TTL.as_secs())?;
    if !(60..=24 * 3600).contains(&ttl_seconds) {
        return Err(ConfigError::Invalid {
            name: vars::TOKEN_TTL_SECONDS,
            reason: "must be between 60 and 86400".into(),
        });
    }
    Ok(TokenSettings {
        issuer: optional(vars::TOKEN_ISSUER).unwrap_or_else(|| DEFAULT_TOKEN_ISSUER.into()),
        audience: optional(vars::TOKEN_AUDIENCE).unwrap_or_else(|| DEFAULT_TOKEN_AUDIENCE.into()),
        ttl: Duration::from_secs(ttl_seconds),
    })
}

/// The PEM of the Ed25519 private key, read from the file the environment names.
pub fn signing_key_pem() -> Result<String, ConfigError> {
    let path = required(vars::TOKEN_SIGNING_KEY_FILE)?;
    std::fs::read_to_string(&path).map_err(|err| ConfigError::Invalid {
        name: vars::TOKEN_SIGNING_KEY_FILE,
        reason: format!("cannot read {path}: {err}"),
    })
}

/// The PEM of the Ed25519 public key. It is public, so an environment variable is fine.
pub fn verifying_key_pem() -> Result<String, ConfigError> {
    required(vars::TOKEN_VERIFYING_KEY)
}
