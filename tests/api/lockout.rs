use aws_sdk_dynamodb::types::AttributeValue;
use user_auth_core::clock::Clock;
use user_auth_core::config::vars;
use user_auth_core::lockout;
use user_auth_core::operations::SIGN_UP_WINDOW_SECONDS;
use user_auth_core::store::dynamodb::schema::login_attempts;

use crate::helpers::{attempts_name, ApiResponse, TestApp, PASSWORD};

/// Retry-After in seconds. A lock of n seconds ends n to n + 1 seconds after
/// the failure that set it, as the clock counts whole seconds.
fn retry_after(answer: &ApiResponse) -> u64 {
    answer.headers["retry-after"].to_str().unwrap().parse().unwrap()
}

/// Fails a login (from no address: the helpers' requests carry none) and
/// checks the lock it leaves in DynamoDB: `seconds` from the second of the
/// failure, plus one for the rounding down of that second.
async fn fail_and_expect_lock(app: &TestApp, username: &str, seconds: u64) {
    let before = app.clock.now();
    fail(app, username).await;
    let after = app.clock.now();
    let item = app
        .client
        .get_item()
        .table_name(&app.tables.login_attempts)
        .key(login_attempts::USERNAME, AttributeValue::S(format!("{}#", attempts_name(username))))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .expect("a failure leaves a record");
    let locked_until: u64 = item[login_attempts::LOCKED_UNTIL].as_n().unwrap().parse().unwrap();
    let set_at = locked_until - seconds - 1;
    assert!((before..=after).contains(&set_at), "locked until {locked_until}, failed in {before}..={after}");
}

async fn fail(app: &TestApp, username: &str) {
    let answer = app.login(username, "not the password at all").await;
    assert_eq!((answer.status, answer.error_code()), (401, Some("invalid_credentials")), "{answer:?}");
}

#[tokio::test]
async fn known_and_unknown_usernames_lock_alike_and_locked_logins_run_no_argon2() {
    let app = TestApp::spawn().await;
    app.sign_up("grace", PASSWORD).await;
    let mut answers = Vec::new();
    for name in ["grace", "nobody-at-all"] {
        for _ in 0..5 {
            fail(&app, name).await;
        }
        let before = app.passwords.verifications();
        let locked = app.login(name, PASSWORD).await;
        assert_eq!(app.passwords.verifications(), before, "a locked login ran argon2");
        assert_eq!((locked.status, locked.error_code()), (429, Some("too_many_requests")), "{name}");
        assert!((1..=2).contains(&retry_after(&locked)), "{locked:?}");
        // The same answer but for the seconds left, which depend on timing.
        let without_digits = |text: &str| text.replace(|c: char| c.is_ascii_digit(), "#");
        answers.push(without_digits(&locked.json.to_string()));
    }
    assert_eq!(answers[0], answers[1], "the lock tells whether a user exists");
}

#[tokio::test]
async fn the_lock_doubles_and_a_success_resets_the_count() {
    let app = TestApp::spawn().await;
    app.sign_up("heidi", PASSWORD).await;
    for _ in 0..4 {
        fail(&app, "heidi").await;
    }
    fail_and_expect_lock(&app, "heidi", 1).await; // the fifth failure: 1 s
    assert!((1..=2).contains(&retry_after(&app.login("heidi", PASSWORD).await)));
    app.clock.advance(2);
    fail_and_expect_lock(&app, "heidi", 2).await; // the sixth failure: 2 s
    let locked = app.login("heidi", PASSWORD).await;
    assert_eq!(locked.status, 429);
    assert!((2..=3).contains(&retry_after(&locked)), "{locked:?}");
    app.clock.advance(3);

    let success = app.login("heidi", PASSWORD).await;
    assert_eq!(success.status, 200, "{success:?}");
    // Counting starts again from zero: four failures do not lock.
    for _ in 0..4 {
        fail(&app, "heidi").await;
    }
    assert_eq!(app.login("heidi", PASSWORD).await.status, 200);
}

const CONCURRENT_GUESSES: usize = 50;

/// Guesses sent at once cannot pass a check that has not counted them yet:
/// each is claimed before argon2, and of claims from one reading one wins.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_wrong_guesses_run_argon2_at_most_six_times() {
    let app = std::sync::Arc::new(TestApp::spawn().await);
    app.sign_up("ivy", PASSWORD).await;
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(CONCURRENT_GUESSES));
    let guesses: Vec<_> = (0..CONCURRENT_GUESSES)
        .map(|_| {
            let (app, barrier) = (app.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                app.login_from("198.51.100.20", "ivy", "not the password at all").await
            })
        })
        .collect();
    let mut refused = 0;
    for guess in guesses {
        let answer = guess.await.unwrap();
        match answer.status {
            401 => {}
            429 => refused += 1,
            other => panic!("answer {other}: {answer:?}"),
        }
    }
    let runs = app.passwords.verifications();
    eprintln!("{CONCURRENT_GUESSES} concurrent wrong guesses: {runs} argon2 runs, {refused} refused with 429");
    assert!((1..=lockout::FREE_FAILURES + 1).contains(&runs), "{runs} argon2 runs");
    assert_eq!(runs + refused, CONCURRENT_GUESSES as u64);
    // Only the guesses that were checked count against the name: a burst from
    // one address cannot close it to everyone else.
    let name = app
        .client
        .get_item()
        .table_name(&app.tables.login_attempts)
        .key(login_attempts::USERNAME, AttributeValue::S(attempts_name("ivy")))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .expect("the name's count");
    let counted: u64 = name[login_attempts::FAILURES].as_n().unwrap().parse().unwrap();
    assert_eq!(counted, runs, "the name counted guesses that were refused");
}

