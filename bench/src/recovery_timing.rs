//! Whether a recovery request's answer tells a known account from an
//! unknown name by its time. start-recovery is fed, in turn, the username of
//! an account with a verified address (each asked once, so that each is
//! mailed a code, through an SES stub that accepts at once) and a name no
//! account has, against DynamoDB Local. Two times per request: until the
//! answer (what the caller sees) and until the function is idle again (the
//! lookup, the code and the mail, which run after the answer).

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use secrecy::SecretString;
use user_auth_core::clock::{Clock, SystemClock};
use user_auth_core::config::vars;
use user_auth_core::domain::{CodeHasher, CodePurpose, EmailAddress, OneTimeCode, PendingCode};
use user_auth_core::operations;
use user_auth_core::passwords::Argon2id;
use user_auth_core::store::dynamodb::DynamoStore;
use user_auth_core::store::EmailStore;

use crate::cases::{Expected, UNKNOWN_NAME};
use crate::measure::{Running, Summary};
use crate::ses_stub::SesStub;
use crate::setup::{Env, CODE_HASH_KEY};
use crate::{BoxError, PASSWORD, PASSWORD_MIN_LENGTH};

/// Accounts with a verified address, made through the service's rules:
/// their usernames.
async fn verified_accounts(store: &DynamoStore, count: usize) -> Result<Vec<String>, BoxError> {
    let hasher = CodeHasher::new(&SecretString::from(CODE_HASH_KEY));
    let mut names = Vec::with_capacity(count);
    for index in 0..count {
        let name = format!("recovering-{index}");
        let user = operations::create_user(store, &Argon2id, PASSWORD_MIN_LENGTH, &name, PASSWORD.into()).await?;
        let address = EmailAddress::parse(&format!("{name}@bench.example.org"))?;
        store.set_email(&user.id, &address, None).await?;
        let now = SystemClock.now();
        let code = OneTimeCode::generate()?;
        let pending = PendingCode::new(&hasher, CodePurpose::VerifyEmail, user.id.clone(), &code, address, now);
        store.put_code(&pending).await?;
        store.verify_email(&pending, now).await?;
        names.push(name);
    }
    Ok(names)
}

fn event(username: &str) -> Result<String, BoxError> {
    let fixture =
        std::fs::read_to_string(crate::workspace().join("functions/start-recovery/fixtures/start-recovery.json"))?;
    Ok(fixture.replace("{{username}}", username))
}

/// The measurement, as a section of `bench/RESULTS.md`.
pub async fn measure(store: &DynamoStore, env: &Env, runs: usize) -> Result<String, BoxError> {
    eprintln!("recovery timing: {runs} accounts with a verified address");
    let known = verified_accounts(store, runs).await?;
    let ses = SesStub::start().await?;
    let env: Env = env
        .iter()
        .filter(|(name, _)| name != vars::AWS_ENDPOINT_URL_SESV2)
        .cloned()
        .chain([(vars::AWS_ENDPOINT_URL_SESV2.to_owned(), ses.endpoint.clone())])
        .collect();
    let (mut function, _) = Running::start("start-recovery", &env).await?;
    function.invoke_event(event(UNKNOWN_NAME)?, Expected::Status(202)).await?;
    let (mut answered, mut idle) = ([Vec::new(), Vec::new()], [Vec::new(), Vec::new()]);
    for name in &known {
        for (side, name) in [(0, name.as_str()), (1, UNKNOWN_NAME)] {
            let started = Instant::now();
            answered[side].push(function.invoke_event(event(name)?, Expected::Status(202)).await?);
            idle[side].push(started.elapsed());
        }
    }
    function.stop().await?;
    // Medians, in ms.
    let median = |samples: &[Duration]| Summary::of(samples).median;
    let (known_answer, unknown_answer) = (median(&answered[0]), median(&answered[1]));
    let ratio = known_answer / unknown_answer;
    let mut section = String::new();
    writeln!(section, "\n## Recovery: known and unknown names alike\n")?;
    writeln!(
        section,
        "start-recovery, warm, against DynamoDB Local, fed in turn the username of one of {runs} accounts with a \
         verified address (each asked once, so each is mailed a code, through an SES stub that accepts at once) \
         and a name no account has. Medians of {runs} requests each.\n"
    )?;
    writeln!(section, "| name | until the answer | until idle (the work after the answer done) |")?;
    writeln!(section, "|---|---|---|")?;
    writeln!(section, "| an account with a verified address | {:.2} ms | {:.2} ms |", known_answer, median(&idle[0]))?;
    writeln!(section, "| no account | {:.2} ms | {:.2} ms |", unknown_answer, median(&idle[1]))?;
    let verdict = if (1.0 / 1.25..=1.25).contains(&ratio) { "met" } else { "NOT met" };
    writeln!(section, "\nKnown / unknown, until the answer: **{ratio:.2}×** (target: within 1.25×, {verdict}).")?;
    Ok(section)
}
