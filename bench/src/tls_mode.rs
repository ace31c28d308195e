//! `--tls`: the first request as Lambda sees it. DynamoDB is reached through
//! a TLS terminator ([`tls`]) with a test CA's certificate, and every
//! process runs in a cgroup whose CPU quota is Lambda's share for its
//! memory ([`cpu_share`]): at the template's default memory and at 128 MB,
//! over plain HTTP and over TLS, side by side. The floors are hello (init)
//! and `dynamodb-floor`, a minimal function making one DynamoDB call per
//! invocation (the first request). Then the levers on that first request,
//! measured on the floor at 128 MB. Writes its section of `bench/RESULTS.md`.
//!
//! The functions run as built by `scripts/bench --tls` with the
//! `bench-test-ca` feature, in `target/bench-tls`, for this machine: that
//! build differs from the deployed one by the trust of the test CA and the
//! benchmark's switches (`sdk_settings::BENCH_ONLY_VARIABLES`). A production
//! build is first shown to refuse the same endpoint. In the main rows login
//! and refresh read their signing key from a file; deployed, they fetch it
//! from Secrets Manager during init, which a table of its own measures
//! against a stub behind a terminator of its own ([`crate::secrets_stub`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use user_auth_core::config::vars;
use user_auth_core::sdk_settings::{BENCH_EVERY_CALL_CONNECTS, BENCH_SYSTEM_ROOTS, BENCH_TEST_CA_FILE};

use crate::cases::{self, Case, Events, Expected, Role};
use crate::cpu_share::{CpuShare, ONE_VCPU_MB, PERIOD_US};
use crate::measure::{Running, Settings, Summary};
use crate::secrets_stub::{SecretsStub, SECRET_ARN};
use crate::setup::{self, Env, Fixture, Sessions};
use crate::tls::{Group, Handshakes, Terminating, Terminator, TestCa};
use crate::{workspace, BoxError};

/// Repetitions per function, CPU share and transport.
const RUNS: Settings = Settings { cold_runs: 30, warm_runs: 30, argon2_warm_runs: 8 };
const QUICK_RUNS: Settings = Settings { cold_runs: 3, warm_runs: 3, argon2_warm_runs: 2 };

/// Lambda's smallest memory, at which a function gets 7.2 % of a vCPU.
const SMALLEST_MB: u32 = 128;

/// The floor of the first request, built from `bench/src/bin/dynamodb_floor.rs`.
const FLOOR: &str = "dynamodb-floor";

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Transport {
    Plain,
    Tls,
    /// TLS, with every concurrent first call opening a connection of its
    /// own, as before `sdk_settings::first_connection`: cold starts only.
    TlsEveryCallConnects,
}

/// The times of one binary at one memory over one transport.
#[derive(Default)]
struct Times {
    init: Vec<Duration>,
    first: Vec<Duration>,
    warm: Vec<Duration>,
    /// The CPU time of init and of the first invocation.
    init_cpu: Vec<Duration>,
    first_cpu: Vec<Duration>,
    /// TLS handshakes per cold start (init and first invocation).
    handshakes: Vec<Handshakes>,
}

impl Times {
    fn push_cold(&mut self, cold: &ColdStart) {
        self.init.push(cold.init);
        self.first.push(cold.first);
        self.init_cpu.push(cold.init_cpu);
        self.first_cpu.push(cold.first_cpu);
    }
}

