//! Account recovery on a real DynamoDB Local and the local SES: the whole
//! way back in, read from the mail; the same answer whatever the name; the
//! account's limits silent; one code, one reset.

use std::sync::Arc;

use futures_util::future::join_all;
use serde_json::json;

use crate::helpers::{ApiResponse, TestApp, PASSWORD};
use crate::ses::LocalSes;

const NEW_PASSWORD: &str = "a brand new passphrase to remember";
const FROM: &str = "198.51.100.7";

/// Signs `username` up with `email` and verifies it from the mail; an access
/// token and a refresh token of a session.
async fn verified_user(app: &TestApp, username: &str, email: &str) -> (String, String) {
    assert_eq!(app.sign_up_with_email(username, email).await.status, 201);
    let login = app.login(username, PASSWORD).await;
    let access = login.json["access_token"].as_str().unwrap().to_owned();
    let code = app.ses().code_sent_to(email).await;
    assert_eq!(app.verify_email(&access, &code).await.status, 204);
    (access, login.json["refresh_token"].as_str().unwrap().to_owned())
}

fn accepted(answer: &ApiResponse) {
    assert_eq!(answer.status, 202, "{answer:?}");
}

#[tokio::test]
async fn a_forgotten_password_is_recovered_from_the_mail_and_every_session_ends() {
    let app = TestApp::spawn_with_mail().await;
    let (access, refresh) = verified_user(&app, "alice", "alice@example.org").await;
    let other = app.login("alice", PASSWORD).await.json["access_token"].as_str().unwrap().to_owned();

    accepted(&app.recover_from(FROM, json!({ "email": "Alice@Example.org" })).await);
    let mail = app.ses().sent_to("alice@example.org").await.pop().unwrap();
    assert!(mail.subject.contains("recovery code"), "{mail:?}");
    let code = app.ses().code_sent_to("alice@example.org").await;

    let weak =
        app.confirm_recovery(json!({ "email": "alice@example.org", "code": code, "new_password": "short" })).await;
    assert_eq!((weak.status, weak.error_code()), (400, Some("invalid_password")), "{weak:?}");
    let body = json!({ "username": "alice", "code": code, "new_password": NEW_PASSWORD });
    let reset = app.confirm_recovery(body.clone()).await;
    assert_eq!(reset.status, 204, "{reset:?}");

    // Every session is over; the old password is refused, the new one works.
    for token in [&access, &other] {
        assert_eq!(app.me(token).await.status, 401);
    }
    assert_eq!(app.refresh(&refresh).await.status, 401);
    assert_eq!(app.login("alice", PASSWORD).await.status, 401);
    assert_eq!(app.login("alice", NEW_PASSWORD).await.status, 200);
    // The code was used once; the address was told.
    let again = app.confirm_recovery(body).await;
    assert_eq!((again.status, again.error_code()), (400, Some("invalid_code")), "{again:?}");
    let told = app.ses().sent_to("alice@example.org").await.pop().unwrap();
    assert!(told.subject.contains("was reset"), "{told:?}");
    assert!(crate::ses::code_in(&told.body).is_none(), "{told:?}");
}

/// Whoever holds the mailbox of an account taken over cannot choose the
/// password that enabling it would bring back.
#[tokio::test]
async fn a_disabled_account_is_not_recovered_even_with_a_code_mailed_before() {
    let app = TestApp::spawn_with_mail().await;
    verified_user(&app, "alice", "alice@example.org").await;
    let found = crate::operator::admin_json(&app, "find --username alice").await;
    let id = found["id"].as_str().unwrap().to_owned();
    accepted(&app.recover_from(FROM, json!({ "username": "alice" })).await);
    let code = app.ses().code_sent_to("alice@example.org").await;
    crate::operator::admin_json(&app, &format!("disable {id} --reason taken-over")).await;
    let body = json!({ "username": "alice", "code": code, "new_password": NEW_PASSWORD });
    let refused = app.confirm_recovery(body).await;
    assert_eq!((refused.status, refused.error_code()), (400, Some("invalid_code")), "{refused:?}");
    let mail_before = app.ses().sent().await.len();
    app.clock.advance(61);
    accepted(&app.recover_from(FROM, json!({ "email": "alice@example.org" })).await);
    assert_eq!(app.ses().sent().await.len(), mail_before, "nothing mailed to a disabled account");
    crate::operator::admin_json(&app, &format!("enable {id}")).await;
    assert_eq!(app.login("alice", PASSWORD).await.status, 200, "the password is the owner's still");
}

