//! The pieces each function's `build` is made of, every one read from the
//! environment through [`Env`]. `main` serves what `build` makes, and the
//! integration tests build the functions the same way, so both run this
//! wiring.

use secrecy::{ExposeSecret, SecretString};

use crate::clock::{self, SharedClock};
use crate::config::{self, Env, SigningKeySource};
use crate::config::{vars, ConfigError};
use crate::domain::{CodeHasher, CursorKey, FactorKeys};
use crate::mail::ses::SesMailer;
use crate::mail::SharedMailer;
use crate::operations::LoginPolicy;
use crate::passkeys::RelyingParty;
use crate::sdk_settings::{SdkSettings, Service};
use crate::store::dynamodb::DynamoStore;
use crate::tokens::{TokenIssuer, TokenVerifier};
use crate::BoxError;

/// The DynamoDB store over the SDK's settings, with the table names.
pub fn dynamo_store(env: &Env, sdk: &SdkSettings) -> Result<DynamoStore, BoxError> {
    let store = DynamoStore::from_settings(sdk, config::table_names(env));
    Ok(store.with_event_retention(config::event_retention_days(env)?))
}

/// The verifier of access tokens: their settings and the public key.
pub fn token_verifier(env: &Env) -> Result<TokenVerifier, BoxError> {
    let verifying_key_pem = config::verifying_key_pem(env)?;
    Ok(TokenVerifier::from_pem(&verifying_key_pem, &config::token_settings(env)?)?)
}

/// The private key that signs access tokens (PKCS#8 PEM), read once, at
/// start: from its file locally, from Secrets Manager when deployed (only the
/// functions that issue tokens may read that secret). `sdk` is the settings
/// the function's store is built with: one HTTPS client per process. Kept as
/// a secret: redacted in `Debug`, zeroed when dropped.
pub async fn signing_key_pem(env: &Env, sdk: &SdkSettings) -> Result<SecretString, BoxError> {
    match config::signing_key_source(env)? {
        SigningKeySource::File(path) => std::fs::read_to_string(&path)
            .map(SecretString::from)
            .map_err(|err| format!("cannot read the signing key file {}: {err}", path.display()).into()),
        SigningKeySource::Secret { arn, version_id } => {
            // A version pinned by the deployment, so that a key rotation is a
            // change of the template's parameters, and a deploy replaces every
            // environment's key at once.
            let secret = aws_sdk_secretsmanager::Client::new(&sdk.sdk_config(Service::SecretsManager))
                .get_secret_value()
                .secret_id(arn)
                .set_version_id(version_id)
                .send()
                .await?;
            let pem = secret.secret_string.ok_or("the signing key secret has no string value")?;
            Ok(SecretString::from(pem))
        }
    }
}

/// The store of a function that checks passwords, and the key of the
/// username pseudonyms in this process's logs: one key, so that the
/// login-attempts table and the logs name a username by the same keyed hash.
pub fn password_checking_store(env: &Env, sdk: &SdkSettings) -> Result<DynamoStore, BoxError> {
    let key = config::username_log_key(env)?;
    crate::telemetry::use_username_log_key(&key);
    Ok(dynamo_store(env, sdk)?.with_username_key(&key))
}

/// The mailer of a function that sends mail: SES v2, from `MAIL_FROM`,
/// over the SDK settings of the function's store.
pub fn mailer(env: &Env, sdk: &SdkSettings) -> Result<SharedMailer, BoxError> {
    Ok(std::sync::Arc::new(SesMailer::new(sdk, config::mail_from(env)?)))
}

/// The sessions a sign-in starts: how long they live, and how many a user
/// may hold (login, verify-mfa and login-with-passkey alike).
pub fn login_policy(env: &Env) -> Result<LoginPolicy, BoxError> {
    Ok(LoginPolicy { lifetime: config::session_lifetime(env)?, max_sessions: config::max_sessions_per_user(env)? })
}

/// The WebAuthn relying party, from `WEBAUTHN_RP_ID` (a domain) and
/// `WEBAUTHN_ORIGIN` (where the pages are); `None` when neither is set, and
/// the passkey routes then answer 404.
pub fn relying_party(env: &Env) -> Result<Option<RelyingParty>, BoxError> {
    let invalid = |reason: String| ConfigError::Invalid { name: vars::WEBAUTHN_ORIGIN, reason };
    match (env.optional(vars::WEBAUTHN_RP_ID), env.optional(vars::WEBAUTHN_ORIGIN)) {
        (None, None) => Ok(None),
        (Some(rp_id), Some(origin)) => Ok(Some(RelyingParty::new(rp_id.trim(), origin.trim()).map_err(invalid)?)),
        _ => {
            Err(invalid(format!("set both {} and {}, or neither", vars::WEBAUTHN_RP_ID, vars::WEBAUTHN_ORIGIN)).into())
        }
    }
}

/// The hasher of one-time codes, under `CODE_HASH_KEY`.
pub fn code_hasher(env: &Env) -> Result<CodeHasher, BoxError> {
    Ok(CodeHasher::new(&config::code_hash_key(env)?))
}

/// The keys that seal TOTP secrets and hash recovery codes, from the same
/// key as [`code_hasher`]'s.
pub fn factor_keys(env: &Env) -> Result<FactorKeys, BoxError> {
    Ok(FactorKeys::new(&config::code_hash_key(env)?))
}

/// The key that signs the cursors of activity pages, from the same key as
/// [`code_hasher`]'s.
pub fn cursor_key(env: &Env) -> Result<CursorKey, BoxError> {
    Ok(CursorKey::new(&config::code_hash_key(env)?))
}

/// The issuer of access tokens, with the signing key given.
pub fn token_issuer(env: &Env, signing_key_pem: &SecretString) -> Result<TokenIssuer, BoxError> {
    Ok(TokenIssuer::from_pem(signing_key_pem.expose_secret(), config::token_settings(env)?)?)
}

/// The state of a function that serves only holders of a valid access token
/// of an active session (get-user, list-sessions, revoke-session, logout):
/// the store, and what checks the token.
pub struct Authenticated<S> {
    pub store: S,
    pub verifier: TokenVerifier,
    pub clock: SharedClock,
}

impl Authenticated<DynamoStore> {
    pub fn from_env(env: &Env) -> Result<Self, BoxError> {
        let store = dynamo_store(env, &SdkSettings::from_env(env)?)?;
        Ok(Authenticated { store, verifier: token_verifier(env)?, clock: clock::system() })
    }
}
