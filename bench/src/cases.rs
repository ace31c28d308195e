//! The cases: each binary the benchmark runs, the events it is fed, what its
//! warm time is set against and the targets it is judged by. hello is the
//! reference every function's init is set against; its role says so.

use std::fmt;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use user_auth_core::clock::{Clock, SystemClock};
use user_auth_core::domain::{Password, UserId};
use user_auth_core::passwords::{hash_password, verify_password, PasswordHash};
use user_auth_core::store::TableNames;
use user_auth_core::tokens::TokenIssuer;

use crate::database::{get_item, put_item, transaction};
use crate::measure::Settings;
use crate::{workspace, BoxError, PASSWORD, PASSWORD_MIN_LENGTH};

pub struct Case<'a> {
    /// The binary's name, in `target/release` and `target/lambda`.
    pub name: &'static str,
    /// The status code every response must have.
    pub expected_status: u16,
    pub warm_runs: usize,
    pub role: Role,
    /// Makes the next event: some must differ per call.
    events: Box<dyn FnMut() -> String + 'a>,
}

impl Case<'_> {
    pub fn next_event(&mut self) -> String {
        (self.events)()
    }

    /// What its warm time is set against; none for the reference.
    pub fn judge(&self) -> Option<Judge> {
        match self.role {
            Role::Reference => None,
            Role::Function { judge, .. } => Some(judge),
        }
    }
}

pub enum Role {
    /// What Lambda's own Rust runtime costs: judged by nothing itself, it is
    /// what every function's init is set against.
    Reference,
    /// A function of the service.
    Function { judge: Judge, targets: Targets },
}

/// What every function is judged by.
#[derive(Clone, Copy)]
pub struct Targets {
    /// Median init, as a multiple of hello's.
    pub init_vs_hello: Limit,
    /// Median first invocation, as a multiple of the median warm one; also
    /// applies against the instant stub.
    pub first_vs_warm: Limit,
    pub peak_rss_mib: Limit,
    /// The arm64 `bootstrap`, when it was built.
    pub artifact_mib: Limit,
}

impl Targets {
    /// The targets all functions share, with the one that differs between
    /// them: peak RSS.
    fn with_peak_rss(peak_rss_mib: Limit) -> Targets {
        Targets {
            init_vs_hello: Limit::AtMost(1.5),
            first_vs_warm: Limit::AtMost(3.0),
            peak_rss_mib,
            artifact_mib: Limit::Below(4.0),
        }
    }
}

/// A bound on a measured figure. It shows as "≤ 1.5" or "< 64", so the
/// report's wording and its verdict come from the same number.
#[derive(Clone, Copy)]
pub enum Limit {
    AtMost(f64),
    Below(f64),
}

impl Limit {
    pub fn is_met(self, measured: f64) -> bool {
        match self {
            Limit::AtMost(limit) => measured <= limit,
            Limit::Below(limit) => measured < limit,
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Limit::AtMost(limit) => write!(f, "≤ {limit}"),
            Limit::Below(limit) => write!(f, "< {limit}"),
        }
    }
}

/// How a function's warm time is judged.
#[derive(Clone, Copy)]
pub enum Judge {
    /// Against a floor measured between its own invocations; the limit is on
    /// the ratio of medians.
    Floor { floor: Floor, warm_vs_floor: Limit },
    /// By its time beyond DynamoDB, measured against the instant stub; the
    /// limit is on that time's p99, in ms.
    OwnTime { calls: StubCalls, own_p99_ms: Limit },
}

impl Judge {
    /// Median warm invocation at most 1.15 × `floor`'s median.
    fn by_floor(floor: Floor) -> Judge {
        Judge::Floor { floor, warm_vs_floor: Limit::AtMost(1.15) }
    }

    /// Own time, beyond `calls` against the instant stub, under 0.5 ms at p99.
    fn by_own_time(calls: StubCalls) -> Judge {
        Judge::OwnTime { calls, own_p99_ms: Limit::Below(0.5) }
    }
}

/// The work a warm invocation cannot avoid, done by the harness itself:
/// argon2id and the same DynamoDB calls, made the same way.
#[derive(Clone, Copy)]
pub enum Floor {
    /// create-user: hash, then the two-put transaction.
    HashAndTransaction,
    /// login: the lockout record and the credentials read at once, then verify.
    TwoReadsAndVerify,
}

