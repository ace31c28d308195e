//! Measurement: each binary started under the local Runtime API, its init,
//! first and warm invocations timed and its peak RSS read; the floors and
//! the components measured alone; samples summed up as median and p99.

use std::fmt;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use user_auth_core::domain::Password;
use user_auth_core::passwords::{hash_password, verify_password, PasswordHash};
use user_auth_core::store::dynamodb::DynamoStore;
use user_auth_core::store::TableNames;
use user_auth_core::tokens::refresh::RefreshToken;

use crate::cases::{Case, Expected, Judge, StubCalls};
use crate::database::{get_item, put_item, transaction};
use crate::floors::FloorAccounts;
use crate::round_trips::{RoundTripMeter, RoundTrips};
use crate::runtime_api::{Invocation, Report, RuntimeApi};
use crate::setup::Env;
use crate::{workspace, BoxError, PASSWORD, PASSWORD_MIN_LENGTH};

/// How many times things are measured.
#[derive(Clone, Copy)]
pub struct Settings {
    pub cold_runs: usize,
    pub warm_runs: usize,
    /// For the functions running argon2id, whose invocations are slow.
    pub argon2_warm_runs: usize,
}

impl Settings {
    pub const FULL: Settings = Settings { cold_runs: 50, warm_runs: 1000, argon2_warm_runs: 60 };
    /// `--quick`: a smoke test.
    pub const QUICK: Settings = Settings { cold_runs: 5, warm_runs: 50, argon2_warm_runs: 5 };
    /// `--arm64`: one event of each case, under emulation.
    pub const SMOKE: Settings = Settings { cold_runs: 1, warm_runs: 1, argon2_warm_runs: 1 };

    /// The most events any case is fed in a run: its cold starts, then its
    /// warm invocations and the untimed one before them, on DynamoDB Local
    /// and again against the instant stub. As many sessions are started for
    /// each function that ends or renews one per invocation.
    pub fn most_events(&self) -> usize {
        2 * (self.cold_runs + 1 + self.warm_runs.max(self.argon2_warm_runs)) + ROUND_TRIP_EVENTS
    }

    /// The events an argon2 function is fed in a run: its cold starts, then
    /// its warm invocations and the untimed one before them. They are judged
    /// by a floor, never run against the instant stub.
    pub fn argon2_events(&self) -> usize {
        self.cold_runs + 1 + self.argon2_warm_runs + ROUND_TRIP_EVENTS
    }
}

/// The events each case is fed to count its round trips: the untimed first,
/// then warm ones, each counted, which must agree.
const ROUND_TRIP_EVENTS: usize = 3;

/// Median and p99 (nearest rank), in ms.
#[derive(Clone, Copy)]
pub struct Summary {
    pub median: f64,
    pub p99: f64,
}

impl Summary {
    pub fn of(samples: &[Duration]) -> Summary {
        let mut sorted: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
        sorted.sort_by(f64::total_cmp);
        let rank = |q: f64| sorted[((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1];
        Summary { median: rank(0.5), p99: rank(0.99) }
    }
}

/// "median / p99", both with the precision asked for (`{:.3}`), 2 by default.
impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let decimals = f.precision().unwrap_or(2);
        write!(f, "{:.*} / {:.*}", decimals, self.median, decimals, self.p99)
    }
}

/// Everything measured of one case.
#[derive(Default)]
pub struct Measured {
    pub init: Vec<Duration>,
    pub first: Vec<Duration>,
    pub warm: Vec<Duration>,
    /// The floor, measured between warm invocations.
    pub floor: Vec<Duration>,
    /// First and warm invocations against the instant stub.
    pub first_on_stub: Vec<Duration>,
    pub warm_on_stub: Vec<Duration>,
    /// Each warm invocation against the stub less the same calls made alone.
    pub own: Vec<Duration>,
    /// Pairs where the calls alone took longer than the invocation.
    pub own_negative: usize,
    pub peak_rss_kib: u64,
    /// A warm invocation's DynamoDB calls and the round trips it waits for
    /// one after the other ([`crate::round_trips`]).
    pub round_trips: Option<RoundTrips>,
}

