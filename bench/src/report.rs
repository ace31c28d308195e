//! The Markdown written to `bench/RESULTS.md`: every case's times, each
//! function's warm time against what it cannot avoid or against its peer's,
//! the components alone, and a verdict per target, with the targets read
//! from the cases.

use std::fmt::{self, Write as _};

use crate::cases::{Judge, Limit, Role, Targets};
use crate::measure::{artifact_mib, Alone, Measured, Settings, Subject, Summary};
use crate::BoxError;

pub fn render(subjects: &[Subject], settings: &Settings, alone: &Alone) -> Result<String, BoxError> {
    let hello = subjects
        .iter()
        .find(|s| matches!(s.case.role, Role::Reference))
        .ok_or("no reference case (hello) was measured")?;
    let hello_init = Summary::of(&hello.measured.init).median;
    let mut out = String::new();
    header(&mut out, settings)?;
    let unmeasured = unmeasured(subjects)?;
    if !unmeasured.is_empty() {
        writeln!(out, "Not measured, as the benchmark has no case for them: {}.\n", unmeasured.join(", "))?;
    }
    times(&mut out, subjects, hello_init)?;
    warm_against_floors(&mut out, subjects)?;
    components(&mut out, alone)?;
    round_trips(&mut out, subjects)?;
    verdicts(&mut out, subjects, hello_init)?;
    reference_verdicts(&mut out, subjects, alone)?;
    Ok(out)
}

/// The functions of the workspace (`functions/`) that no case runs.
pub fn unmeasured(subjects: &[Subject]) -> Result<Vec<String>, BoxError> {
    let mut functions = Vec::new();
    for entry in std::fs::read_dir(crate::workspace().join("functions"))? {
        let name = entry?.file_name().into_string().map_err(|name| format!("{name:?} is not UTF-8"))?;
        if !subjects.iter().any(|subject| subject.case.name == name) {
            functions.push(name);
        }
    }
    functions.sort();
    Ok(functions)
}

/// The heading of the TLS mode's section, which `scripts/bench --tls` writes
/// at the end of `bench/RESULTS.md` and a plain run keeps.
pub const TLS_SECTION: &str = "## DynamoDB over TLS at Lambda's CPU shares";

/// `report` (a plain run's whole file, or the TLS section) put together
/// with what `existing` holds of the other.
pub fn with_tls_section(existing: &str, report: &str) -> String {
    let (plain, tls) = match existing.find(TLS_SECTION) {
        Some(at) => existing.split_at(at),
        None => (existing, ""),
    };
    match report.starts_with(TLS_SECTION) {
        true => format!("{}\n{report}", plain.trim_end()),
        false if tls.is_empty() => report.to_owned(),
        false => format!("{}\n\n{tls}", report.trim_end()),
    }
}

