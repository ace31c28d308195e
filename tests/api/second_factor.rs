//! The second factor on a real DynamoDB Local: enrolment, the login that
//! waits for a code, `amr` in every token and through refresh and the
//! authorizer, recovery codes, step-up, and the conditional writes that let
//! one code pass once however many requests carry it.

use std::sync::Arc;

use user_auth_core::clock::Clock;

use futures_util::future::join_all;
use serde_json::{json, Value};
use user_auth_core::domain::{Client, PendingSignIn, SecondFactorToken, TotpSecret, UserId, TOTP_STEP_SECONDS};
use user_auth_core::store::dynamodb::DynamoStore;
use user_auth_core::store::SecondFactorStore;

use crate::helpers::{verify_mfa_with, ApiResponse, TestApp, PASSWORD};

/// An account with an active factor: its id, an access token of the session
/// that enrolled it, the secret as the app holds it, and the recovery codes.
struct Enrolled {
    user_id: String,
    access: String,
    secret: TotpSecret,
    recovery_codes: Vec<String>,
}

impl Enrolled {
    /// The code the app shows at the app's clock, `steps` steps on.
    fn code(&self, app: &TestApp, steps: u64) -> String {
        self.secret.code_at(app.clock.now() / TOTP_STEP_SECONDS + steps)
    }
}

/// Signs `username` up, logs in and enrols an authenticator app, then moves
/// the clock a step on, past the step the confirmation used.
async fn enrolled(app: &TestApp, username: &str) -> Enrolled {
    let (user_id, access) = app.signed_in_user(username).await;
    let enrolment = app.enrol_totp(&access, PASSWORD).await;
    assert_eq!(enrolment.status, 200, "{enrolment:?}");
    let secret = TotpSecret::from_base32(enrolment.json["secret"].as_str().unwrap()).unwrap();
    let code = secret.code_at(app.clock.now() / TOTP_STEP_SECONDS);
    let confirmed = app.confirm_totp(&access, &code).await;
    assert_eq!(confirmed.status, 200, "{confirmed:?}");
    let recovery_codes =
        confirmed.json["recovery_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect();
    app.clock.advance(TOTP_STEP_SECONDS);
    Enrolled { user_id, access, secret, recovery_codes }
}

fn mfa_token(login: &ApiResponse) -> String {
    assert_eq!(login.status, 200, "{login:?}");
    assert_eq!((&login.json["mfa_required"], &login.json["expires_in"]), (&json!(true), &json!(300)), "{login:?}");
    assert!(login.json.get("access_token").is_none() && login.json.get("refresh_token").is_none());
    login.json["mfa_token"].as_str().unwrap().to_owned()
}

fn amr(app: &TestApp, access_token: &str) -> Vec<String> {
    app.keys.verifier().verify(access_token, app.clock.now()).expect("a valid token").amr
}

fn refused(answer: &ApiResponse, status: u16, code: &str) {
    assert_eq!((answer.status, answer.error_code()), (status, Some(code)), "{answer:?}");
}

fn str_of<'a>(answer: &'a ApiResponse, field: &str) -> &'a str {
    answer.json[field].as_str().unwrap_or_else(|| panic!("no {field} in {answer:?}"))
}

