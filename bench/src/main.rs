//! Benchmark of the four functions as Lambda runs them: each release binary
//! is started under a local Lambda Runtime API ([`runtime_api`]) and fed API
//! Gateway v2 events, against DynamoDB Local. Measures init, first and warm
//! invocations, peak RSS and the arm64 artifact size, next to two floors: a
//! minimal `lambda_runtime` "hello" and argon2id alone. Writes a Markdown
//! table to `bench/RESULTS.md` and prints it.
//!
//! Run it with `scripts/bench`, which builds what it needs first.

mod runtime_api;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use aws_sdk_dynamodb::Client;
use runtime_api::{Invocation, Report, RuntimeApi};
use secrecy::SecretString;
use user_auth_core::aws::Aws;
use user_auth_core::domain::{Password, UserId};
use user_auth_core::passwords::{hash_password, verify_password, PasswordHash};
use user_auth_core::store::dynamodb::{self, schema, DynamoStore};
use user_auth_core::store::TableNames;
use user_auth_core::tokens::{SigningKeyPair, TokenIssuer, TokenSettings};
use user_auth_core::{config::vars, operations};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

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
        .args(["-jar", &format!("{dir}/DynamoDBLocal.jar"), "-inMemory", "-port", &port.to_string()])
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

#[derive(Default)]
struct Measurements {
    init: Vec<Duration>,
    first: Vec<Duration>,
    warm: Vec<Duration>,
    peak_rss_kib: u64,
}

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

/// Hands one event to a function that is waiting for it; returns the time to
/// its response and checks the response's status code.
async fn invoke(api: &mut RuntimeApi, n: usize, event: String, expected: u16) -> Result<Duration, BoxError> {
    let request_id = format!("bench-{n}");
    let sent = Instant::now();
    api.events.send(Invocation { request_id: request_id.clone(), body: event }).await?;
    match next_report(api).await? {
        Report::Responded { at, body, request_id: answered } if answered == request_id => {
            let response: serde_json::Value = serde_json::from_slice(&body)?;
            if response["statusCode"] != expected {
                return Err(format!("expected {expected}, got {response}").into());
            }
            Ok(at - sent)
        }
        Report::Failed { request_id, body } => {
            Err(format!("invocation {request_id} failed: {}", String::from_utf8_lossy(&body)).into())
        }
        other => Err(format!("invocation {request_id}: unexpected {other:?}").into()),
    }
}

async fn measure(
    binary: &Path,
    env: &[(String, String)],
    events: &mut dyn FnMut() -> String,
    expected: u16,
    cold_runs: usize,
    warm_runs: usize,
) -> Result<Measurements, BoxError> {
    let mut m = Measurements::default();
    for run in 0..cold_runs {
        let mut api = RuntimeApi::start().await?;
        let started = Instant::now();
        let mut child = tokio::process::Command::new(binary)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("AWS_LAMBDA_RUNTIME_API", &api.address)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        m.init.push(wait_for_poll(&mut api).await? - started);
        m.first.push(invoke(&mut api, 0, events(), expected).await?);
        if run == 0 {
            for n in 1..=warm_runs {
                wait_for_poll(&mut api).await?;
                m.warm.push(invoke(&mut api, n, events(), expected).await?);
            }
        }
        if let Some(pid) = child.id() {
            m.peak_rss_kib = m.peak_rss_kib.max(peak_rss_kib(pid));
        }
        child.kill().await?;
    }
    Ok(m)
}

// --- The run ------------------------------------------------------------------

