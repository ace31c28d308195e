//! Benchmark of the four functions as Lambda runs them: each release binary
//! is started under a local Lambda Runtime API ([`runtime_api`]) and fed API
//! Gateway v2 events, against DynamoDB Local. Measures init, first and warm
//! invocations, peak RSS and the arm64 artifact size, next to two floors: a
//! minimal `lambda_runtime` "hello" and argon2id alone. Writes a Markdown
//! table to `bench/RESULTS.md` and prints it.
//!
//! Noise on a shared machine is handled by interleaving: cold starts go round
//! the functions in turn, and a login's or sign-up's floor is measured
//! between its own warm invocations, so slow spells hit both sides alike. The
//! time get-user and logout spend beyond DynamoDB is measured against an
//! instant stub ([`dynamodb_stub`]), as DynamoDB Local's jitter is larger
//! than the figure itself.
//!
//! Run it with `scripts/bench`, which builds what it needs first.

mod dynamodb_stub;
mod http1;
mod runtime_api;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use aws_sdk_dynamodb::Client;
use dynamodb_stub::DynamoStub;
use runtime_api::{Invocation, Report, RuntimeApi};
use secrecy::SecretString;
use user_auth_core::aws::Aws;
use user_auth_core::domain::{Password, UserId};
use user_auth_core::passwords::{hash_password, verify_password, PasswordHash};
use user_auth_core::store::dynamodb::schema::users;
use user_auth_core::store::dynamodb::{self, schema, DynamoStore};
use user_auth_core::store::TableNames;
use user_auth_core::tokens::{SigningKeyPair, TokenIssuer, TokenSettings};
use user_auth_core::{config::vars, operations};

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

const PASSWORD: &str = "correct horse battery staple";