impl Floor {
    pub fn describe(self) -> &'static str {
        match self {
            Floor::HashAndTransaction => "argon2id hash + transaction",
            Floor::TwoReadsAndVerify => "2 concurrent GetItem + argon2id verify",
        }
    }

    pub async fn run(self, db: &Client, tables: &TableNames, stored: &PasswordHash) -> Result<Duration, BoxError> {
        let start = Instant::now();
        match self {
            Floor::HashAndTransaction => {
                hash_password(Password::parse(PASSWORD.into(), PASSWORD_MIN_LENGTH)?).await?;
                transaction(db, tables).await?;
            }
            Floor::TwoReadsAndVerify => {
                tokio::try_join!(get_item(db, tables), get_item(db, tables))?;
                verify_password(PASSWORD.into(), Some(stored.clone())).await?;
            }
        }
        Ok(start.elapsed())
    }
}

/// The DynamoDB calls of one warm invocation, made by the harness against
/// the instant stub between the function's own invocations against it.
#[derive(Clone, Copy)]
pub enum StubCalls {
    /// get-user: the revocation check and the user read at once.
    TwoConcurrentGets,
    /// logout: the revocation check, then the revocation.
    GetThenPut,
}

impl StubCalls {
    pub async fn run(self, stub: &Client, tables: &TableNames) -> Result<Duration, BoxError> {
        let start = Instant::now();
        match self {
            StubCalls::TwoConcurrentGets => {
                tokio::try_join!(get_item(stub, tables), get_item(stub, tables))?;
            }
            StubCalls::GetThenPut => {
                get_item(stub, tables).await?;
                put_item(stub, tables).await?;
            }
        }
        Ok(start.elapsed())
    }
}

/// The functions' fixture events, filled in for the benchmark's user.
pub struct Events {
    get_user: String,
    create_user: String,
    login: String,
    /// Its token is filled in per invocation, as logout revokes it.
    logout: String,
}

impl Events {
    pub fn load(user_id: &UserId, issuer: &TokenIssuer) -> Result<Self, BoxError> {
        let fixture =
            |name: &str| std::fs::read_to_string(workspace().join(format!("functions/{name}/fixtures/{name}.json")));
        Ok(Events {
            get_user: fixture("get-user")?
                .replace("{{id}}", user_id.as_str())
                .replace("{{token}}", &issuer.issue(user_id, SystemClock.now())?.access_token),
            create_user: fixture("create-user")?,
            login: fixture("login")?.replace("{{password}}", PASSWORD),
            logout: fixture("logout")?,
        })
    }
}

/// hello, then the four functions: the order cold starts go round them in,
/// and the order of the report's rows.
pub fn all<'a>(events: &'a Events, issuer: &'a TokenIssuer, user_id: &'a UserId, settings: &Settings) -> Vec<Case<'a>> {
    let Settings { warm_runs, argon2_warm_runs: argon2_runs, .. } = *settings;
    // argon2id's 19 MiB of working memory sets create-user and login apart.
    let argon2_targets = Targets::with_peak_rss(Limit::Below(64.0));
    let targets = Targets::with_peak_rss(Limit::Below(32.0));
    let get_user = move || events.get_user.clone();
    // A new username each time, as a taken one is refused.
    let new_user = move || {
        let username = format!("b{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
        events.create_user.replace(r#"\"username\":\"Alice\""#, &format!(r#"\"username\":\"{username}\""#))
    };
    let login = move || events.login.clone();
    // A new token each time, as logout revokes it.
    let logout = move || {
        let token = issuer.issue(user_id, SystemClock.now()).map(|t| t.access_token).unwrap_or_default();
        events.logout.replace("{{token}}", &token)
    };
    vec![
        // Answers the get-user event with a fixed response.
        Case { name: "hello", expected_status: 200, warm_runs, role: Role::Reference, events: Box::new(get_user) },
        // name, expected status, warm runs, judge, targets, events
        function("create-user", 201, argon2_runs, Judge::by_floor(Floor::HashAndTransaction), argon2_targets, new_user),
        function("get-user", 200, warm_runs, Judge::by_own_time(StubCalls::TwoConcurrentGets), targets, get_user),
        function("login", 200, argon2_runs, Judge::by_floor(Floor::TwoReadsAndVerify), argon2_targets, login),
        function("logout", 204, warm_runs, Judge::by_own_time(StubCalls::GetThenPut), targets, logout),
    ]
}

/// A function of the service, judged by `judge` and held to `targets`.
fn function<'a>(
    name: &'static str,
    expected_status: u16,
    warm_runs: usize,
    judge: Judge,
    targets: Targets,
    events: impl FnMut() -> String + 'a,
) -> Case<'a> {
    Case { name, expected_status, warm_runs, role: Role::Function { judge, targets }, events: Box::new(events) }
}