struct Row {
    name: &'static str,
    m: Measurements,
    /// DynamoDB calls of one warm invocation, measured alone: summed medians
    /// and summed p99s, in ms.
    db_ms: (f64, f64),
    /// The floor a warm invocation is compared with, in ms, and its name.
    floor: Option<(f64, &'static str)>,
    rss_limit_mib: Option<f64>,
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

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let quick = std::env::args().any(|a| a == "--quick");
    let settings = if quick {
        Settings { cold_runs: 5, warm_runs: 50, argon2_warm_runs: 5 }
    } else {
        Settings { cold_runs: 25, warm_runs: 300, argon2_warm_runs: 30 }
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

    // Floors measured in this process: argon2id alone and each DynamoDB call alone.
    eprintln!("measuring the floors");
    let stored: PasswordHash = hash_password(Password::parse(PASSWORD.into(), 15)?).await?;
    let argon2_verify = time_calls(settings.argon2_warm_runs, |_| {
        let stored = stored.clone();
        async move {
            verify_password(PASSWORD.into(), Some(stored)).await?;
            Ok(())
        }
    })
    .await?;
    let argon2_hash = time_calls(settings.argon2_warm_runs, |_| async {
        hash_password(Password::parse(PASSWORD.into(), 15)?).await?;
        Ok(())
    })
    .await?;
    let get_item = time_calls(settings.warm_runs, |_| async {
        db.client
            .get_item()
            .table_name(&tables.usernames)
            .key("username", AttributeValue::S("alice".into()))
            .consistent_read(true)
            .send()
            .await?;
        Ok(())
    })
    .await?;
    let put_item = time_calls(settings.warm_runs, |_| async {
        db.client
            .put_item()
            .table_name(&tables.revoked_tokens)
            .item("jti", AttributeValue::S(uuid::Uuid::new_v4().to_string()))
            .item("expires_at", AttributeValue::N("1".into()))
            .send()
            .await?;
        Ok(())
    })
    .await?;
    let transaction = time_calls(settings.argon2_warm_runs.max(30), |_| async {
        let put = |table: &str, key: &str| {
            Put::builder()
                .table_name(table)
                .item(key, AttributeValue::S(format!("floor-{}", uuid::Uuid::new_v4().simple())))
                .condition_expression("attribute_not_exists(#k)")
                .expression_attribute_names("#k", key)
                .build()
        };
        db.client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put(&tables.usernames, "username")?).build())
            .transact_items(TransactWriteItem::builder().put(put(&tables.users, "id")?).build())
            .send()
            .await?;
        Ok(())
    })
    .await?;

