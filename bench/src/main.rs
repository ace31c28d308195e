//! Benchmark of the functions as Lambda runs them: each release binary
//! is started under a local Lambda Runtime API ([`runtime_api`]) and fed API
//! Gateway v2 events, against DynamoDB Local. Measures init, first and warm
//! invocations, peak RSS and the arm64 artifact size, next to two floors: a
//! minimal `lambda_runtime` "hello" and argon2id alone. Writes a Markdown
//! table to `bench/RESULTS.md` and prints it.
//!
//! Noise on a shared machine is handled by interleaving: cold starts go round
//! the functions in turn, and the floor of a function running argon2id
//! (sign-up, login, password change, account deletion) is measured between
//! its own warm invocations, so slow spells hit both sides alike. The
//! time get-user, logout, list-sessions and revoke-session spend beyond
//! DynamoDB is measured against an instant stub ([`dynamodb_stub`]), as
//! DynamoDB Local's jitter is larger than the figure itself. refresh is set
//! against get-user's warm time.
//!
//! Every access token belongs to a session in DynamoDB Local, and to a user
//! there, as the functions check; a function that ends a session or spends a
//! refresh token gets a session of its own per event, and delete-user a user
//! of its own per event ([`setup::Sessions`]). The floors that check a
//! password act on accounts of their own ([`floors::FloorAccounts`]).
//!
//! - [`cases`]: what runs, with which events, judged against what, and each
//!   function's targets; hello is the reference by its role.
//! - [`floors`]: the work an argon2 function's warm invocation cannot avoid,
//!   done by the harness.
//! - [`measure`]: the binaries under the Runtime API, the measuring phases,
//!   peak RSS, median and p99.
//! - [`report`]: the Markdown, with the verdicts read from the targets.
//! - [`database`]: DynamoDB Local and the harness's own DynamoDB calls.
//! - [`setup`]: the signing key, the users, the sessions, the accounts and
//!   the functions' environment.
//! - [`round_trips`]: the proxy that counts a warm invocation's sequential
//!   round trips to DynamoDB.
//! - [`runtime_api`], [`dynamodb_stub`] and [`http1`]: the local servers.
//! - [`recovery_timing`]: a recovery request's answer for a known account
//!   and an unknown name, side by side, with [`ses_stub`] taking the mail.
//! - [`tls_mode`]: `--tls`, DynamoDB over TLS at Lambda's CPU shares, with
//!   [`tls`] (the test CA and the terminator), [`cpu_share`] (the cgroups)
//!   and [`secrets_stub`] (the signing key, as login and refresh read it
//!   deployed).
//! - [`arm64`]: not a benchmark, the smoke test of the arm64 artifacts
//!   under emulation (`--arm64 <dir>`, run by `scripts/test`).
//!
//! Run it with `scripts/bench`, which builds what it needs first.

mod arm64;
mod cases;
mod cpu_share;
mod database;
mod dynamodb_stub;
mod floors;
mod http1;
mod measure;
mod recovery_timing;
mod report;
mod round_trips;
mod runtime_api;
mod secrets_stub;
mod ses_stub;
mod setup;
mod tls;
mod tls_mode;

use std::path::{Path, PathBuf};

use cases::Events;
use dynamodb_stub::DynamoStub;
use floors::FloorAccounts;
use measure::{Harness, Settings, Subject};
use setup::{Fixture, Sessions};
use user_auth_core::sdk_settings::SdkSettings;
use user_auth_core::store::dynamodb;
use user_auth_core::store::dynamodb::DynamoStore;

pub(crate) use user_auth_core::BoxError;

/// The benchmark users' password, also hashed and verified by the floors.
const PASSWORD: &str = "correct horse battery staple";
const PASSWORD_MIN_LENGTH: usize = user_auth_core::config::DEFAULT_PASSWORD_MIN_LENGTH;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().collect();
    // `--tls`: DynamoDB over TLS at Lambda's CPU shares (tls_mode.rs).
    if args.iter().any(|a| a == "--tls") {
        return tls_mode::run(args.iter().any(|a| a == "--quick")).await;
    }
    // `--arm64 <dir>`: the artifacts' smoke test (arm64.rs), not a benchmark.
    let arm64_dir = args.iter().position(|a| a == "--arm64").map(|at| args.get(at + 1).map(PathBuf::from));
    let arm64_dir = match arm64_dir {
        Some(None) => return Err("usage: bench --arm64 <dir of the artifacts, one per binary name>".into()),
        Some(Some(dir)) => Some(dir),
        None => None,
    };
    let settings = match (arm64_dir.is_some(), args.iter().any(|a| a == "--quick")) {
        (true, _) => Settings::SMOKE,
        (false, true) => Settings::QUICK,
        (false, false) => Settings::FULL,
    };
    let Fixture { db, tables, scratch, keys, user, stored } = Fixture::start("user-auth-bench").await?;
    let env = setup::function_env(&db.endpoint, &keys);
    eprintln!(
        "starting {} sessions for each function that ends or renews one, and {} accounts for delete-user",
        settings.most_events(),
        settings.argon2_events()
    );
    let sessions = Sessions::create(&db.client, &tables, &user.id, &stored, &settings).await?;
    let mut floor_accounts = FloorAccounts::create(&db.client, &tables, &stored, &settings).await?;
    let (caller, lister) = (sessions.reader.clone(), sessions.lister.user_id.clone());

    let events = Events::load(&user.id)?;
    if let Some(dir) = arm64_dir {
        let cases = cases::all(&events, &keys.issuer, sessions, &settings);
        let result = arm64::serve_and_refuse(&dir, cases, &events, &env).await;
        db.stop();
        let _ = std::fs::remove_dir_all(&scratch);
        return result;
    }
    let mut subjects: Vec<Subject> =
        cases::all(&events, &keys.issuer, sessions, &settings).into_iter().map(Subject::new).collect();
    let harness = Harness { settings, db: &db.client, tables: &tables, stored: &stored, caller: &caller };
    measure::cold_starts(&mut subjects, &harness, &env).await?;
    measure::warm_invocations(&mut subjects, &harness, &env, &mut floor_accounts).await?;
    let meter = round_trips::RoundTripMeter::start(db.endpoint.trim_start_matches("http://")).await?;
    measure::round_trips(&mut subjects, &setup::with_endpoint(&env, &meter.endpoint), &meter).await?;

    // The time beyond DynamoDB, against a stub that answers at once.
    let user_item = database::user_item(&db.client, &tables, &user.id).await?;
    let stub = DynamoStub::start(&tables, &user_item, &database::session_items(&db.client, &tables, &lister).await?)?;
    let stub_client = dynamodb::client(&SdkSettings::local(&stub.endpoint));
    let stub_env = setup::with_endpoint(&env, &stub.endpoint);
    let stub_store = DynamoStore::new(stub_client.clone(), tables.clone());
    measure::against_stub(&mut subjects, &harness, &stub_env, &stub_store).await?;
    let alone = measure::components_alone(&harness, &stub_client).await?;

    let mut report = report::render(&subjects, &settings, &alone)?;
    let store = DynamoStore::new(db.client.clone(), tables.clone());
    // At most 200 accounts: each costs an argon2 hash.
    report.push_str(&recovery_timing::measure(&store, &env, settings.warm_runs.min(200)).await?);
    let path = workspace().join("bench/RESULTS.md");
    let existing = std::fs::read_to_string(&path).unwrap_or_default();
    std::fs::write(&path, report::with_tls_section(&existing, &report))?;
    println!("{report}");
    db.stop();
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}