#[tokio::test]
async fn known_unknown_and_unverified_names_get_byte_identical_answers() {
    let app = TestApp::spawn_with_mail().await;
    verified_user(&app, "alice", "alice@example.org").await;
    assert_eq!(app.sign_up_with_email("bob", "bob@example.org").await.status, 201);
    let mail_before = app.ses().sent().await.len();
    let answers = [
        app.recover_from(FROM, json!({ "username": "alice" })).await,
        app.recover_from(FROM, json!({ "username": "bob" })).await,
        app.recover_from(FROM, json!({ "username": "nobody" })).await,
        app.recover_from(FROM, json!({ "email": "bob@example.org" })).await,
        app.recover_from(FROM, json!({ "email": "nobody@example.org" })).await,
    ];
    for answer in &answers {
        assert_eq!((answer.status, &answer.headers, &answer.json), (202, &answers[0].headers, &answers[0].json));
    }
    // Only the account with a verified address was mailed.
    let sent = app.ses().sent().await;
    assert_eq!(sent.len(), mail_before + 1, "{sent:?}");
    assert_eq!(sent.last().unwrap().to, ["alice@example.org"]);
}

#[tokio::test]
async fn the_account_limits_are_silent() {
    let app = TestApp::spawn_with_mail().await;
    verified_user(&app, "alice", "alice@example.org").await;
    let recoveries = || async {
        app.ses().sent_to("alice@example.org").await.iter().filter(|m| m.subject.contains("recovery")).count()
    };
    accepted(&app.recover_from(FROM, json!({ "username": "alice" })).await);
    // Within the minute: the same answer, and no mail.
    accepted(&app.recover_from(FROM, json!({ "username": "alice" })).await);
    assert_eq!(recoveries().await, 1);
    // Five an hour, a minute apart.
    for _ in 0..6 {
        app.clock.advance(61);
        accepted(&app.recover_from(FROM, json!({ "username": "alice" })).await);
    }
    assert_eq!(recoveries().await, 5);
    // The next hour, again.
    app.clock.advance(3600);
    accepted(&app.recover_from(FROM, json!({ "username": "alice" })).await);
    assert_eq!(recoveries().await, 6);
    // Only the newest code passes: a new code voided the one before.
    let sent = app.ses().sent_to("alice@example.org").await;
    let codes: Vec<String> = sent.iter().filter_map(|mail| crate::ses::code_in(&mail.body)).collect();
    let (older, newest) = (&codes[codes.len() - 2], codes.last().unwrap());
    let refused =
        app.confirm_recovery(json!({ "username": "alice", "code": older, "new_password": NEW_PASSWORD })).await;
    assert_eq!(refused.error_code(), Some("invalid_code"), "{refused:?}");
    let reset =
        app.confirm_recovery(json!({ "username": "alice", "code": newest, "new_password": NEW_PASSWORD })).await;
    assert_eq!(reset.status, 204, "{reset:?}");
}

#[tokio::test]
async fn of_twenty_concurrent_confirmations_of_one_code_exactly_one_passes() {
    let app = Arc::new(TestApp::spawn_with_mail().await);
    verified_user(&app, "alice", "alice@example.org").await;
    accepted(&app.recover_from(FROM, json!({ "username": "alice" })).await);
    let code = app.ses().code_sent_to("alice@example.org").await;
    let answers = join_all((0..20).map(|i| {
        let (app, code) = (app.clone(), code.clone());
        let body = json!({ "username": "alice", "code": code, "new_password": format!("{NEW_PASSWORD} number {i}") });
        tokio::spawn(async move { app.confirm_recovery(body).await })
    }))
    .await;
    let statuses: Vec<u16> = answers.into_iter().map(|answer| answer.unwrap().status).collect();
    assert_eq!(statuses.iter().filter(|status| **status == 204).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|status| **status == 400).count(), 19, "{statuses:?}");
}

#[tokio::test]
async fn with_ses_down_recovery_still_answers_and_the_next_request_delivers() {
    let mut app = TestApp::spawn_with_mail().await;
    let (access, _) = verified_user(&app, "alice", "alice@example.org").await;
    let port = app.ses().port;
    app.ses().stop();
    accepted(&app.recover_from(FROM, json!({ "username": "alice" })).await);
    // A password change still succeeds; its notification is lost and logged.
    assert_eq!(app.change_password(&access, PASSWORD, NEW_PASSWORD).await.status, 204);

    app.ses = Some(LocalSes::start_on(port).await);
    app.clock.advance(61);
    accepted(&app.recover_from(FROM, json!({ "username": "alice" })).await);
    let code = app.ses().code_sent_to("alice@example.org").await;
    let body = json!({ "username": "alice", "code": code, "new_password": "yet another long passphrase" });
    assert_eq!(app.confirm_recovery(body).await.status, 204);
}

#[tokio::test]
async fn a_password_change_is_told_to_the_verified_address() {
    let app = TestApp::spawn_with_mail().await;
    let (access, _) = verified_user(&app, "alice", "alice@example.org").await;
    assert_eq!(app.change_password(&access, PASSWORD, NEW_PASSWORD).await.status, 204);
    let told = app.ses().sent_to("alice@example.org").await.pop().unwrap();
    assert!(told.subject.contains("password") && told.subject.contains("was changed"), "{told:?}");
    assert!(!told.body.contains(NEW_PASSWORD) && crate::ses::code_in(&told.body).is_none(), "{told:?}");
}