    let floors = Floors { argon2_hash, argon2_verify, get_item, put_item, transaction };
    let add = |a: (f64, f64), b: (f64, f64)| (a.0 + b.0, a.1 + b.1);
    let mut rows = Vec::new();
    type Case = (&'static str, &'static str, u16, (f64, f64), Option<(f64, &'static str)>, Option<f64>, usize);
    let cases: Vec<Case> = vec![
        ("hello", "hello", 200, (0.0, 0.0), None, None, settings.warm_runs),
        (
            "create-user",
            "create-user",
            201,
            transaction,
            Some((argon2_hash.0 + transaction.0, "argon2id hash + transaction")),
            Some(64.0),
            settings.argon2_warm_runs,
        ),
        ("get-user", "get-user", 200, add(get_item, get_item), None, Some(32.0), settings.warm_runs),
        // login reads the lockout record, then the credentials.
        (
            "login",
            "login",
            200,
            add(get_item, get_item),
            Some((argon2_verify.0 + 2.0 * get_item.0, "argon2id verify + 2 GetItem")),
            Some(64.0),
            settings.argon2_warm_runs,
        ),
        ("logout", "logout", 204, add(get_item, put_item), None, Some(32.0), settings.warm_runs),
    ];
    for (name, binary, expected, db_ms, floor, rss_limit_mib, warm_runs) in cases {
        eprintln!("measuring {name}: {} cold starts, {warm_runs} warm invocations", settings.cold_runs);
        let mut events: Box<dyn FnMut() -> String> = match name {
            "create-user" => {
                let template = create_user_event.clone();
                Box::new(move || {
                    let username = format!("b{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
                    template.replace(r#"\"username\":\"Alice\""#, &format!(r#"\"username\":\"{username}\""#))
                })
            }
            "login" => Box::new({
                let event = login_event.clone();
                move || event.clone()
            }),
            "logout" => {
                let template = logout_event.clone();
                let user_id: UserId = user.id.clone();
                let issuer = &issuer;
                Box::new(move || {
                    template.replace("{{token}}", &issuer.issue(&user_id).map(|t| t.access_token).unwrap_or_default())
                })
            }
            _ => Box::new({
                let event = get_user_event.clone();
                move || event.clone()
            }),
        };
        let m =
            measure(&release.join(binary), &base_env, &mut *events, expected, settings.cold_runs, warm_runs).await?;
        rows.push(Row { name, m, db_ms, floor, rss_limit_mib });
    }

    let report = render(&rows, &settings, &floors);
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

/// Floors measured alone in the harness: (median, p99) in ms.
struct Floors {
    argon2_hash: (f64, f64),
    argon2_verify: (f64, f64),
    get_item: (f64, f64),
    put_item: (f64, f64),
    transaction: (f64, f64),
}

fn render(rows: &[Row], s: &Settings, f: &Floors) -> String {
    let date = time::OffsetDateTime::now_utc().date();
    let hello_init = summary(&rows[0].m.init).0;
    let mut out = String::new();
    let _ = writeln!(out, "# Benchmark results\n");
    let _ = writeln!(out, "Measured {date} on {} by `scripts/bench`: release binaries for this machine's", machine());
    let _ = writeln!(out, "architecture under the project's Lambda Runtime API emulator, against DynamoDB Local");
    let _ = writeln!(
        out,
        "on the same machine. {} cold starts per function; warm invocations: {} ({} for the",
        s.cold_runs, s.warm_runs, s.argon2_warm_runs
    );
    let _ = writeln!(
        out,
        "argon2 functions). Times in ms (median / p99); sizes of `cargo lambda build --release --arm64`.\n"
    );
    let _ = writeln!(out, "| function | init | init / hello | first invocation | warm | first / warm | peak RSS (MiB) | arm64 size (MiB) |");
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|");
    for row in rows {
        let (init, init99) = summary(&row.m.init);
        let (first, first99) = summary(&row.m.first);
        let (warm, warm99) = summary(&row.m.warm);
        let size = artifact_mib(row.name).map(|m| format!("{m:.2}")).unwrap_or_else(|| "n/a".into());
        let _ = writeln!(
            out,
            "| {} | {init:.2} / {init99:.2} | {:.2} | {first:.2} / {first99:.2} | {warm:.3} / {warm99:.3} | {:.2} | {:.1} | {size} |",
            row.name,
            init / hello_init,
            first / warm,
            row.m.peak_rss_kib as f64 / 1024.0
        );
    }
    let _ = writeln!(
        out,
        "\nFloors measured alone in the harness (median / p99, ms): argon2id hash {:.2} / {:.2}, verify {:.2} / {:.2};",
        f.argon2_hash.0, f.argon2_hash.1, f.argon2_verify.0, f.argon2_verify.1
    );
    let _ = writeln!(
        out,
        "DynamoDB Local GetItem {:.3} / {:.3}, PutItem {:.3} / {:.3}, two-put transaction {:.3} / {:.3}.",
        f.get_item.0, f.get_item.1, f.put_item.0, f.put_item.1, f.transaction.0, f.transaction.1
    );
    let _ = writeln!(
        out,
        "A function's own time is its warm time less the same DynamoDB calls measured alone (median less summed"
    );
    let _ = writeln!(
        out,
        "medians; p99 less summed p99s): an estimate, as DynamoDB Local's own jitter dominates the p99.\n"
    );
    let _ = writeln!(out, "| target | measured | verdict |");
    let _ = writeln!(out, "|---|---|---|");
    for row in &rows[1..] {
        let (init, _) = summary(&row.m.init);
        let (first, _) = summary(&row.m.first);
        let (warm, warm99) = summary(&row.m.warm);
        let ratio = init / hello_init;
        let _ = writeln!(out, "| {} init ≤ 1.5 × hello | {ratio:.2} × | {} |", row.name, verdict(ratio <= 1.5));
        let _ = writeln!(
            out,
            "| {} first ≤ 3 × warm | {:.2} × | {} |",
            row.name,
            first / warm,
            verdict(first <= 3.0 * warm)
        );
        match row.floor {
            Some((floor, what)) => {
                let ratio = warm / floor;
                let _ = writeln!(
                    out,
                    "| {} warm ≤ 1.15 × ({what}) | {ratio:.2} × | {} |",
                    row.name,
                    verdict(ratio <= 1.15)
                );
            }
            None => {
                let own = warm - row.db_ms.0;
                let own99 = warm99 - row.db_ms.1;
                // A negative estimate means DynamoDB Local's jitter swamps the
                // function's own time: the figure proves nothing either way.
                let judged = if own99 < 0.0 || own < 0.0 { "inconclusive" } else { verdict(own99 < 0.5) };
                let _ = writeln!(
                    out,
                    "| {} own time at p99 < 0.5 ms | {own99:.3} ms (median {own:.3} ms) | {judged} |",
                    row.name
                );
            }
        }
        if let Some(limit) = row.rss_limit_mib {
            let rss = row.m.peak_rss_kib as f64 / 1024.0;
            let _ = writeln!(out, "| {} peak RSS < {limit} MiB | {rss:.1} MiB | {} |", row.name, verdict(rss < limit));
        }
        if let Some(size) = artifact_mib(row.name) {
            let _ = writeln!(out, "| {} arm64 artifact < 4 MiB | {size:.2} MiB | {} |", row.name, verdict(size < 4.0));
        }
    }
    out
}