struct Settings {
    cold_runs: usize,
    warm_runs: usize,
    argon2_warm_runs: usize,
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Median and p99 (nearest rank) in milliseconds.
fn summary(samples: &[Duration]) -> (f64, f64) {
    let mut sorted: Vec<f64> = samples.iter().copied().map(ms).collect();
    sorted.sort_by(f64::total_cmp);
    let rank = |q: f64| sorted[((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1];
    (rank(0.5), rank(0.99))
}

/// Median and p99 of `runs` timed calls, in ms.
async fn time_calls<F, Fut>(runs: usize, mut f: F) -> Result<(f64, f64), BoxError>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = Result<(), BoxError>>,
{
    let mut samples = Vec::with_capacity(runs);
    for i in 0..runs {
        let start = Instant::now();
        f(i).await?;
        samples.push(start.elapsed());
    }
    Ok(summary(&samples))
}

// --- DynamoDB Local ---------------------------------------------------------

struct Database {
    process: tokio::process::Child,
    endpoint: String,
    client: Client,
}

async fn start_database() -> Result<Database, BoxError> {
    let dir = std::env::var("DYNAMODB_LOCAL_DIR").map_err(|_| "DYNAMODB_LOCAL_DIR is not set: use scripts/bench")?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let process = tokio::process::Command::new("java")
        .arg(format!("-Djava.library.path={dir}/DynamoDBLocal_lib"))
        .args([
            "-jar",
            &format!("{dir}/DynamoDBLocal.jar"),
            "-inMemory",
            "-disableTelemetry",
            "-port",
            &port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let endpoint = format!("http://127.0.0.1:{port}");
    let client = dynamodb::client(&Aws::local(&endpoint));
    let deadline = Instant::now() + Duration::from_secs(60);
    while client.list_tables().send().await.is_err() {
        if Instant::now() > deadline {
            return Err("DynamoDB Local did not start".into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    schema::create_tables(&client, &TableNames::default()).await?;
    Ok(Database { process, endpoint, client })
}

// --- One function under the emulator ----------------------------------------

fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

async fn next_report(api: &mut RuntimeApi) -> Result<Report, BoxError> {
    match tokio::time::timeout(Duration::from_secs(30), api.reports.recv()).await {
        Ok(Some(Report::InitFailed { body })) => Err(format!("init failed: {}", String::from_utf8_lossy(&body)).into()),
        Ok(Some(report)) => Ok(report),
        Ok(None) => Err("the runtime API stopped".into()),
        Err(_) => Err("the function did not answer within 30 s".into()),
    }
}

async fn wait_for_poll(api: &mut RuntimeApi) -> Result<Instant, BoxError> {
    match next_report(api).await? {
        Report::Polled(at) => Ok(at),
        other => Err(format!("expected a poll, got {other:?}").into()),
    }
}

/// A function process and the Runtime API it talks to.
struct Running {
    api: RuntimeApi,
    child: tokio::process::Child,
    invocations: usize,
}

impl Running {
    /// Starts the binary and returns once it asks for its first event, with
    /// the time that took: its init.
    async fn start(binary: &Path, env: &[(String, String)]) -> Result<(Self, Duration), BoxError> {
        let mut api = RuntimeApi::start().await?;
        let started = Instant::now();
        let child = tokio::process::Command::new(binary)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("AWS_LAMBDA_RUNTIME_API", &api.address)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        let init = wait_for_poll(&mut api).await? - started;
        Ok((Running { api, child, invocations: 0 }, init))
    }

    /// Hands over one event and returns the time to its response, once the
    /// function is idle again; checks the response's status code.
    async fn invoke(&mut self, event: String, expected: u16) -> Result<Duration, BoxError> {
        self.invocations += 1;
        let request_id = format!("bench-{}", self.invocations);
        let sent = Instant::now();
        self.api.events.send(Invocation { request_id: request_id.clone(), body: event }).await?;
        let took = match next_report(&mut self.api).await? {
            Report::Responded { at, body, request_id: answered } if answered == request_id => {
                let response: serde_json::Value = serde_json::from_slice(&body)?;
                if response["statusCode"] != expected {
                    return Err(format!("expected {expected}, got {response}").into());
                }
                at - sent
            }
            Report::Failed { request_id, body } => {
                return Err(format!("invocation {request_id} failed: {}", String::from_utf8_lossy(&body)).into())
            }
            other => return Err(format!("invocation {request_id}: unexpected {other:?}").into()),
        };
        wait_for_poll(&mut self.api).await?;
        Ok(took)
    }

    /// Stops the process; returns its peak RSS in KiB.
    async fn stop(mut self) -> Result<u64, BoxError> {
        let rss = self.child.id().map(peak_rss_kib).unwrap_or(0);
        self.child.kill().await?;
        Ok(rss)
    }
}

// --- What each function is judged against --------------------------------------

/// The work a warm invocation cannot avoid, done by the harness itself:
/// argon2id and the same DynamoDB calls, made the same way.
#[derive(Clone, Copy)]
enum Floor {
    /// create-user: hash, then the two-put transaction.
    HashAndTransaction,
    /// login: the lockout record and the credentials read at once, then verify.
    TwoReadsAndVerify,
}

impl Floor {
    fn describe(self) -> &'static str {
        match self {
            Floor::HashAndTransaction => "argon2id hash + transaction",
            Floor::TwoReadsAndVerify => "2 concurrent GetItem + argon2id verify",
        }
    }

    async fn run(self, db: &Client, tables: &TableNames, stored: &PasswordHash) -> Result<Duration, BoxError> {
        let start = Instant::now();
        match self {
            Floor::HashAndTransaction => {
                hash_password(Password::parse(PASSWORD.into(), 15)?).await?;
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

enum Judge {
    /// The reference itself.
    Reference,
    /// Warm time against a floor measured between its own invocations.
    Floor(Floor),
    /// Time beyond DynamoDB, measured against the instant stub.
    OwnTime(StubCalls),
}

/// The DynamoDB calls of one warm invocation, made by the harness against
/// the instant stub between the function's own invocations against it.
#[derive(Clone, Copy)]
enum StubCalls {
    /// get-user: the revocation check and the user read at once.
    TwoConcurrentGets,
    /// logout: the revocation check, then the revocation.
    GetThenPut,
}

impl StubCalls {
    async fn run(self, stub: &Client, tables: &TableNames) -> Result<Duration, BoxError> {
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

async fn get_item(db: &Client, tables: &TableNames) -> Result<(), BoxError> {
    db.get_item()
        .table_name(&tables.usernames)
        .key(schema::usernames::USERNAME, AttributeValue::S("alice".into()))
        .consistent_read(true)
        .send()
        .await?;
    Ok(())
}

async fn put_item(db: &Client, tables: &TableNames) -> Result<(), BoxError> {
    db.put_item()
        .table_name(&tables.revoked_tokens)
        .item(schema::revoked_tokens::JTI, AttributeValue::S(uuid::Uuid::new_v4().to_string()))
        .item(schema::revoked_tokens::EXPIRES_AT, AttributeValue::N("1".into()))
        .send()
        .await?;
    Ok(())
}

async fn transaction(db: &Client, tables: &TableNames) -> Result<(), BoxError> {
    let put = |table: &str, key: &str| {
        Put::builder()
            .table_name(table)
            .item(key, AttributeValue::S(format!("floor-{}", uuid::Uuid::new_v4().simple())))
            .condition_expression("attribute_not_exists(#k)")
            .expression_attribute_names("#k", key)
            .build()
    };
    db.transact_write_items()
        .transact_items(TransactWriteItem::builder().put(put(&tables.usernames, schema::usernames::USERNAME)?).build())
        .transact_items(TransactWriteItem::builder().put(put(&tables.users, users::ID)?).build())
        .send()
        .await?;
    Ok(())
}

// --- The run ------------------------------------------------------------------

struct Case<'a> {
    name: &'static str,
    expected: u16,
    events: Box<dyn FnMut() -> String + 'a>,
    judge: Judge,
    warm_runs: usize,
    rss_limit_mib: Option<f64>,
}

#[derive(Default)]
struct Measured {
    init: Vec<Duration>,
    first: Vec<Duration>,
    warm: Vec<Duration>,
    /// The floor, measured between warm invocations.
    floor: Vec<Duration>,
    /// First and warm invocations against the instant stub.
    first_on_stub: Vec<Duration>,
    warm_on_stub: Vec<Duration>,
    /// Each warm invocation against the stub less the same calls made alone.
    own: Vec<Duration>,
    /// Pairs where the calls alone took longer than the invocation.
    own_negative: usize,
    peak_rss_kib: u64,
}

/// Components measured alone in the harness: (median, p99) in ms.
struct Alone {
    argon2_hash: (f64, f64),
    argon2_verify: (f64, f64),
    get_item: (f64, f64),
    put_item: (f64, f64),
    transaction: (f64, f64),
    stub_get_item: (f64, f64),
}

fn artifact_mib(name: &str) -> Option<f64> {
    let path = workspace().join("target/lambda").join(name).join("bootstrap");
    std::fs::metadata(path).ok().map(|m| m.len() as f64 / (1024.0 * 1024.0))
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    format!("{cores} cores, {cpu}, {}", std::env::consts::ARCH)
}

fn with_endpoint(env: &[(String, String)], endpoint: &str) -> Vec<(String, String)> {
    env.iter()
        .map(|(k, v)| (k.clone(), if k == "AWS_ENDPOINT_URL_DYNAMODB" { endpoint.to_owned() } else { v.clone() }))
        .collect()
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let quick = std::env::args().any(|a| a == "--quick");
    let settings = if quick {
        Settings { cold_runs: 5, warm_runs: 50, argon2_warm_runs: 5 }
    } else {
        Settings { cold_runs: 50, warm_runs: 1000, argon2_warm_runs: 60 }
    };
    let release = workspace().join("target/release");
    let db = start_database().await?;
    let tables = TableNames::default();
    let store = DynamoStore::new(db.client.clone(), tables.clone());

    // Keys, a user to log in as, and tokens for get-user and logout.
    let scratch = std::env::temp_dir().join(format!("user-auth-bench-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    let keys = SigningKeyPair::generate()?;
    std::fs::write(scratch.join("signing-key.pem"), &keys.private_key_pem)?;
    let settings_tokens =
        TokenSettings { issuer: "bench".into(), audience: "bench".into(), ttl: Duration::from_secs(900) };
    let issuer = TokenIssuer::from_pem(&keys.private_key_pem, settings_tokens)?;
    let user = operations::create_user(&store, 15, "alice", SecretString::from(PASSWORD)).await?;
    let stored: PasswordHash = hash_password(Password::parse(PASSWORD.into(), 15)?).await?;

    let base_env: Vec<(String, String)> = [
        ("AWS_LAMBDA_FUNCTION_NAME", "bench"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1769"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ("AWS_REGION", "eu-west-1"),
        ("AWS_ACCESS_KEY_ID", "local"),
        ("AWS_SECRET_ACCESS_KEY", "local"),
        ("AWS_ENDPOINT_URL_DYNAMODB", db.endpoint.as_str()),
        (vars::TOKEN_ISSUER, "bench"),
        (vars::TOKEN_AUDIENCE, "bench"),
        (vars::TOKEN_VERIFYING_KEY, keys.public_key_pem.as_str()),
        (vars::TOKEN_SIGNING_KEY_FILE, scratch.join("signing-key.pem").to_str().unwrap()),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();

    let fixture =
        |name: &str| std::fs::read_to_string(workspace().join(format!("functions/{name}/fixtures/{name}.json")));
    let get_user_event = fixture("get-user")?
        .replace("{{id}}", user.id.as_str())
        .replace("{{token}}", &issuer.issue(&user.id)?.access_token);
    let create_user_event = fixture("create-user")?;
    let login_event = fixture("login")?.replace("{{password}}", PASSWORD);
    let logout_event = fixture("logout")?;
    let user_id: UserId = user.id.clone();
    let issuer = &issuer;

    let mut cases = vec![
        Case {
            name: "hello",
            expected: 200,
            events: Box::new(|| get_user_event.clone()),
            judge: Judge::Reference,
            warm_runs: settings.warm_runs,
            rss_limit_mib: None,
        },
        Case {
            name: "create-user",
            expected: 201,
            events: Box::new(move || {
                let username = format!("b{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
                create_user_event.replace(r#"\"username\":\"Alice\""#, &format!(r#"\"username\":\"{username}\""#))
            }),
            judge: Judge::Floor(Floor::HashAndTransaction),
            warm_runs: settings.argon2_warm_runs,
            rss_limit_mib: Some(64.0),
        },
        Case {
            name: "get-user",
            expected: 200,
            events: Box::new(|| get_user_event.clone()),
            judge: Judge::OwnTime(StubCalls::TwoConcurrentGets),
            warm_runs: settings.warm_runs,
            rss_limit_mib: Some(32.0),
        },
        Case {
            name: "login",
            expected: 200,
            events: Box::new(move || login_event.clone()),
            judge: Judge::Floor(Floor::TwoReadsAndVerify),
            warm_runs: settings.argon2_warm_runs,
            rss_limit_mib: Some(64.0),
        },
        Case {
            name: "logout",
            expected: 204,
            events: Box::new(move || {
                logout_event.replace("{{token}}", &issuer.issue(&user_id).map(|t| t.access_token).unwrap_or_default())
            }),
            judge: Judge::OwnTime(StubCalls::GetThenPut),
            warm_runs: settings.warm_runs,
            rss_limit_mib: Some(32.0),
        },
    ];
    let mut measured: Vec<Measured> = cases.iter().map(|_| Measured::default()).collect();

    eprintln!("cold starts: {} rounds over the {} functions", settings.cold_runs, cases.len());
    for _ in 0..settings.cold_runs {
        for (case, m) in cases.iter_mut().zip(&mut measured) {
            let (mut function, init) = Running::start(&release.join(case.name), &base_env).await?;
            m.init.push(init);
            m.first.push(function.invoke((case.events)(), case.expected).await?);
            m.peak_rss_kib = m.peak_rss_kib.max(function.stop().await?);
        }
    }

    for (case, m) in cases.iter_mut().zip(&mut measured) {
        eprintln!("{}: {} warm invocations", case.name, case.warm_runs);
        let (mut function, _) = Running::start(&release.join(case.name), &base_env).await?;
        function.invoke((case.events)(), case.expected).await?;
        for _ in 0..case.warm_runs {
            m.warm.push(function.invoke((case.events)(), case.expected).await?);
            if let Judge::Floor(floor) = case.judge {
                m.floor.push(floor.run(&db.client, &tables, &stored).await?);
            }
        }
        m.peak_rss_kib = m.peak_rss_kib.max(function.stop().await?);
    }

    // The time beyond DynamoDB, against a stub that answers at once.
    let user_item = db
        .client
        .get_item()
        .table_name(&tables.users)
        .key(users::ID, AttributeValue::S(user.id.to_string()))
        .send()
        .await?
        .item
        .ok_or("the benchmark's user is missing")?;
    let stub = DynamoStub::start(&tables.users, &user_item)?;
    let stub_env = with_endpoint(&base_env, &stub.endpoint);
    let stub_client = dynamodb::client(&Aws::local(&stub.endpoint));
    for (case, m) in cases.iter_mut().zip(&mut measured) {
        let Judge::OwnTime(calls) = case.judge else { continue };
        eprintln!(
            "{}: {} cold starts and {} warm invocations against the instant stub",
            case.name, settings.cold_runs, case.warm_runs
        );
        for _ in 0..settings.cold_runs {
            let (mut function, _) = Running::start(&release.join(case.name), &stub_env).await?;
            m.first_on_stub.push(function.invoke((case.events)(), case.expected).await?);
            function.stop().await?;
        }
        let (mut function, _) = Running::start(&release.join(case.name), &stub_env).await?;
        function.invoke((case.events)(), case.expected).await?;
        for _ in 0..case.warm_runs {
            let warm = function.invoke((case.events)(), case.expected).await?;
            let calls = calls.run(&stub_client, &tables).await?;
            m.warm_on_stub.push(warm);
            // Paired: the same calls made alone just after, so slow spells
            // hit both sides of the difference.
            // A negative difference is jitter; it counts as 0 and is reported.
            m.own_negative += usize::from(calls > warm);
            m.own.push(warm.saturating_sub(calls));
        }
        function.stop().await?;
    }

    eprintln!("measuring the components alone");
    let alone = Alone {
        argon2_hash: time_calls(settings.argon2_warm_runs, |_| async {
            hash_password(Password::parse(PASSWORD.into(), 15)?).await?;
            Ok(())
        })
        .await?,
        argon2_verify: time_calls(settings.argon2_warm_runs, |_| {
            let stored = stored.clone();
            async move {
                verify_password(PASSWORD.into(), Some(stored)).await?;
                Ok(())
            }
        })
        .await?,
        get_item: time_calls(settings.warm_runs, |_| get_item(&db.client, &tables)).await?,
        put_item: time_calls(settings.warm_runs, |_| put_item(&db.client, &tables)).await?,
        transaction: time_calls(settings.argon2_warm_runs.max(30), |_| transaction(&db.client, &tables)).await?,
        stub_get_item: time_calls(settings.warm_runs, |_| get_item(&stub_client, &tables)).await?,
    };

    let report = render(&cases, &measured, &settings, &alone);
    std::fs::write(workspace().join("bench/RESULTS.md"), &report)?;
    println!("{report}");
    drop(db.process);
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "NOT met"
    }
}

fn render(cases: &[Case], measured: &[Measured], s: &Settings, a: &Alone) -> String {
    let date = time::OffsetDateTime::now_utc().date();
    let hello_init = summary(&measured[0].init).0;
    let mut out = String::new();
    let _ = writeln!(out, "# Benchmark results\n");
    let _ = writeln!(out, "Measured {date} on {} by `scripts/bench`: release binaries for this machine's", machine());
    let _ = writeln!(out, "architecture under the project's Lambda Runtime API emulator, against DynamoDB Local");
    let _ = writeln!(
        out,
        "on the same machine. {} cold starts per function, taken in turn; warm invocations: {} ({} for the",
        s.cold_runs, s.warm_runs, s.argon2_warm_runs
    );
    let _ = writeln!(
        out,
        "argon2 functions). Times in ms (median / p99); sizes of `cargo lambda build --release --arm64`.\n"
    );
    let _ = writeln!(out, "| function | init | init / hello | first invocation | warm | first / warm | peak RSS (MiB) | arm64 size (MiB) |");
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|");
    for (case, m) in cases.iter().zip(measured) {
        let (init, init99) = summary(&m.init);
        let (first, first99) = summary(&m.first);
        let (warm, warm99) = summary(&m.warm);
        let size = artifact_mib(case.name).map(|m| format!("{m:.2}")).unwrap_or_else(|| "n/a".into());
        let _ = writeln!(
            out,
            "| {} | {init:.2} / {init99:.2} | {:.2} | {first:.2} / {first99:.2} | {warm:.3} / {warm99:.3} | {:.2} | {:.1} | {size} |",
            case.name,
            init / hello_init,
            first / warm,
            m.peak_rss_kib as f64 / 1024.0
        );
    }
    let _ = writeln!(out, "\nWarm time set against what it cannot avoid (median / p99, ms):\n");
    let _ = writeln!(
        out,
        "| function | warm | measured between its invocations, or against the instant stub | ratio of medians |"
    );
    let _ = writeln!(out, "|---|---|---|---|");
    for (case, m) in cases.iter().zip(measured) {
        let (warm, warm99) = summary(&m.warm);
        match case.judge {
            Judge::Floor(floor) => {
                let (f, f99) = summary(&m.floor);
                let _ = writeln!(
                    out,
                    "| {} | {warm:.2} / {warm99:.2} | {}: {f:.2} / {f99:.2} | {:.2} |",
                    case.name,
                    floor.describe(),
                    warm / f
                );
            }
            Judge::OwnTime(_) => {
                let (stub, stub99) = summary(&m.warm_on_stub);
                let (first, first99) = summary(&m.first_on_stub);
                let _ = writeln!(
                    out,
                    "| {} | {warm:.3} / {warm99:.3} | against the stub: warm {stub:.3} / {stub99:.3}, first {first:.3} / {first99:.3} | n/a |",
                    case.name
                );
            }
            Judge::Reference => {}
        }
    }
    let _ = writeln!(
        out,
        "\nComponents measured alone in the harness (median / p99, ms): argon2id hash {:.2} / {:.2}, verify {:.2} / {:.2};",
        a.argon2_hash.0, a.argon2_hash.1, a.argon2_verify.0, a.argon2_verify.1
    );
    let _ = writeln!(
        out,
        "DynamoDB Local GetItem {:.3} / {:.3}, PutItem {:.3} / {:.3}, two-put transaction {:.3} / {:.3};",
        a.get_item.0, a.get_item.1, a.put_item.0, a.put_item.1, a.transaction.0, a.transaction.1
    );
    let _ = writeln!(out, "GetItem against the instant stub {:.3} / {:.3}.", a.stub_get_item.0, a.stub_get_item.1);
    let _ = writeln!(
        out,
        "The instant stub answers DynamoDB calls without work, so a warm invocation against it is the function's"
    );
    let _ = writeln!(
        out,
        "own time plus its calls' round trips. Own time is each such invocation less the same calls made by the"
    );
    let _ = writeln!(
        out,
        "harness just after it (paired, then median and p99); it includes the Runtime API exchange (hello's warm time).\n"
    );
    let _ = writeln!(out, "| target | measured | verdict |");
    let _ = writeln!(out, "|---|---|---|");
    for (case, m) in cases.iter().zip(measured).skip(1) {
        let (init, _) = summary(&m.init);
        let (first, _) = summary(&m.first);
        let (warm, _) = summary(&m.warm);
        let ratio = init / hello_init;
        let _ = writeln!(out, "| {} init ≤ 1.5 × hello | {ratio:.2} × | {} |", case.name, verdict(ratio <= 1.5));
        let _ = writeln!(
            out,
            "| {} first ≤ 3 × warm | {:.2} × | {} |",
            case.name,
            first / warm,
            verdict(first <= 3.0 * warm)
        );
        match case.judge {
            Judge::Floor(floor) => {
                let ratio = warm / summary(&m.floor).0;
                let _ = writeln!(
                    out,
                    "| {} warm ≤ 1.15 × ({}) | {ratio:.2} × | {} |",
                    case.name,
                    floor.describe(),
                    verdict(ratio <= 1.15)
                );
            }
            Judge::OwnTime(_) => {
                // The same ratio without DynamoDB Local's cost of accepting
                // new connections, which the first invocation pays.
                let ratio = summary(&m.first_on_stub).0 / summary(&m.warm_on_stub).0;
                let _ = writeln!(
                    out,
                    "| {} first ≤ 3 × warm, against the instant stub | {ratio:.2} × | {} |",
                    case.name,
                    verdict(ratio <= 3.0)
                );
                let (own, own99) = summary(&m.own);
                let _ = writeln!(
                    out,
                    "| {} own time at p99 < 0.5 ms | {own99:.3} ms (median {own:.3} ms; {} of {} pairs below 0, as 0) | {} |",
                    case.name,
                    m.own_negative,
                    m.own.len(),
                    verdict(own99 < 0.5)
                );
            }
            Judge::Reference => {}
        }
        if let Some(limit) = case.rss_limit_mib {
            let rss = m.peak_rss_kib as f64 / 1024.0;
            let _ = writeln!(out, "| {} peak RSS < {limit} MiB | {rss:.1} MiB | {} |", case.name, verdict(rss < limit));
        }
        if let Some(size) = artifact_mib(case.name) {
            let _ = writeln!(out, "| {} arm64 artifact < 4 MiB | {size:.2} MiB | {} |", case.name, verdict(size < 4.0));
        }
    }
    out
}