type Measurements = BTreeMap<(&'static str, u32, Transport), Times>;

pub async fn run(quick: bool) -> Result<(), BoxError> {
    let runs = if quick { QUICK_RUNS } else { RUNS };
    let Fixture { db, tables, scratch, keys, user, stored } = Fixture::start("user-auth-bench-tls").await?;
    // Each function runs at two memories over three transports, and login
    // and refresh at two more with their key from Secrets Manager: sessions
    // for ten runs.
    let budget = Settings {
        cold_runs: 10 * (runs.cold_runs + 1),
        warm_runs: 4 * runs.warm_runs,
        argon2_warm_runs: 4 * runs.argon2_warm_runs,
    };
    eprintln!("starting the sessions and accounts the events act on");
    let sessions = Sessions::create(&db.client, &tables, &user.id, &stored, &budget).await?;
    let events = Events::load(&user.id)?;
    let mut cases = cases::all(&events, &keys.issuer, sessions, &runs);
    cases.push(cases::dynamodb_floor(&events, runs.warm_runs));

    let ca = TestCa::create(&scratch.join("ca"))?;
    let terminator = Terminator::start(&ca, &db.endpoint, Terminating::USUAL).await?;
    let plain = setup::function_env(&db.endpoint, &keys);
    let tls = tls_env(&plain, &terminator.endpoint, &ca);
    let mut every_call_connects = tls.clone();
    every_call_connects.push((BENCH_EVERY_CALL_CONNECTS.to_owned(), "1".to_owned()));
    let get_user = cases.iter_mut().find(|c| c.name == "get-user").ok_or("no get-user case")?;
    production_build_refuses(get_user, &tls, &terminator).await?;

    let memories = default_memories()?;
    let mut measured = Measurements::new();
    let mut shares: Vec<u32> = memories.values().copied().chain([SMALLEST_MB]).collect();
    shares.sort_unstable();
    shares.dedup();
    for memory in shares {
        let share = CpuShare::of_memory(memory)?;
        // hello and the floor at every share; a function at its own and at 128 MB.
        let here: Vec<usize> = (0..cases.len())
            .filter(|&i| {
                let name = cases[i].name;
                memory == SMALLEST_MB || matches!(cases[i].role, Role::Reference) || memories.get(name) == Some(&memory)
            })
            .collect();
        let transports = [
            (Transport::Plain, at_memory(&plain, memory)),
            (Transport::Tls, at_memory(&tls, memory)),
            (Transport::TlsEveryCallConnects, at_memory(&every_call_connects, memory)),
        ];
        eprintln!("{memory} MB ({:.1} % of a vCPU): {} binaries", share.vcpu() * 100.0, here.len());
        // Round by round, each binary over each transport in turn, the
        // transports' order turning every round: slow spells hit all alike.
        for round in 0..runs.cold_runs {
            for &i in &here {
                for turn in 0..transports.len() {
                    let (transport, env) = &transports[(round + turn) % transports.len()];
                    let before = terminator.handshakes();
                    let cold = cold_start(&mut cases[i], &share, env).await?;
                    let times = measured.entry((cases[i].name, memory, *transport)).or_default();
                    times.push_cold(&cold);
                    times.handshakes.push(terminator.handshakes() - before);
                }
            }
        }
        // Warm invocations, plain and TLS, a function's after the other's.
        for &i in &here {
            for (transport, env) in transports.iter().filter(|(t, _)| *t != Transport::TlsEveryCallConnects) {
                let case = &mut cases[i];
                let (mut function, _) = start(case.name, &share, env).await?;
                function.invoke_event(case.next_event()?, case.expected).await?;
                let mut warm = Vec::with_capacity(case.warm_runs);
                for _ in 0..case.warm_runs {
                    warm.push(function.invoke_event(case.next_event()?, case.expected).await?);
                }
                function.stop().await?;
                measured.entry((case.name, memory, *transport)).or_default().warm = warm;
            }
        }
    }
    let key_readers = key_from_secrets_manager(&mut cases, &memories, &ca, &tls, &keys.signing_key_file, runs).await?;
    let floor_case = cases.iter_mut().find(|c| c.name == FLOOR).ok_or("no floor case")?;
    let levers = levers(floor_case, &ca, &db.endpoint, &tls, runs).await?;

    let section = render(&measured, &memories, &key_readers, &levers, runs)?;
    let path = workspace().join("bench/RESULTS.md");
    let existing = std::fs::read_to_string(&path).unwrap_or_default();
    std::fs::write(&path, crate::report::with_tls_section(&existing, &section))?;
    println!("{section}");
    drop(terminator);
    db.stop();
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}

/// The functions' environment with DynamoDB behind the terminator and the
/// test CA named for the bench build.
fn tls_env(plain: &Env, endpoint: &str, ca: &TestCa) -> Env {
    let mut env = setup::with_endpoint(plain, endpoint);
    env.push((BENCH_TEST_CA_FILE.to_owned(), ca.root.to_string_lossy().into_owned()));
    env
}

/// The environment as Lambda sets it for a function of `memory` MB.
fn at_memory(env: &Env, memory: u32) -> Env {
    let mut env: Env = env.iter().filter(|(k, _)| k != "AWS_LAMBDA_FUNCTION_MEMORY_SIZE").cloned().collect();
    env.push(("AWS_LAMBDA_FUNCTION_MEMORY_SIZE".to_owned(), memory.to_string()));
    env
}

/// The bench build of `name`, made by `scripts/bench --tls`.
fn bench_binary(name: &str) -> PathBuf {
    workspace().join("target/bench-tls").join(name)
}

async fn start(name: &str, share: &CpuShare, env: &Env) -> Result<(Running, Duration), BoxError> {
    let mut command = tokio::process::Command::new(bench_binary(name));
    share.confine(&mut command);
    Running::start_command(command, env).await
}

struct ColdStart {
    init: Duration,
    first: Duration,
    init_cpu: Duration,
    first_cpu: Duration,
}

/// One cold start: init and first invocation, in time and in CPU time. It
/// waits two CFS periods first, so that the cgroup's quota is whole again:
/// the process before it may have spent the current period's, and a new
/// Lambda environment inherits nothing. Where in a period it starts is left
/// to chance, as in Lambda.
async fn cold_start(case: &mut Case<'_>, share: &CpuShare, env: &Env) -> Result<ColdStart, BoxError> {
    tokio::time::sleep(Duration::from_micros(2 * PERIOD_US)).await;
    let (mut function, init) = start(case.name, share, env).await?;
    let init_cpu = function.cpu_time().ok_or("cannot read the function's CPU time")?;
    let first = function.invoke_event(case.next_event()?, case.expected).await?;
    let first_cpu = function.cpu_time().ok_or("cannot read the function's CPU time")?.saturating_sub(init_cpu);
    function.stop().await?;
    Ok(ColdStart { init, first, init_cpu, first_cpu })
}

/// The deployed trust: get-user as `sam build` would build it (no
/// `bench-test-ca`), given the test CA's variable all the same and a valid
/// token, completes no handshake with the terminator and answers 503.
async fn production_build_refuses(get_user: &mut Case<'_>, tls: &Env, terminator: &Terminator) -> Result<(), BoxError> {
    let production = workspace().join("target/release").join(get_user.name);
    let before = terminator.handshakes().all;
    let (mut function, _) = Running::start_command(tokio::process::Command::new(production), tls).await?;
    let refused = Expected::Refused { status: 503, code: "service_unavailable" };
    let outcome = function.invoke_event(get_user.next_event()?, refused).await;
    function.stop().await?;
    outcome?;
    match terminator.handshakes().all - before {
        0 => {
            eprintln!("the production build of get-user refuses the test CA: no handshake, 503");
            Ok(())
        }
        n => Err(format!("the production build of get-user completed {n} TLS handshakes with the test CA").into()),
    }
}

/// The memory the template gives each function by default.
fn default_memories() -> Result<BTreeMap<String, u32>, BoxError> {
    let text = std::fs::read_to_string(workspace().join("template.yaml"))?;
    let template: serde_yaml::Value = serde_yaml::from_str(&text)?;
    let parameter = |name: &str| template["Parameters"][name]["Default"].as_u64();
    let mut memories = BTreeMap::new();
    let resources = template["Resources"].as_mapping().ok_or("template.yaml has no Resources")?;
    for resource in resources.values().filter(|r| r["Type"] == "AWS::Serverless::Function") {
        let binary = resource["Metadata"]["BuildProperties"]["Binary"].as_str().ok_or("a function names no binary")?;
        let memory = match &resource["Properties"]["MemorySize"] {
            serde_yaml::Value::Number(n) => n.as_u64(),
            serde_yaml::Value::Tagged(tagged) if tagged.tag == "!Ref" => tagged.value.as_str().and_then(parameter),
            _ => None,
        };
        let memory = memory.ok_or_else(|| format!("{binary}: no MemorySize the benchmark can read"))?;
        memories.insert(binary.to_owned(), u32::try_from(memory)?);
    }
    Ok(memories)
}

/// The functions that read the signing key during init: from Secrets
/// Manager as deployed, from a file in the rows above.
const KEY_READERS: [&str; 2] = ["login", "refresh"];

/// Cold starts of one of [`KEY_READERS`] at one memory over TLS, with the
/// key read from a file and from Secrets Manager, taken in turn.
struct KeyReader {
    name: &'static str,
    memory: u32,
    from_file: Times,
    /// Its handshakes are Secrets Manager's.
    from_secrets_manager: Times,
}

async fn key_from_secrets_manager(
    cases: &mut [Case<'_>],
    memories: &BTreeMap<String, u32>,
    ca: &TestCa,
    tls: &Env,
    signing_key_file: &str,
    runs: Settings,
) -> Result<Vec<KeyReader>, BoxError> {
    let stub = SecretsStub::start(std::fs::read_to_string(signing_key_file)?).await?;
    // A terminator of its own, as Secrets Manager is another host than DynamoDB.
    let terminator = Terminator::start(ca, &stub.endpoint, Terminating::USUAL).await?;
    let mut readers = Vec::new();
    for name in KEY_READERS {
        let i = cases.iter().position(|c| c.name == name).ok_or("a key reader is not a case")?;
        let default = *memories.get(name).ok_or("a key reader has no memory in template.yaml")?;
        let mut shares = vec![SMALLEST_MB, default];
        shares.dedup();
        for memory in shares {
            eprintln!("{name} at {memory} MB with its signing key from Secrets Manager");
            let share = CpuShare::of_memory(memory)?;
            let from_file = at_memory(tls, memory);
            let mut from_secret: Env =
                from_file.iter().filter(|(k, _)| k != vars::TOKEN_SIGNING_KEY_FILE).cloned().collect();
            from_secret.push((vars::TOKEN_SIGNING_KEY_SECRET_ARN.to_owned(), SECRET_ARN.to_owned()));
            from_secret.push((vars::AWS_ENDPOINT_URL_SECRETS_MANAGER.to_owned(), terminator.endpoint.clone()));
            let mut times: [Times; 2] = Default::default();
            for round in 0..runs.cold_runs {
                for turn in 0..2 {
                    let variant = (round + turn) % 2;
                    let env = if variant == 0 { &from_file } else { &from_secret };
                    let before = terminator.handshakes();
                    let cold = cold_start(&mut cases[i], &share, env).await?;
                    times[variant].push_cold(&cold);
                    times[variant].handshakes.push(terminator.handshakes() - before);
                }
            }
            let [from_file, from_secrets_manager] = times;
            readers.push(KeyReader { name, memory, from_file, from_secrets_manager });
        }
    }
    Ok(readers)
}

/// What each lever on the first request gave, on the floor at 128 MB.
struct Levers {
    /// Cold starts as they are: connection in the first invocation.
    usual: Times,
    /// The connection opened and handshaken during init.
    connect_in_init: Times,
    /// The server wants P-256: a HelloRetryRequest.
    hello_retry: Times,
    /// The system's roots trusted as well as the AWS ones.
    system_roots: Times,
    /// Warm invocations that each reconnect, resuming the TLS session or not.
    reconnect_resumed: Vec<Duration>,
    reconnect_full: Vec<Duration>,
}

async fn levers(
    floor: &mut Case<'_>,
    ca: &TestCa,
    upstream: &str,
    tls: &Env,
    runs: Settings,
) -> Result<Levers, BoxError> {
    eprintln!("the levers, on the floor at {SMALLEST_MB} MB");
    let share = CpuShare::of_memory(SMALLEST_MB)?;
    let tls = at_memory(tls, SMALLEST_MB);
    let p256 = Terminator::start(ca, upstream, Terminating { group: Group::P256, ..Terminating::USUAL }).await?;
    let with = |extra: (&str, &str)| {
        let mut env = tls.clone();
        env.push((extra.0.to_owned(), extra.1.to_owned()));
        env
    };
    let connect_in_init = with(("FLOOR_CONNECT_DURING_INIT", "1"));
    let system_roots = with((BENCH_SYSTEM_ROOTS, "1"));
    let hello_retry = setup::with_endpoint(&tls, &p256.endpoint);
    let mut times: [Times; 4] = Default::default();
    for _ in 0..runs.cold_runs {
        for (variant, env) in [&tls, &connect_in_init, &hello_retry, &system_roots].into_iter().enumerate() {
            times[variant].push_cold(&cold_start(floor, &share, env).await?);
        }
    }
    let [usual, connect_in_init, hello_retry, system_roots] = times;
    let mut reconnects = [Vec::new(), Vec::new()];
    for (at, resumption) in [true, false].into_iter().enumerate() {
        let idle_close = Some(Duration::from_millis(100));
        let terminator =
            Terminator::start(ca, upstream, Terminating { resumption, idle_close, ..Terminating::USUAL }).await?;
        let env = setup::with_endpoint(&tls, &terminator.endpoint);
        let (mut function, _) = start(floor.name, &share, &env).await?;
        function.invoke_event(floor.next_event()?, floor.expected).await?;
        for _ in 0..runs.warm_runs {
            // Past the terminator's idle close: the call reconnects.
            tokio::time::sleep(Duration::from_millis(250)).await;
            reconnects[at].push(function.invoke_event(floor.next_event()?, floor.expected).await?);
        }
        function.stop().await?;
    }
    let [reconnect_resumed, reconnect_full] = reconnects;
    Ok(Levers { usual, connect_in_init, hello_retry, system_roots, reconnect_resumed, reconnect_full })
}

fn median(samples: &[Duration]) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    Summary::of(samples).median
}

/// "all (full)", each a mean per cold start.
fn mean(counts: &[Handshakes]) -> String {
    let runs = counts.len().max(1) as f64;
    let all = counts.iter().map(|h| h.all).sum::<usize>() as f64 / runs;
    let full = counts.iter().map(|h| h.full).sum::<usize>() as f64 / runs;
    format!("{all:.1} ({full:.1} full)")
}

fn render(
    m: &Measurements,
    memories: &BTreeMap<String, u32>,
    key_readers: &[KeyReader],
    levers: &Levers,
    runs: Settings,
) -> Result<String, BoxError> {
    let mut out = String::new();
    let date = time::OffsetDateTime::now_utc().date();
    writeln!(out, "{}\n", crate::report::TLS_SECTION)?;
    writeln!(out, "Measured {date} by `scripts/bench --tls`. Each process runs in a cgroup whose CPU quota is")?;
    writeln!(
        out,
        "Lambda's share for its memory (memory / {ONE_VCPU_MB} MB of one core, CFS period {} ms);",
        PERIOD_US / 1000
    )?;
    writeln!(out, "DynamoDB Local is reached over plain HTTP, or through a TLS terminator whose certificate")?;
    writeln!(out, "chain is shaped like DynamoDB's (RSA-2048 leaf, intermediate and root, a test CA made at")?;
    writeln!(
        out,
        "run time, trusted by the bench build only). {} cold starts per row, binaries and transports taken",
        runs.cold_runs
    )?;
    writeln!(
        out,
        "in turn; {} warm invocations ({} for the argon2 functions). Each cold start waits two CFS periods,",
        runs.warm_runs, runs.argon2_warm_runs
    )?;
    writeln!(out, "so the quota is whole, and starts wherever in a period chance puts it. CPU ms is the scheduler's")?;
    writeln!(out, "count of the process's CPU time, which the share spreads over periods: time at a share moves in")?;
    writeln!(out, "steps of a period, CPU time does not. The first invocation's handshakes are counted by the")?;
    writeln!(out, "terminator (full ones apart from resumed ones). Medians in ms,")?;
    writeln!(out, "plain → TLS.\n")?;
    writeln!(out, "| function | memory (MB) | vCPU | init | first invocation | warm | CPU ms of init / first (TLS) | TLS handshakes per cold start (full ones) | first, TLS, each call connecting | first − warm (TLS) | init / hello's (TLS) | first / floor's first (TLS) |")?;
    writeln!(out, "|---|---|---|---|---|---|---|---|---|---|---|---|")?;
    let get = |name: &str, memory: u32, t: Transport| {
        m.iter().find(|((n, mm, tt), _)| *n == name && *mm == memory && *tt == t).map(|(_, v)| v)
    };
    let mut verdicts = Vec::new();
    let mut rows: Vec<(&str, u32)> = m.keys().map(|(n, mm, _)| (*n, *mm)).collect();
    rows.dedup();
    for (name, memory) in rows {
        let (Some(plain), Some(tls)) = (get(name, memory, Transport::Plain), get(name, memory, Transport::Tls)) else {
            continue;
        };
        let ungated =
            get(name, memory, Transport::TlsEveryCallConnects).ok_or("a row without its ungated cold starts")?;
        let hello = get("hello", memory, Transport::Tls).ok_or("hello was not measured at every share")?;
        let floor = get(FLOOR, memory, Transport::Tls).ok_or("the floor was not measured at every share")?;
        let init_ratio = median(&tls.init) / median(&hello.init);
        let first_ratio = median(&tls.first) / median(&floor.first);
        let reference = name == "hello" || name == FLOOR;
        writeln!(
            out,
            "| {name} | {memory}{} | {:.3} | {:.1} → {:.1} | {:.1} → {:.1} | {:.1} → {:.1} | {:.2} / {:.2} | {} | {:.1}, {} handshakes | {:.1} | {} | {} |",
            if memories.get(name) == Some(&memory) { " (default)" } else { "" },
            (f64::from(memory) / f64::from(ONE_VCPU_MB)).min(1.0),
            median(&plain.init), median(&tls.init),
            median(&plain.first), median(&tls.first),
            median(&plain.warm), median(&tls.warm),
            median(&tls.init_cpu), median(&tls.first_cpu),
            mean(&tls.handshakes),
            median(&ungated.first),
            mean(&ungated.handshakes),
            median(&tls.first) - median(&tls.warm),
            if reference { "".into() } else { format!("{init_ratio:.2}") },
            if reference { "".into() } else { format!("{first_ratio:.2}") },
        )?;
        if !reference {
            let init_cpu_ratio = median(&tls.init_cpu) / median(&hello.init_cpu);
            let first_cpu_ratio = median(&tls.first_cpu) / median(&floor.first_cpu);
            verdicts.push((name, memory, init_ratio, first_ratio, init_cpu_ratio, first_cpu_ratio));
        }
    }
    writeln!(out, "\nThe targets, on time and on CPU time (medians), TLS at the same CPU share:\n")?;
    writeln!(out, "| target | time | verdict | CPU time | verdict |\n|---|---|---|---|---|")?;
    let verdict = |ratio: f64, limit: f64| format!("{ratio:.2} × | {}", if ratio <= limit { "met" } else { "NOT met" });
    for (name, memory, init_ratio, first_ratio, init_cpu_ratio, first_cpu_ratio) in verdicts {
        let (init, init_cpu) = (verdict(init_ratio, 1.5), verdict(init_cpu_ratio, 1.5));
        writeln!(out, "| {name} at {memory} MB: init ≤ 1.5 × hello's | {init} | {init_cpu} |")?;
        let (first, first_cpu) = (verdict(first_ratio, 2.0), verdict(first_cpu_ratio, 2.0));
        writeln!(out, "| {name} at {memory} MB: first ≤ 2 × the floor's first | {first} | {first_cpu} |")?;
    }
    writeln!(out, "\n### The signing key from Secrets Manager, as login and refresh read it when deployed\n")?;
    writeln!(
        out,
        "The rows above read the key from a file. Deployed, login and refresh fetch it from Secrets Manager"
    )?;
    writeln!(
        out,
        "during init: a second host, so a second connection and full TLS handshake before the first request."
    )?;
    writeln!(out, "Here Secrets Manager is a stub on loopback behind a terminator of its own, so its network time is")?;
    writeln!(out, "not counted, only the connection, the handshake and the call. Medians in ms, TLS to DynamoDB both")?;
    writeln!(out, "ways, key from a file → from Secrets Manager, cold starts taken in turn.\n")?;
    writeln!(out, "| function | memory (MB) | init | CPU ms of init | first invocation | handshakes with Secrets Manager per cold start (full ones) | init / hello's (Secrets Manager) | CPU ms of init / hello's |")?;
    writeln!(out, "|---|---|---|---|---|---|---|---|")?;
    for r in key_readers {
        let hello = get("hello", r.memory, Transport::Tls).ok_or("hello was not measured at every share")?;
        let (file, secret) = (&r.from_file, &r.from_secrets_manager);
        writeln!(
            out,
            "| {} | {}{} | {:.1} → {:.1} | {:.2} → {:.2} | {:.1} → {:.1} | {} | {:.2} | {:.2} |",
            r.name,
            r.memory,
            if memories.get(r.name) == Some(&r.memory) { " (default)" } else { "" },
            median(&file.init),
            median(&secret.init),
            median(&file.init_cpu),
            median(&secret.init_cpu),
            median(&file.first),
            median(&secret.first),
            mean(&secret.handshakes),
            median(&secret.init) / median(&hello.init),
            median(&secret.init_cpu) / median(&hello.init_cpu),
        )?;
    }
    let l = levers;
    writeln!(out, "\n### Levers on the first request, measured on the floor at {SMALLEST_MB} MB over TLS\n")?;
    writeln!(
        out,
        "| variant | init | first invocation | init + first | CPU ms of init / first |\n|---|---|---|---|---|"
    )?;
    for (variant, t) in [
        ("as the functions run: client built in init, connection in the first invocation", &l.usual),
        ("connection opened and handshaken during init", &l.connect_in_init),
        ("server insists on P-256 (HelloRetryRequest)", &l.hello_retry),
        ("system roots trusted as well as the 5 AWS roots", &l.system_roots),
    ] {
        let (init, first) = (median(&t.init), median(&t.first));
        let total: Vec<Duration> = t.init.iter().zip(&t.first).map(|(i, f)| *i + *f).collect();
        let cpu = (median(&t.init_cpu), median(&t.first_cpu));
        writeln!(out, "| {variant} | {init:.1} | {first:.1} | {:.1} | {:.2} / {:.2} |", median(&total), cpu.0, cpu.1)?;
    }
    writeln!(out, "\n| a warm invocation whose connection was closed | median / p99 |\n|---|---|")?;
    writeln!(out, "| reconnects, resuming the TLS session | {} |", Summary::of(&l.reconnect_resumed))?;
    writeln!(out, "| reconnects, full handshake (server without resumption) | {} |", Summary::of(&l.reconnect_full))?;
    Ok(out)
}