/// The window slides: four failures spread over more than 15 minutes, then a
/// fifth, still lock (a window fixed at the first failure would have
/// forgotten them).
#[tokio::test]
async fn the_window_slides_with_every_failure() {
    let app = TestApp::spawn().await;
    app.sign_up("jade", PASSWORD).await;
    for gap in [0, 300, 300, 250, 150] {
        app.clock.advance(gap);
        fail(&app, "jade").await;
    }
    let locked = app.login("jade", PASSWORD).await;
    assert_eq!((locked.status, locked.error_code()), (429, Some("too_many_requests")), "{locked:?}");
}

/// NIST SP 800-63B-4 3.2.2: an attacker spread over many addresses gets at
/// most 100 guesses between two successes; and cannot lock the owner out of
/// an address the owner has logged in from.
#[tokio::test]
async fn many_addresses_get_a_hundred_guesses_and_the_owner_keeps_a_known_address() {
    let app = TestApp::spawn().await;
    app.sign_up("kate", PASSWORD).await;
    let owner = "192.0.2.7";
    assert_eq!(app.login_from(owner, "kate", PASSWORD).await.status, 200);

    let mut guessed = 0;
    for i in 0..130 {
        let address = format!("203.0.113.{}", i % 250);
        let answer = app.login_from(&address, "kate", "not the password at all").await;
        match answer.status {
            401 => guessed += 1,
            429 => {}
            other => panic!("answer {other}: {answer:?}"),
        }
        app.clock.advance(1);
    }
    assert_eq!(guessed, lockout::MAX_CONSECUTIVE_FAILURES, "guesses between two successes");
    let elsewhere = app.login_from("198.51.100.77", "kate", PASSWORD).await;
    assert_eq!(elsewhere.status, 429, "a new address while the name is closed: {elsewhere:?}");

    // The owner's known address is let through, and its success reopens the name.
    assert_eq!(app.login_from(owner, "kate", PASSWORD).await.status, 200);
    assert_eq!(app.login_from("198.51.100.77", "kate", PASSWORD).await.status, 200);
}

/// Five wrong guesses from elsewhere, over and over, lock only their own
/// address: the owner logs in from a known one all along.
#[tokio::test]
async fn an_attacker_elsewhere_cannot_lock_the_owner_out() {
    let app = TestApp::spawn().await;
    app.sign_up("lily", PASSWORD).await;
    let owner = "192.0.2.8";
    assert_eq!(app.login_from(owner, "lily", PASSWORD).await.status, 200);
    for _ in 0..4 {
        for _ in 0..6 {
            app.login_from("203.0.113.66", "lily", "not the password at all").await;
        }
        let attacker = app.login_from("203.0.113.66", "lily", PASSWORD).await;
        assert_eq!(attacker.status, 429, "{attacker:?}");
        assert_eq!(app.login_from(owner, "lily", PASSWORD).await.status, 200);
        app.clock.advance(15 * 60);
    }
}

/// Each sign-up costs an argon2 hash and a transaction: one address gets a
/// few an hour, and then 429 until the hour is over.
#[tokio::test]
async fn sign_ups_from_one_address_are_limited_per_hour() {
    let app = TestApp::spawn().await;
    let function = app.fresh_create_user(&[(vars::SIGN_UPS_PER_ADDRESS_PER_HOUR, "3")]).await;
    let hour = SIGN_UP_WINDOW_SECONDS;
    let into_hour = app.clock.now() % hour;
    for i in 0..3 {
        assert_eq!(app.sign_up_from(&function, "198.51.100.5", &format!("mass-{i}")).await.status, 201);
    }
    let refused = app.sign_up_from(&function, "198.51.100.5", "mass-3").await;
    assert_eq!((refused.status, refused.error_code()), (429, Some("too_many_requests")), "{refused:?}");
    assert_eq!(retry_after(&refused), hour - into_hour);
    assert_eq!(app.sign_up_from(&function, "198.51.100.6", "mass-3").await.status, 201, "another address");
    app.clock.advance(hour - into_hour);
    assert_eq!(app.sign_up_from(&function, "198.51.100.5", "mass-4").await.status, 201, "the next hour");
}

/// The table keeps no username as typed, nor a password typed into the name
/// field: every item is keyed by the name's keyed hash, whose start is the
/// logs' pseudonym of the name.
#[tokio::test]
async fn the_login_attempts_table_holds_no_username_as_typed() {
    let app = TestApp::spawn().await;
    app.signed_in_user("olga").await;
    let typed = ["olga", "my-secret-passphrase", "nobody-here"];
    for name in typed {
        assert_eq!(app.login_from("198.51.100.7", name, "not the password at all").await.status, 401);
    }
    let scan = app.client.scan().table_name(&app.tables.login_attempts).consistent_read(true).send().await.unwrap();
    let items = format!("{:?}", scan.items());
    assert!(scan.count >= 6, "each name and its address counted: {items}");
    for name in typed {
        assert!(!items.contains(name), "{name} is stored as typed: {items}");
        let key = attempts_name(name);
        assert!(items.contains(&key), "{name}'s keyed hash is not the key");
        assert_eq!(user_auth_core::telemetry::username_pseudonym(name), key[..16], "the logs' pseudonym");
    }
}