#[tokio::test]
async fn enrol_sign_in_with_totp_and_a_recovery_code_step_up_and_remove() {
    let app = TestApp::spawn().await;
    let (_, access) = app.signed_in_user("alice").await;
    refused(&app.enrol_totp(&access, "not the password at all").await, 401, "invalid_credentials");
    let enrolment = app.enrol_totp(&access, PASSWORD).await;
    assert_eq!(enrolment.status, 200, "{enrolment:?}");
    let uri = str_of(&enrolment, "otpauth_uri");
    assert!(uri.starts_with("otpauth://totp/UserAuthService:alice?secret="), "{uri}");
    assert!(str_of(&enrolment, "qr_svg").starts_with("<?xml") || str_of(&enrolment, "qr_svg").contains("<svg"));
    // Pending: the profile shows no factor, and login asks for none.
    assert_eq!(app.me(&access).await.json["mfa"], json!({ "totp": false, "recovery_codes_left": 0 }));
    let secret = TotpSecret::from_base32(str_of(&enrolment, "secret")).unwrap();
    let wrong = if secret.code_at(app.clock.now() / 30) == "000000" { "111111" } else { "000000" };
    refused(&app.confirm_totp(&access, wrong).await, 401, "invalid_code");
    let confirmed = app.confirm_totp(&access, &secret.code_at(app.clock.now() / TOTP_STEP_SECONDS)).await;
    assert_eq!(confirmed.status, 200, "{confirmed:?}");
    let codes = confirmed.json["recovery_codes"].as_array().unwrap().clone();
    assert_eq!(codes.len(), 10);
    assert!(codes.iter().all(|code| code.as_str().unwrap().len() == 11), "{codes:?}");
    refused(&app.confirm_totp(&access, "123456").await, 409, "mfa_already_enabled");
    refused(&app.enrol_totp(&access, PASSWORD).await, 409, "mfa_already_enabled");
    assert_eq!(app.me(&access).await.json["mfa"], json!({ "totp": true, "recovery_codes_left": 10 }));
    let alice = Enrolled { user_id: String::new(), access, secret, recovery_codes: vec![] };

    // The code the confirmation used does not pass again, even at login.
    let token = mfa_token(&app.login("alice", PASSWORD).await);
    refused(&app.verify_mfa(&token, &alice.code(&app, 0)).await, 401, "invalid_code");
    app.clock.advance(TOTP_STEP_SECONDS);
    let signed_in = app.verify_mfa(&token, &alice.code(&app, 0)).await;
    assert_eq!(signed_in.status, 200, "{signed_in:?}");
    assert_eq!(str_of(&signed_in, "token_type"), "Bearer");
    let access = str_of(&signed_in, "access_token").to_owned();
    assert_eq!(amr(&app, &access), ["pwd", "otp"]);
    // Single use: the token is spent, and the code with it.
    refused(&app.verify_mfa(&token, &alice.code(&app, 0)).await, 401, "invalid_code");
    let again = mfa_token(&app.login("alice", PASSWORD).await);
    refused(&app.verify_mfa(&again, &alice.code(&app, 0)).await, 401, "invalid_code");
    // The methods hold through refresh, and the authorizer passes them on.
    let refreshed = app.refresh(str_of(&signed_in, "refresh_token")).await;
    assert_eq!(amr(&app, str_of(&refreshed, "access_token")), ["pwd", "otp"]);
    assert_eq!(app.authorize(&access).await.unwrap()["context"]["amr"], "pwd otp");

    // A recovery code, typed loosely, passes once and shows as "mfa".
    let code = codes[0].as_str().unwrap();
    let by_code = app.verify_mfa(&again, &code.to_lowercase().replace('-', " ")).await;
    assert_eq!(by_code.status, 200, "{by_code:?}");
    assert_eq!(amr(&app, str_of(&by_code, "access_token")), ["pwd", "mfa"]);
    assert_eq!(app.authorize(str_of(&by_code, "access_token")).await.unwrap()["context"]["amr"], "pwd mfa");
    let third = mfa_token(&app.login("alice", PASSWORD).await);
    refused(&app.verify_mfa(&third, code).await, 401, "invalid_code");
    assert_eq!(app.me(&access).await.json["mfa"]["recovery_codes_left"], 9);

    // Step-up: a code is asked for besides the password.
    let new_password = json!({ "current_password": PASSWORD, "new_password": "another long passphrase here" });
    refused(&app.change_password_body(&access, new_password.clone()).await, 403, "mfa_required");
    let mut with_wrong_code = new_password.clone();
    with_wrong_code["code"] = json!(wrong);
    refused(&app.change_password_body(&access, with_wrong_code).await, 401, "invalid_code");
    refused(&app.delete_user(&access, PASSWORD).await, 403, "mfa_required");
    refused(&app.delete_user_with_code(&access, PASSWORD, wrong).await, 401, "invalid_code");
    let email = json!({ "email": "alice@example.org", "password": PASSWORD });
    refused(&app.change_email_body(&access, email.clone()).await, 403, "mfa_required");
    let mut email_with_code = email;
    email_with_code["code"] = json!(alice.code(&app, 1));
    assert_eq!(app.change_email_body(&access, email_with_code).await.status, 202);

    // New recovery codes void the old ones.
    app.clock.advance(2 * TOTP_STEP_SECONDS);
    let renewed = app.new_recovery_codes(&access, &alice.code(&app, 0)).await;
    assert_eq!(renewed.status, 200, "{renewed:?}");
    assert_eq!(app.me(&access).await.json["mfa"]["recovery_codes_left"], 10);
    let fourth = mfa_token(&app.login("alice", PASSWORD).await);
    refused(&app.verify_mfa(&fourth, codes[1].as_str().unwrap()).await, 401, "invalid_code");

    // Removal asks for both; then login is a password again.
    refused(&app.remove_totp(&access, json!({ "password": PASSWORD })).await, 403, "mfa_required");
    let removal = json!({ "password": PASSWORD, "code": renewed.json["recovery_codes"][0] });
    assert_eq!(app.remove_totp(&access, removal).await.status, 204);
    refused(&app.remove_totp(&access, json!({ "password": PASSWORD, "code": "123456" })).await, 409, "mfa_not_enabled");
    assert_eq!(app.me(&access).await.json["mfa"], json!({ "totp": false, "recovery_codes_left": 0 }));
    let plain = app.login("alice", PASSWORD).await;
    assert_eq!(amr(&app, str_of(&plain, "access_token")), ["pwd"]);
    assert_eq!(app.delete_user(&access, PASSWORD).await.status, 204);
}