impl Measured {
    pub fn peak_rss_mib(&self) -> f64 {
        self.peak_rss_kib as f64 / 1024.0
    }
}

/// A case and what was measured of it.
pub struct Subject<'a> {
    pub case: Case<'a>,
    pub measured: Measured,
}

impl<'a> Subject<'a> {
    pub fn new(case: Case<'a>) -> Self {
        Subject { case, measured: Measured::default() }
    }
}

/// Components measured alone in the harness.
pub struct Alone {
    pub argon2_hash: Summary,
    pub argon2_verify: Summary,
    /// The C reference implementation's, at the same parameters.
    pub reference_hash: Summary,
    pub reference_verify: Summary,
    pub get_item: Summary,
    pub put_item: Summary,
    pub transaction: Summary,
    pub stub_get_item: Summary,
}

/// What the measuring phases share.
pub struct Harness<'a> {
    pub settings: Settings,
    /// DynamoDB Local, for the floors and the components alone.
    pub db: &'a Client,
    pub tables: &'a TableNames,
    /// The hash of [`PASSWORD`], which argon2id verify is timed against alone.
    pub stored: &'a PasswordHash,
    /// The session whose keys the harness's own calls against the instant
    /// stub name.
    pub caller: &'a RefreshToken,
}

fn binary(name: &str) -> PathBuf {
    workspace().join("target/release").join(name)
}

/// The arm64 artifact's size, if `cargo lambda build` made it.
pub fn artifact_mib(name: &str) -> Option<f64> {
    let path = workspace().join("target/lambda").join(name).join("bootstrap");
    std::fs::metadata(path).ok().map(|m| m.len() as f64 / (1024.0 * 1024.0))
}

