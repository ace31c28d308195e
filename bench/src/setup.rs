//! What the functions need around them: a signing key where they read it, a
//! user to act on, the sessions their tokens belong to, and the environment
//! Lambda and the service's configuration would give them.

use std::path::Path;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use secrecy::SecretString;
use user_auth_core::config::vars;
use user_auth_core::domain::{User, UserId};
use user_auth_core::operations;
use user_auth_core::passwords::Argon2id;
use user_auth_core::store::dynamodb::DynamoStore;
use user_auth_core::store::TableNames;
use user_auth_core::tokens::refresh::RefreshToken;
use user_auth_core::tokens::{SigningKeyPair, TokenIssuer, TokenSettings};

use crate::{database, BoxError, PASSWORD, PASSWORD_MIN_LENGTH};

/// A function's environment variables.
pub type Env = Vec<(String, String)>;

pub struct Keys {
    /// Issues the access tokens the events carry.
    pub issuer: TokenIssuer,
    pub verifying_key_pem: String,
    pub signing_key_file: String,
}

impl Keys {
    /// Generates a key pair and writes its signing key into `scratch`, as the
    /// functions read it from a file.
    pub fn create(scratch: &Path) -> Result<Self, BoxError> {
        std::fs::create_dir_all(scratch)?;
        let pair = SigningKeyPair::generate()?;
        let file = scratch.join("signing-key.pem");
        std::fs::write(&file, &pair.private_key_pem)?;
        let settings =
            TokenSettings { issuer: "bench".into(), audience: "bench".into(), ttl: Duration::from_secs(900) };
        Ok(Keys {
            issuer: TokenIssuer::from_pem(&pair.private_key_pem, settings)?,
            verifying_key_pem: pair.public_key_pem,
            signing_key_file: file.to_str().ok_or("the scratch directory's path is not UTF-8")?.to_owned(),
        })
    }
}

/// The user to log in as, created through the service's own rules.
pub async fn create_user(db: &Client, tables: &TableNames) -> Result<User, BoxError> {
    let store = DynamoStore::new(db.clone(), tables.clone());
    Ok(operations::create_user(&store, &Argon2id, PASSWORD_MIN_LENGTH, "alice", SecretString::from(PASSWORD)).await?)
}

/// The sessions the events' tokens belong to, all in DynamoDB Local: every
/// function that takes an access token refuses it unless its session is
/// there and active. Each session is kept as its first refresh token, which
/// names its user and its id. The sessions that an invocation ends or
/// renews come one per event, `per_event` of each: as many as any case is
/// fed (see [`crate::measure::Settings::most_events`]).
pub struct Sessions {
    /// alice's: get-user reads her profile with it.
    pub reader: RefreshToken,
    /// The first of [`LISTED_SESSIONS`] sessions of a user of their own: what
    /// list-sessions lists. Not alice, whose sessions grow with every login
    /// the benchmark makes.
    pub lister: RefreshToken,
    /// One per logout, which ends it.
    pub to_log_out: Vec<RefreshToken>,
    /// One per refresh, which spends its token.
    pub to_refresh: Vec<RefreshToken>,
    /// revoke-session's caller, and one session of the same user per event
    /// for it to end.
    pub revoker: RefreshToken,
    pub to_revoke: Vec<RefreshToken>,
}

/// How many sessions list-sessions finds: its caller's and two more, as if
/// its user were logged in on three devices.
pub const LISTED_SESSIONS: usize = 3;

impl Sessions {
    pub async fn create(db: &Client, tables: &TableNames, alice: &UserId, per_event: usize) -> Result<Self, BoxError> {
        let start = |user_id: UserId, count: usize| start_sessions(db, tables, user_id, count);
        let mut revoker = start(UserId::new_random(), 1 + per_event).await?;
        let to_revoke = revoker.split_off(1);
        Ok(Sessions {
            reader: first(start(alice.clone(), 1).await?)?,
            lister: first(start(UserId::new_random(), LISTED_SESSIONS).await?)?,
            to_log_out: start(UserId::new_random(), per_event).await?,
            to_refresh: start(UserId::new_random(), per_event).await?,
            revoker: first(revoker)?,
            to_revoke,
        })
    }
}

/// `count` sessions of `user_id`, started one after the other.
async fn start_sessions(
    db: &Client,
    tables: &TableNames,
    user_id: UserId,
    count: usize,
) -> Result<Vec<RefreshToken>, BoxError> {
    let mut started = Vec::with_capacity(count);
    for _ in 0..count {
        started.push(database::put_session(db, tables, &user_id).await?);
    }
    Ok(started)
}

fn first(sessions: Vec<RefreshToken>) -> Result<RefreshToken, BoxError> {
    sessions.into_iter().next().ok_or_else(|| "no session was started".into())
}

/// What Lambda sets, as the runtime reads it, and the service's configuration.
pub fn function_env(dynamodb_endpoint: &str, keys: &Keys) -> Env {
    [
        ("AWS_LAMBDA_FUNCTION_NAME", "bench"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1769"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ("AWS_REGION", "eu-west-1"),
        ("AWS_ACCESS_KEY_ID", "local"),
        ("AWS_SECRET_ACCESS_KEY", "local"),
        ("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_endpoint),
        (vars::TOKEN_ISSUER, "bench"),
        (vars::TOKEN_AUDIENCE, "bench"),
        (vars::TOKEN_VERIFYING_KEY, keys.verifying_key_pem.as_str()),
        (vars::TOKEN_SIGNING_KEY_FILE, keys.signing_key_file.as_str()),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// The same environment with DynamoDB at another endpoint.
pub fn with_endpoint(env: &[(String, String)], endpoint: &str) -> Env {
    env.iter()
        .map(|(k, v)| (k.clone(), if k == "AWS_ENDPOINT_URL_DYNAMODB" { endpoint.to_owned() } else { v.clone() }))
        .collect()
}
