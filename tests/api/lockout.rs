use aws_sdk_dynamodb::types::AttributeValue;
use user_auth_core::clock::Clock;
use user_auth_core::store::dynamodb::schema::login_attempts;

use crate::helpers::{ApiResponse, TestApp, PASSWORD};

/// Retry-After in seconds. A lock of n seconds ends n to n + 1 seconds after
/// the failure that set it, as the clock counts whole seconds.
fn retry_after(answer: &ApiResponse) -> u64 {
    answer.headers["retry-after"].to_str().unwrap().parse().unwrap()
}

/// Fails a login and checks the lock it leaves in DynamoDB: `seconds` from
/// the second of the failure, plus one for the rounding down of that second.
async fn fail_and_expect_lock(app: &TestApp, username: &str, seconds: u64) {
    let before = app.clock.now();
    fail(app, username).await;
    let after = app.clock.now();
    let item = app
        .client
        .get_item()
        .table_name(&app.tables.login_attempts)
        .key(login_attempts::USERNAME, AttributeValue::S(username.into()))
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