/// Cold starts go round the cases in turn, so slow spells hit them alike.
pub async fn cold_starts(subjects: &mut [Subject<'_>], h: &Harness<'_>, env: &Env) -> Result<(), BoxError> {
    eprintln!("cold starts: {} rounds over the {} functions", h.settings.cold_runs, subjects.len());
    for _ in 0..h.settings.cold_runs {
        for Subject { case, measured: m } in subjects.iter_mut() {
            let cold = cold_start(case, env).await?;
            m.init.push(cold.init);
            m.first.push(cold.first);
            m.peak_rss_kib = m.peak_rss_kib.max(cold.peak_rss_kib);
        }
    }
    Ok(())
}

/// Warm invocations, each followed by the case's floor if it has one, so the
/// two sides of the ratio share the machine's slow spells; the floors act
/// on `accounts`.
pub async fn warm_invocations(
    subjects: &mut [Subject<'_>],
    h: &Harness<'_>,
    env: &Env,
    accounts: &mut FloorAccounts,
) -> Result<(), BoxError> {
    for Subject { case, measured: m } in subjects.iter_mut() {
        eprintln!("{}: {} warm invocations", case.name, case.warm_runs);
        let mut function = Running::warmed(case, env).await?;
        for _ in 0..case.warm_runs {
            m.warm.push(function.invoke(case).await?);
            if let Some(Judge::Floor { floor, .. }) = case.judge() {
                m.floor.push(floor.run(h.db, h.tables, accounts).await?);
            }
        }
        m.peak_rss_kib = m.peak_rss_kib.max(function.stop().await?);
    }
    Ok(())
}

/// For the cases judged by own time: their first and warm invocations
/// against the instant stub, whose `env` and store are given.
pub async fn against_stub(
    subjects: &mut [Subject<'_>],
    h: &Harness<'_>,
    env: &Env,
    stub: &DynamoStore,
) -> Result<(), BoxError> {
    let cold_runs = h.settings.cold_runs;
    for Subject { case, measured: m } in subjects.iter_mut() {
        let Some(Judge::OwnTime { calls, .. }) = case.judge() else { continue };
        eprintln!(
            "{}: {cold_runs} cold starts and {} warm invocations against the instant stub",
            case.name, case.warm_runs
        );
        for _ in 0..cold_runs {
            m.first_on_stub.push(cold_start(case, env).await?.first);
        }
        own_times(case, m, calls, env, stub, h.caller).await?;
    }
    Ok(())
}

/// Each warm invocation against the stub, paired with the same calls made
/// alone just after it, so slow spells hit both sides of the difference.
async fn own_times(
    case: &mut Case<'_>,
    m: &mut Measured,
    calls: StubCalls,
    env: &Env,
    stub: &DynamoStore,
    caller: &RefreshToken,
) -> Result<(), BoxError> {
    let mut function = Running::warmed(case, env).await?;
    for _ in 0..case.warm_runs {
        let warm = function.invoke(case).await?;
        let calls = calls.run(stub, caller).await?;
        m.warm_on_stub.push(warm);
        // A negative difference is jitter; it counts as 0 and is reported.
        m.own_negative += usize::from(calls > warm);
        m.own.push(warm.saturating_sub(calls));
    }
    function.stop().await?;
    Ok(())
}

/// Each case's warm invocations through the round-trip meter, whose `env`
/// is given: how many DynamoDB calls each makes, and in how many waves.
pub async fn round_trips(subjects: &mut [Subject<'_>], env: &Env, meter: &RoundTripMeter) -> Result<(), BoxError> {
    for Subject { case, measured: m } in subjects.iter_mut() {
        let mut function = Running::warmed(case, env).await?;
        let mut counted = Vec::new();
        for _ in 1..ROUND_TRIP_EVENTS {
            meter.take();
            function.invoke(case).await?;
            counted.push(meter.take());
        }
        function.stop().await?;
        if counted.windows(2).any(|pair| pair[0] != pair[1]) {
            return Err(format!("{}: warm invocations made different calls: {counted:?}", case.name).into());
        }
        eprintln!("{}: {:?} per warm invocation", case.name, counted[0]);
        m.round_trips = counted.first().copied();
    }
    Ok(())
}

/// One cold start of a case's binary.
struct ColdStart {
    init: Duration,
    first: Duration,
    peak_rss_kib: u64,
}

/// Starts the case's binary, invokes it once and stops it.
async fn cold_start(case: &mut Case<'_>, env: &Env) -> Result<ColdStart, BoxError> {
    let (mut function, init) = Running::start(case.name, env).await?;
    let first = function.invoke(case).await?;
    Ok(ColdStart { init, first, peak_rss_kib: function.stop().await? })
}

/// argon2id and the DynamoDB calls, each timed alone; `stub` is the instant
/// stub's client.
pub async fn components_alone(h: &Harness<'_>, stub: &Client) -> Result<Alone, BoxError> {
    eprintln!("measuring the components alone");
    let Settings { warm_runs, argon2_warm_runs, .. } = h.settings;
    let (db, tables, stored) = (h.db, h.tables, h.stored);
    let (reference_hash, reference_verify) = reference_argon2(argon2_warm_runs)?;
    Ok(Alone {
        reference_hash,
        reference_verify,
        argon2_hash: time_calls(argon2_warm_runs, || async {
            hash_password(Password::parse(PASSWORD.into(), PASSWORD_MIN_LENGTH)?).await?;
            Ok(())
        })
        .await?,
        argon2_verify: time_calls(argon2_warm_runs, || async move {
            verify_password(PASSWORD.into(), Some(stored.clone())).await?;
            Ok(())
        })
        .await?,
        get_item: time_calls(warm_runs, || get_item(db, tables)).await?,
        put_item: time_calls(warm_runs, || put_item(db, tables)).await?,
        // At least 30 samples even in a quick run, as a transaction is cheap.
        transaction: time_calls(argon2_warm_runs.max(30), || transaction(db, tables)).await?,
        stub_get_item: time_calls(warm_runs, || get_item(stub, tables)).await?,
    })
}

/// argon2id hashes and verifications of the C reference implementation
/// (libargon2 through argon2-cffi, `bench/reference/argon2_c.py`), at the
/// service's parameters, on the project's Python.
fn reference_argon2(runs: usize) -> Result<(Summary, Summary), BoxError> {
    eprintln!("measuring the C reference argon2id");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().ok_or("no workspace")?;
    let output = std::process::Command::new(root.join(".tools/venv/bin/python"))
        .arg(root.join("bench/reference/argon2_c.py"))
        .arg(runs.max(30).to_string())
        .output()
        .map_err(|err| format!("cannot run the C reference argon2 (scripts/setup.sh installs it): {err}"))?;
    if !output.status.success() {
        return Err(format!("the C reference argon2 failed: {}", String::from_utf8_lossy(&output.stderr)).into());
    }
    let times: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    let summary = |key: &str| -> Result<Summary, BoxError> {
        let ms = times[key].as_array().ok_or_else(|| format!("the C reference gave no {key}"))?;
        let samples: Option<Vec<Duration>> =
            ms.iter().map(|ms| ms.as_f64().map(|ms| Duration::from_secs_f64(ms / 1000.0))).collect();
        Ok(Summary::of(&samples.ok_or("the C reference gave a time that is not a number")?))
    };
    Ok((summary("hash_ms")?, summary("verify_ms")?))
}

/// `runs` calls timed one after the other.
async fn time_calls<F, Fut>(runs: usize, mut call: F) -> Result<Summary, BoxError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), BoxError>>,
{
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        call().await?;
        samples.push(start.elapsed());
    }
    Ok(Summary::of(&samples))
}

/// A function process and the Runtime API it talks to.
pub struct Running {
    api: RuntimeApi,
    child: tokio::process::Child,
    invocations: usize,
}

impl Running {
    /// Starts the release binary `name` and returns once it asks for its first
    /// event, with the time that took: its init.
    pub async fn start(name: &str, env: &Env) -> Result<(Self, Duration), BoxError> {
        Running::start_command(tokio::process::Command::new(binary(name)), env).await
    }

    /// [`Running::start`], for any command that runs a function.
    pub async fn start_command(mut command: tokio::process::Command, env: &Env) -> Result<(Self, Duration), BoxError> {
        let mut api = RuntimeApi::start().await?;
        let started = Instant::now();
        let child = command
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("AWS_LAMBDA_RUNTIME_API", &api.address)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        let init = wait_for_poll(&mut api).await? - started;
        Ok((Running { api, child, invocations: 0 }, init))
    }

    /// Starts the case's binary and invokes it once, untimed, so the
    /// invocations that follow are warm.
    async fn warmed(case: &mut Case<'_>, env: &Env) -> Result<Self, BoxError> {
        let (mut function, _) = Running::start(case.name, env).await?;
        function.invoke(case).await?;
        Ok(function)
    }

    /// Hands over the case's next event and returns the time to its
    /// response, once the function is idle again; checks the response's
    /// status code.
    async fn invoke(&mut self, case: &mut Case<'_>) -> Result<Duration, BoxError> {
        let (event, expected) = (case.next_event()?, case.expected);
        self.invoke_event(event, expected).await
    }

    /// Hands over `event`; its response must be `expected`.
    pub async fn invoke_event(&mut self, event: String, expected: Expected) -> Result<Duration, BoxError> {
        self.invocations += 1;
        let request_id = format!("bench-{}", self.invocations);
        let sent = Instant::now();
        self.api.events.send(Invocation { request_id: request_id.clone(), body: event }).await?;
        let took = match next_report(&mut self.api).await? {
            Report::Responded { at, body, request_id: answered } if answered == request_id => {
                let response: serde_json::Value = serde_json::from_slice(&body)?;
                if !expected.is_met_by(&response) {
                    return Err(format!("expected {expected:?}, got {response}").into());
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

    /// The CPU time the process's threads have had so far (the scheduler's
    /// own count, in ns: not the 10 ms ticks of `/proc/<pid>/stat`).
    pub fn cpu_time(&self) -> Option<Duration> {
        let pid = self.child.id()?;
        let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
        let mut ns = 0u64;
        // A thread that ends meanwhile is left out, as are those that ended
        // before: the functions' threads last as long as the process.
        for task in tasks.flatten() {
            let Ok(schedstat) = std::fs::read_to_string(task.path().join("schedstat")) else { continue };
            ns += schedstat.split_whitespace().next()?.parse::<u64>().ok()?;
        }
        Some(Duration::from_nanos(ns))
    }

    /// Stops the process; returns its peak RSS in KiB.
    pub async fn stop(mut self) -> Result<u64, BoxError> {
        let rss = self.child.id().map(peak_rss_kib).unwrap_or(0);
        self.child.kill().await?;
        Ok(rss)
    }
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
