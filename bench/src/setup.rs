//! What the functions need around them: a signing key where they read it, a
//! user to act on, the sessions their tokens belong to, the accounts they
//! change or delete, and the environment Lambda and the service's
//! configuration would give them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use secrecy::SecretString;
use user_auth_core::config::vars;
use user_auth_core::domain::{FactorKeys, Password, TotpSecret, User, UserId};
use user_auth_core::operations;
use user_auth_core::passwords::{hash_password, Argon2id, PasswordHash};
use user_auth_core::store::dynamodb::DynamoStore;
use user_auth_core::store::{SecondFactorStore, TableNames};
use user_auth_core::tokens::refresh::RefreshToken;
use user_auth_core::tokens::{SigningKeyPair, TokenIssuer, TokenSettings};

use crate::database::Database;
use crate::measure::Settings;
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

/// What every run of the benchmark starts from: DynamoDB Local with the
/// service's tables, a signing key in a scratch folder of its own, the user
/// the events act as, and a hash of [`PASSWORD`] for the accounts it makes.
pub struct Fixture {
    pub db: Database,
    pub tables: TableNames,
    pub scratch: PathBuf,
    pub keys: Keys,
    pub user: User,
    pub stored: PasswordHash,
}

impl Fixture {
    /// `name` names the scratch folder, beside this process's id.
    pub async fn start(name: &str) -> Result<Self, BoxError> {
        let db = Database::start().await?;
        let tables = TableNames::default();
        let scratch = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
        let keys = Keys::create(&scratch)?;
        let user = create_user(&db.client, &tables).await?;
        let stored = hash_password(Password::parse(PASSWORD.into(), PASSWORD_MIN_LENGTH)?).await?;
        Ok(Fixture { db, tables, scratch, keys, user, stored })
    }
}

/// The key of the usernames' pseudonyms, in the logs and the login-attempts table.
pub const USERNAME_LOG_KEY: &str = "bench-username-log-key-of-32-chars";
pub const CODE_HASH_KEY: &str = "bench-code-hash-key-of-32-characters";

/// The user to log in as, created through the service's own rules.
pub async fn create_user(db: &Client, tables: &TableNames) -> Result<User, BoxError> {
    let store = DynamoStore::new(db.clone(), tables.clone());
    Ok(operations::create_user(&store, &Argon2id, PASSWORD_MIN_LENGTH, "alice", SecretString::from(PASSWORD)).await?)
}

/// The password an account's `turn`-th password change (from 0) goes from
/// and to: from [`PASSWORD`], which every account starts with, to
/// [`OTHER_PASSWORD`] on even turns, and back on odd ones. So one account
/// serves any number of changes in a row, each from the password the one
/// before set.
pub fn password_change(turn: usize) -> (&'static str, &'static str) {
    const PASSWORDS: [&str; 2] = [PASSWORD, OTHER_PASSWORD];
    (PASSWORDS[turn % 2], PASSWORDS[(turn + 1) % 2])
}

const OTHER_PASSWORD: &str = "staple battery horse correct";

/// The sessions the events' tokens belong to, all in DynamoDB Local, each of
/// a user that exists: every function that takes an access token refuses it
/// unless its session is there and active and its user is there. Each
/// session is kept as its first refresh token, which names its user and its
/// id. The sessions that an invocation ends or renews come one per event:
/// as many as any case is fed (see [`Settings::most_events`]); those whose
/// invocation deletes their user, as many as an argon2 function is fed (see
/// [`Settings::argon2_events`]), each of a user of its own.
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
    /// change-password's caller, whose password every event changes, to and
    /// back (see [`password_change`]); the only session of its user, so that
    /// no event has other sessions to end.
    pub changer: RefreshToken,
    /// One per delete-user event, each the only session of a user that
    /// starts with [`PASSWORD`]: the event deletes the user.
    pub to_delete: Vec<RefreshToken>,
    /// A session of a user with an active second factor.
    pub factor_holder: RefreshToken,
}

/// How many sessions list-sessions finds: its caller's and two more, as if
/// its user were logged in on three devices.
pub const LISTED_SESSIONS: usize = 3;

