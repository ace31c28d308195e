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
    vec![
        hello(events, settings),
        create_user(events, settings),
        get_user(events, settings),
        login(events, settings),
        logout(events, issuer, user_id, settings),
    ]
}

/// Answers the get-user event with a fixed response.
fn hello<'a>(events: &'a Events, settings: &Settings) -> Case<'a> {
    Case {
        name: "hello",
        expected_status: 200,
        warm_runs: settings.warm_runs,
        role: Role::Reference,
        events: Box::new(move || events.get_user.clone()),
    }
}

fn create_user<'a>(events: &'a Events, settings: &Settings) -> Case<'a> {
    Case {
        name: "create-user",
        expected_status: 201,
        warm_runs: settings.argon2_warm_runs,
        role: Role::Function {
            judge: Judge::Floor { floor: Floor::HashAndTransaction, warm_vs_floor: Limit::AtMost(1.15) },
            targets: Targets {
                init_vs_hello: Limit::AtMost(1.5),
                first_vs_warm: Limit::AtMost(3.0),
                peak_rss_mib: Limit::Below(64.0),
                artifact_mib: Limit::Below(4.0),
            },
        },
        // A new username each time, as a taken one is refused.
        events: Box::new(move || {
            let username = format!("b{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
            events.create_user.replace(r#"\"username\":\"Alice\""#, &format!(r#"\"username\":\"{username}\""#))
        }),
    }
}

fn get_user<'a>(events: &'a Events, settings: &Settings) -> Case<'a> {
    Case {
        name: "get-user",
        expected_status: 200,
        warm_runs: settings.warm_runs,
        role: Role::Function {
            judge: Judge::OwnTime { calls: StubCalls::TwoConcurrentGets, own_p99_ms: Limit::Below(0.5) },
            targets: Targets {
                init_vs_hello: Limit::AtMost(1.5),
                first_vs_warm: Limit::AtMost(3.0),
                peak_rss_mib: Limit::Below(32.0),
                artifact_mib: Limit::Below(4.0),
            },
        },
        events: Box::new(move || events.get_user.clone()),
    }
}

fn login<'a>(events: &'a Events, settings: &Settings) -> Case<'a> {
    Case {
        name: "login",
        expected_status: 200,
        warm_runs: settings.argon2_warm_runs,
        role: Role::Function {
            judge: Judge::Floor { floor: Floor::TwoReadsAndVerify, warm_vs_floor: Limit::AtMost(1.15) },
            targets: Targets {
                init_vs_hello: Limit::AtMost(1.5),
                first_vs_warm: Limit::AtMost(3.0),
                peak_rss_mib: Limit::Below(64.0),
                artifact_mib: Limit::Below(4.0),
            },
        },
        events: Box::new(move || events.login.clone()),
    }
}

fn logout<'a>(events: &'a Events, issuer: &'a TokenIssuer, user_id: &'a UserId, settings: &Settings) -> Case<'a> {
    Case {
        name: "logout",
        expected_status: 204,
        warm_runs: settings.warm_runs,
        role: Role::Function {
            judge: Judge::OwnTime { calls: StubCalls::GetThenPut, own_p99_ms: Limit::Below(0.5) },
            targets: Targets {
                init_vs_hello: Limit::AtMost(1.5),
                first_vs_warm: Limit::AtMost(3.0),
                peak_rss_mib: Limit::Below(32.0),
                artifact_mib: Limit::Below(4.0),
            },
        },
        events: Box::new(move || {
            let token = issuer.issue(user_id, SystemClock.now()).map(|t| t.access_token).unwrap_or_default();
            events.logout.replace("{{token}}", &token)
        }),
    }
}