/// A password the lockout counted for the second factor's sake is its own
/// test: a token takes 5 wrong codes, then nothing, and every wrong code is
/// a failure at the name, so the right password is refused once it is locked.
#[tokio::test]
async fn a_token_takes_five_wrong_codes_and_each_counts_toward_the_lockout() {
    let app = TestApp::spawn().await;
    let bob = enrolled(&app, "bob").await;
    let token = mfa_token(&app.login("bob", PASSWORD).await);
    let right = bob.code(&app, 0);
    let wrong = if right == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        refused(&app.verify_mfa(&token, wrong).await, 401, "invalid_code");
    }
    refused(&app.verify_mfa(&token, &right).await, 401, "invalid_code");
    // The login and the wrong codes: five failures at the name lock it.
    refused(&app.login("bob", PASSWORD).await, 429, "too_many_requests");
    // Expired: a token is void after 300 seconds.
    app.clock.advance(3600);
    let late = mfa_token(&app.login("bob", PASSWORD).await);
    app.clock.advance(301);
    refused(&app.verify_mfa(&late, &bob.code(&app, 0)).await, 401, "invalid_code");
    // Malformed or forged tokens are the same refusal.
    for forged in ["", "garbage", &format!("{}.{}", bob.user_id, "A".repeat(43))] {
        refused(&app.verify_mfa(forged, &bob.code(&app, 0)).await, 401, "invalid_code");
    }
}

/// Logins waiting for the factor, stored as login stores them.
async fn pending_sign_ins(app: &TestApp, user_id: &str, count: usize) -> Vec<String> {
    let store = DynamoStore::new(app.client.clone(), app.tables.clone());
    let user_id = UserId::parse(user_id).unwrap();
    let mut tokens = Vec::new();
    for _ in 0..count {
        let token = SecondFactorToken::new(user_id.clone()).unwrap();
        let pending = PendingSignIn::new(&token, 0, Client::default(), app.clock.now());
        store.put_pending_sign_in(&pending).await.unwrap();
        tokens.push(token.encode());
    }
    tokens
}

async fn concurrently(app: &Arc<TestApp>, tokens: Vec<String>, code: &str) -> Vec<u16> {
    let tasks = tokens.into_iter().map(|token| {
        let (app, code) = (app.clone(), code.to_owned());
        tokio::spawn(async move { verify_mfa_with(&app.verify_mfa, &token, &code).await.status })
    });
    join_all(tasks).await.into_iter().map(|status| status.unwrap()).collect()
}

#[tokio::test]
async fn of_twenty_logins_with_one_totp_code_one_passes() {
    let app = Arc::new(TestApp::spawn().await);
    let carol = enrolled(&app, "carol").await;
    let tokens = pending_sign_ins(&app, &carol.user_id, 20).await;
    let statuses = concurrently(&app, tokens, &carol.code(&app, 0)).await;
    assert_eq!(statuses.iter().filter(|status| **status == 200).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|status| [200, 401].contains(status)), "{statuses:?}");
}