impl Sessions {
    /// The sessions, of alice and of new users whose password's hash is
    /// `hash` (that of [`PASSWORD`]).
    pub async fn create(
        db: &Client,
        tables: &TableNames,
        alice: &UserId,
        hash: &PasswordHash,
        settings: &Settings,
    ) -> Result<Self, BoxError> {
        let per_event = settings.most_events();
        let start = |user_id: UserId, count: usize| start_sessions(db, tables, user_id, count);
        let new_user = || async move { database::put_user(db, tables, hash).await.map(|user| user.id) };
        let mut revoker = start(new_user().await?, 1 + per_event).await?;
        let to_revoke = revoker.split_off(1);
        let to_delete = create_accounts(db, tables, hash, settings.argon2_events()).await?;
        Ok(Sessions {
            reader: first(start(alice.clone(), 1).await?)?,
            lister: first(start(new_user().await?, LISTED_SESSIONS).await?)?,
            to_log_out: start(new_user().await?, per_event).await?,
            to_refresh: start(new_user().await?, per_event).await?,
            revoker: first(revoker)?,
            to_revoke,
            changer: create_account(db, tables, hash).await?.session,
            to_delete: to_delete.into_iter().map(|account| account.session).collect(),
            factor_holder: create_factor_holder(db, tables, hash).await?,
        })
    }
}

/// A new account with an active second factor, and a session of it.
async fn create_factor_holder(db: &Client, tables: &TableNames, hash: &PasswordHash) -> Result<RefreshToken, BoxError> {
    let account = create_account(db, tables, hash).await?;
    let store = DynamoStore::new(db.clone(), tables.clone());
    let keys = FactorKeys::new(&SecretString::from(CODE_HASH_KEY));
    let sealed = keys.seal(&account.user.id, &TotpSecret::generate()?)?;
    let (_, hashes) = keys.recovery_codes(&account.user.id)?;
    let enabled = store.put_pending_totp(&account.user.id, &sealed).await?
        && store.activate_totp(&account.user, &sealed, 0, &hashes).await?;
    if !enabled {
        return Err("the factor holder's factor was not enabled".into());
    }
    Ok(account.session)
}

/// A user with its profile, its username claim and one session: what a
/// password change or an account deletion acts on.
pub struct Account {
    pub user: User,
    /// Kept as its first refresh token, which names its user and its id.
    pub session: RefreshToken,
}

/// A new account whose password's hash is `hash`.
pub async fn create_account(db: &Client, tables: &TableNames, hash: &PasswordHash) -> Result<Account, BoxError> {
    let user = database::put_user(db, tables, hash).await?;
    let session = database::put_session(db, tables, &user.id).await?;
    Ok(Account { user, session })
}

/// `count` new accounts, created one after the other, all with `hash`.
pub async fn create_accounts(
    db: &Client,
    tables: &TableNames,
    hash: &PasswordHash,
    count: usize,
) -> Result<Vec<Account>, BoxError> {
    let mut created = Vec::with_capacity(count);
    for _ in 0..count {
        created.push(create_account(db, tables, hash).await?);
    }
    Ok(created)
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

/// Sign-ups allowed per source address and hour, in the functions'
/// configuration and at the floor: the most there is, as every sign-up
/// event comes from the fixture's one address. Each is counted all the same.
pub const SIGN_UPS_PER_HOUR: u64 = 100_000;

/// What Lambda sets, as the runtime reads it, and the service's configuration.
pub fn function_env(dynamodb_endpoint: &str, keys: &Keys) -> Env {
    let sign_ups_per_hour = SIGN_UPS_PER_HOUR.to_string();
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
        (vars::USERNAME_LOG_KEY, USERNAME_LOG_KEY),
        (vars::CODE_HASH_KEY, CODE_HASH_KEY),
        // The cases mail nobody; the recovery timing points SES at a stub.
        (vars::MAIL_FROM, "no-reply@bench.example.org"),
        (vars::AWS_ENDPOINT_URL_SESV2, "http://127.0.0.1:9"),
        (vars::RECOVERY_PER_ADDRESS_PER_HOUR, "100000"),
        // alice logs in at every login event, more often than the default
        // cap: it would end her oldest session, the one get-user's events
        // read with. At this cap a login ends none, as most logins do.
        (vars::MAX_SESSIONS_PER_USER, "1000"),
        // Passkeys on, as a local run has them.
        (vars::WEBAUTHN_RP_ID, "localhost"),
        (vars::WEBAUTHN_ORIGIN, "http://localhost:9000"),
        (vars::SIGN_UPS_PER_ADDRESS_PER_HOUR, sign_ups_per_hour.as_str()),
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