fn header(out: &mut String, s: &Settings) -> fmt::Result {
    let date = time::OffsetDateTime::now_utc().date();
    writeln!(out, "# Benchmark results\n")?;
    writeln!(out, "Measured {date} on {} by `scripts/bench`: release binaries for this machine's", machine())?;
    writeln!(out, "architecture under the project's Lambda Runtime API emulator, against DynamoDB Local")?;
    writeln!(
        out,
        "on the same machine. {} cold starts per function, taken in turn; warm invocations: {} ({} for the",
        s.cold_runs, s.warm_runs, s.argon2_warm_runs
    )?;
    writeln!(out, "argon2 functions). Times in ms (median / p99); sizes of `cargo lambda build --release --arm64`.\n")
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

/// Every case's cold and warm times, peak RSS and artifact size.
fn times(out: &mut String, subjects: &[Subject], hello_init: f64) -> fmt::Result {
    writeln!(
        out,
        "| function | init | init / hello | first invocation | warm | first / warm | peak RSS (MiB) \
         | arm64 size (MiB) |"
    )?;
    writeln!(out, "|---|---|---|---|---|---|---|---|")?;
    for Subject { case, measured: m } in subjects {
        let (init, first, warm) = (Summary::of(&m.init), Summary::of(&m.first), Summary::of(&m.warm));
        let size = artifact_mib(case.name).map_or_else(|| "n/a".into(), |mib| format!("{mib:.2}"));
        writeln!(
            out,
            "| {} | {init:.2} | {:.2} | {first:.2} | {warm:.3} | {:.2} | {:.1} | {size} |",
            case.name,
            init.median / hello_init,
            first.median / warm.median,
            m.peak_rss_mib()
        )?;
    }
    Ok(())
}

/// Each function's warm time next to its floor, to its invocations against
/// the instant stub, or to its peer's warm time.
fn warm_against_floors(out: &mut String, subjects: &[Subject]) -> Result<(), BoxError> {
    writeln!(out, "\nWarm time set against what it cannot avoid, or against another function's (median / p99, ms):\n")?;
    writeln!(
        out,
        "| function | warm | measured between its invocations, against the instant stub, or in the peer's own \
         warm phase | ratio of medians |"
    )?;
    writeln!(out, "|---|---|---|---|")?;
    for Subject { case, measured: m } in subjects {
        let warm = Summary::of(&m.warm);
        match case.judge() {
            Some(Judge::Floor { floor, .. }) => {
                let floor_time = Summary::of(&m.floor);
                let ratio = warm.median / floor_time.median;
                writeln!(out, "| {} | {warm:.2} | {}: {floor_time:.2} | {ratio:.2} |", case.name, floor.describe())?;
            }
            Some(Judge::OwnTime { .. }) => {
                let (stub, first) = (Summary::of(&m.warm_on_stub), Summary::of(&m.first_on_stub));
                writeln!(
                    out,
                    "| {} | {warm:.3} | against the stub: warm {stub:.3}, first {first:.3} | n/a |",
                    case.name
                )?;
            }
            Some(Judge::Peer { peer, .. }) => {
                let peer_warm = peer_warm(subjects, peer)?;
                let ratio = warm.median / peer_warm.median;
                writeln!(
                    out,
                    "| {} | {warm:.3} | {peer}'s warm invocations: {peer_warm:.3} | {ratio:.2} |",
                    case.name
                )?;
            }
            None => {}
        }
    }
    Ok(())
}

fn components(out: &mut String, a: &Alone) -> fmt::Result {
    writeln!(
        out,
        "\nComponents measured alone in the harness (median / p99, ms): argon2id hash {:.2}, verify {:.2};",
        a.argon2_hash, a.argon2_verify
    )?;
    writeln!(
        out,
        "the C reference argon2id (libargon2 through argon2-cffi, same parameters) hash {:.2}, verify {:.2};",
        a.reference_hash, a.reference_verify
    )?;
    writeln!(
        out,
        "DynamoDB Local GetItem {:.3}, PutItem of a session {:.3}, two-put transaction {:.3};",
        a.get_item, a.put_item, a.transaction
    )?;
    writeln!(out, "GetItem against the instant stub {:.3}.", a.stub_get_item)?;
    writeln!(
        out,
        "The instant stub answers DynamoDB calls without work, so a warm invocation against it is the function's\n\
         own time plus its calls' round trips. Own time is each such invocation less the same calls made by the\n\
         harness just after it (paired, then median and p99); it includes the Runtime API exchange \
         (hello's warm time).\n\
         A function set against another's warm time is compared with that function's own warm phase of the same\n\
         run, not interleaved with it.\n"
    )
}

/// The most sequential round trips a warm login may wait for: the lockout's
/// standing with the credentials, the attempt's claim, then the session and
/// the success's record together.
const LOGIN_ROUND_TRIPS: usize = 3;

/// Each function's DynamoDB calls in a warm invocation, and how many of them
/// it waits for one after the other.
fn round_trips(out: &mut String, subjects: &[Subject]) -> Result<(), BoxError> {
    writeln!(
        out,
        "DynamoDB calls of a warm invocation, through a proxy that holds every answer 25 ms: the calls, and"
    )?;
    writeln!(out, "the round trips waited for one after the other (calls made at once overlap, and count as one).\n")?;
    writeln!(out, "| function | calls | sequential round trips | target |")?;
    writeln!(out, "|---|---|---|---|")?;
    for Subject { case, measured } in subjects {
        let Some(counted) = measured.round_trips else { continue };
        let target = match case.name {
            "login" => {
                let verdict = if counted.waves <= LOGIN_ROUND_TRIPS { "met" } else { "NOT met" };
                format!("≤ {LOGIN_ROUND_TRIPS}: {verdict}")
            }
            _ => String::new(),
        };
        writeln!(out, "| {} | {} | {} | {target} |", case.name, counted.calls, counted.waves)?;
    }
    writeln!(out)?;
    Ok(())
}

/// The warm times of the function named `peer`, which another is set against.
fn peer_warm(subjects: &[Subject], peer: &str) -> Result<Summary, BoxError> {
    let peer = subjects.iter().find(|s| s.case.name == peer).ok_or_else(|| format!("{peer} was not measured"))?;
    Ok(Summary::of(&peer.measured.warm))
}

/// One row per target of every function, in the cases' order.
fn verdicts(out: &mut String, subjects: &[Subject], hello_init: f64) -> Result<(), BoxError> {
    writeln!(out, "| target | measured | verdict |")?;
    writeln!(out, "|---|---|---|")?;
    for Subject { case, measured } in subjects {
        if let Role::Function { judge, targets } = &case.role {
            let init_vs_hello = Summary::of(&measured.init).median / hello_init;
            timing_verdicts(out, case.name, targets, measured, init_vs_hello)?;
            judge_verdicts(out, case.name, *judge, targets.first_vs_warm, measured, subjects)?;
            resource_verdicts(out, case.name, targets, measured)?;
        }
    }
    Ok(())
}

fn timing_verdicts(out: &mut String, name: &str, t: &Targets, m: &Measured, init_vs_hello: f64) -> fmt::Result {
    let first_vs_warm = Summary::of(&m.first).median / Summary::of(&m.warm).median;
    ratio_row(out, &format!("{name} init"), t.init_vs_hello, "hello", init_vs_hello)?;
    ratio_row(out, &format!("{name} first"), t.first_vs_warm, "warm", first_vs_warm)
}

fn judge_verdicts(
    out: &mut String,
    name: &str,
    judge: Judge,
    first_vs_warm: Limit,
    m: &Measured,
    subjects: &[Subject],
) -> Result<(), BoxError> {
    match judge {
        Judge::Floor { floor, warm_vs_floor } => {
            let ratio = Summary::of(&m.warm).median / Summary::of(&m.floor).median;
            ratio_row(out, &format!("{name} warm"), warm_vs_floor, &format!("({})", floor.describe()), ratio)?;
        }
        Judge::OwnTime { own_p99_ms, .. } => {
            // The same ratio without DynamoDB Local's cost of accepting
            // new connections, which the first invocation pays.
            let ratio = Summary::of(&m.first_on_stub).median / Summary::of(&m.warm_on_stub).median;
            ratio_row(out, &format!("{name} first"), first_vs_warm, "warm, against the instant stub", ratio)?;
            let own = Summary::of(&m.own);
            let measured = format!(
                "{:.3} ms (median {:.3} ms; {} of {} pairs below 0, as 0)",
                own.p99,
                own.median,
                m.own_negative,
                m.own.len()
            );
            row(out, &format!("{name} own time at p99 {own_p99_ms} ms"), &measured, own_p99_ms.is_met(own.p99))?;
        }
        Judge::Peer { peer, warm_vs_peer } => {
            let ratio = Summary::of(&m.warm).median / peer_warm(subjects, peer)?.median;
            ratio_row(out, &format!("{name} warm"), warm_vs_peer, &format!("{peer}'s warm"), ratio)?;
        }
    }
    Ok(())
}

fn resource_verdicts(out: &mut String, name: &str, t: &Targets, m: &Measured) -> fmt::Result {
    let rss = m.peak_rss_mib();
    row(out, &format!("{name} peak RSS {} MiB", t.peak_rss_mib), &format!("{rss:.1} MiB"), t.peak_rss_mib.is_met(rss))?;
    let Some(size) = artifact_mib(name) else { return Ok(()) };
    let target = format!("{name} arm64 artifact {} MiB", t.artifact_mib);
    row(out, &target, &format!("{size:.2} MiB"), t.artifact_mib.is_met(size))
}

/// Our argon2id against the C reference, alone and inside the functions
/// that hash (create-user) or verify (login): their floor with the C
/// reference's argon2 time in place of ours.
fn reference_verdicts(out: &mut String, subjects: &[Subject], a: &Alone) -> fmt::Result {
    ratio_row(
        out,
        "argon2id hash",
        Limit::AtMost(1.0),
        "the C reference's",
        a.argon2_hash.median / a.reference_hash.median,
    )?;
    let verify = a.argon2_verify.median / a.reference_verify.median;
    ratio_row(out, "argon2id verify", Limit::AtMost(1.0), "the C reference's", verify)?;
    for (name, ours, reference) in
        [("create-user", a.argon2_hash, a.reference_hash), ("login", a.argon2_verify, a.reference_verify)]
    {
        let Some(subject) = subjects.iter().find(|s| s.case.name == name) else { continue };
        let floor = Summary::of(&subject.measured.floor).median - ours.median + reference.median;
        let ratio = Summary::of(&subject.measured.warm).median / floor;
        ratio_row(
            out,
            &format!("{name} warm"),
            Limit::AtMost(1.15),
            "(its floor with the C reference's argon2)",
            ratio,
        )?;
    }
    Ok(())
}

/// A target on a ratio: "`what` ≤ 3 × `of`".
fn ratio_row(out: &mut String, what: &str, limit: Limit, of: &str, ratio: f64) -> fmt::Result {
    row(out, &format!("{what} {limit} × {of}"), &format!("{ratio:.2} ×"), limit.is_met(ratio))
}

fn row(out: &mut String, target: &str, measured: &str, met: bool) -> fmt::Result {
    writeln!(out, "| {target} | {measured} | {} |", if met { "met" } else { "NOT met" })
}