#[tokio::test]
async fn of_twenty_logins_with_one_recovery_code_one_passes() {
    let app = Arc::new(TestApp::spawn().await);
    let dave = enrolled(&app, "dave").await;
    let tokens = pending_sign_ins(&app, &dave.user_id, 20).await;
    let statuses = concurrently(&app, tokens, &dave.recovery_codes[3]).await;
    assert_eq!(statuses.iter().filter(|status| **status == 200).count(), 1, "{statuses:?}");
    assert_eq!(app.me(&dave.access).await.json["mfa"]["recovery_codes_left"], 9);
}

/// A password change voids the logins waiting for their code: they were
/// made with the old password.
#[tokio::test]
async fn a_password_change_voids_a_login_waiting_for_its_code() {
    let app = TestApp::spawn().await;
    let erin = enrolled(&app, "erin").await;
    let token = mfa_token(&app.login("erin", PASSWORD).await);
    let new_password = "another long passphrase here";
    let used = erin.code(&app, 0);
    let change = json!({ "current_password": PASSWORD, "new_password": new_password, "code": used });
    assert_eq!(app.change_password_body(&erin.access, change).await.status, 204);
    // A step-up code is spent like any other: it does not pass twice.
    let back: Value = json!({ "current_password": new_password, "new_password": PASSWORD, "code": used });
    refused(&app.change_password_body(&erin.access, back).await, 401, "invalid_code");
    app.clock.advance(TOTP_STEP_SECONDS);
    refused(&app.verify_mfa(&token, &erin.code(&app, 0)).await, 401, "invalid_code");
    let fresh = mfa_token(&app.login("erin", new_password).await);
    assert_eq!(app.verify_mfa(&fresh, &erin.code(&app, 0)).await.status, 200);
}

/// Recovery by mail sets a new password and leaves the factor: a login with
/// the new password still waits for a code. The address is told of every
/// change of the factor.
#[tokio::test]
async fn recovery_resets_the_password_not_the_factor_and_changes_are_mailed() {
    let app = TestApp::spawn_with_mail().await;
    assert_eq!(app.sign_up_with_email("fay", "fay@example.org").await.status, 201);
    let login = app.login("fay", PASSWORD).await;
    let access = str_of(&login, "access_token").to_owned();
    let code = app.ses().code_sent_to("fay@example.org").await;
    assert_eq!(app.verify_email(&access, &code).await.status, 204);
    let enrolment = app.enrol_totp(&access, PASSWORD).await;
    let secret = TotpSecret::from_base32(str_of(&enrolment, "secret")).unwrap();
    let confirmed = app.confirm_totp(&access, &secret.code_at(app.clock.now() / TOTP_STEP_SECONDS)).await;
    assert_eq!(confirmed.status, 200, "{confirmed:?}");
    let told = app.ses().sent_to("fay@example.org").await.pop().unwrap();
    assert!(told.subject.contains("second factor was added"), "{told:?}");
    assert!(!told.body.contains(str_of(&enrolment, "secret")), "the secret was mailed");

    assert_eq!(app.recover_from("198.51.100.7", json!({ "username": "fay" })).await.status, 202);
    let recovery = app.ses().code_sent_to("fay@example.org").await;
    let new_password = "a brand new passphrase to remember";
    let reset = json!({ "username": "fay", "code": recovery, "new_password": new_password });
    assert_eq!(app.confirm_recovery(reset).await.status, 204);
    let token = mfa_token(&app.login("fay", new_password).await);
    app.clock.advance(TOTP_STEP_SECONDS);
    let signed_in = app.verify_mfa(&token, &secret.code_at(app.clock.now() / TOTP_STEP_SECONDS)).await;
    assert_eq!(signed_in.status, 200, "{signed_in:?}");
    let access = str_of(&signed_in, "access_token").to_owned();

    let recovery_code = confirmed.json["recovery_codes"][0].as_str().unwrap();
    let renewed = app.new_recovery_codes(&access, recovery_code).await;
    assert_eq!(renewed.status, 200, "{renewed:?}");
    let told = app.ses().sent_to("fay@example.org").await.pop().unwrap();
    assert!(told.subject.contains("New recovery codes"), "{told:?}");
    let removal = json!({ "password": new_password, "code": renewed.json["recovery_codes"][0] });
    assert_eq!(app.remove_totp(&access, removal).await.status, 204);
    let told = app.ses().sent_to("fay@example.org").await.pop().unwrap();
    assert!(told.subject.contains("second factor was removed"), "{told:?}");
}
