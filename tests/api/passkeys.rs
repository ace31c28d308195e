//! Passkeys on DynamoDB Local, through the functions as they are built:
//! registered, listed, signing in alone (the authorizer seeing `hwk user`),
//! a ceremony answered by 20 requests at once passing once, and an account's
//! deletion taking its passkeys. The browser is webauthn-rs's software
//! authenticator; the hosted pages' test drives a real browser's.

use serde_json::{json, Value};
use user_auth_core::test_support::{TestAuthenticator, TEST_ORIGIN};

use crate::helpers::{TestApp, PASSWORD};

/// Signs `username` up and in: its access token.
async fn signed_in(app: &TestApp, username: &str) -> String {
    assert_eq!(app.sign_up(username, PASSWORD).await.status, 201);
    app.login(username, PASSWORD).await.json["access_token"].as_str().unwrap().to_owned()
}

/// Registers a passkey of the token's user on `authenticator`: its view.
async fn register(app: &TestApp, token: &str, authenticator: &mut TestAuthenticator, name: &str) -> Value {
    let options = app.passkey_options(token).await;
    assert_eq!(options.status, 200, "{options:?}");
    let credential = authenticator.register(&options.json).unwrap();
    let registered = app.register_passkey(token, name, credential).await;
    assert_eq!(registered.status, 201, "{registered:?}");
    registered.json
}

/// A sign-in with `authenticator`'s passkey: the answer to the assertion.
async fn sign_in(app: &TestApp, authenticator: &mut TestAuthenticator) -> crate::helpers::ApiResponse {
    let started = app.passkey_sign_in_options().await;
    assert_eq!(started.status, 200, "{started:?}");
    assert_eq!(started.json["options"]["mediation"], "conditional");
    let credential = authenticator.sign_in(&started.json["options"]).unwrap();
    app.passkey_login(started.json["ceremony"].as_str().unwrap(), credential).await
}

#[tokio::test]
async fn a_passkey_is_registered_listed_and_signs_in_alone() {
    let app = TestApp::spawn().await;
    let token = signed_in(&app, "alice").await;
    let mut laptop = TestAuthenticator::new(TEST_ORIGIN);
    let passkey = register(&app, &token, &mut laptop, "Laptop").await;
    assert_eq!(passkey["name"], "Laptop");
    assert!(passkey["last_used_at"].is_null());
    let signed_in = sign_in(&app, &mut laptop).await;
    assert_eq!(signed_in.status, 200, "{signed_in:?}");
    let access = signed_in.json["access_token"].as_str().unwrap();
    // Its session is one like any other: the authorizer lets it in and names how.
    let allowed = app.authorize(access).await.unwrap();
    assert_eq!(allowed["isAuthorized"], true, "{allowed}");
    assert_eq!(allowed["context"]["amr"], "hwk user", "{allowed}");
    let sessions = app.list_sessions(access).await;
    assert_eq!(sessions.json["sessions"].as_array().unwrap().len(), 2, "{sessions:?}");
    // Refreshed like any other.
    let refreshed = app.refresh(signed_in.json["refresh_token"].as_str().unwrap()).await;
    assert_eq!(refreshed.status, 200, "{refreshed:?}");
    let listed = app.list_passkeys(&token).await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.json["passkeys"][0]["id"], passkey["id"]);
    assert!(listed.json["passkeys"][0]["last_used_at"].is_string(), "{listed:?}");
    assert!(listed.json["passkeys"][0].get("credential").is_none(), "never the key");
    // Removed with the password; a wrong one is refused and counted.
    let id = passkey["id"].as_str().unwrap();
    let wrong = app.remove_passkey(&token, id, json!({ "password": "not the password at all" })).await;
    assert_eq!((wrong.status, wrong.error_code()), (401, Some("invalid_credentials")));
    assert_eq!(app.remove_passkey(&token, id, json!({ "password": PASSWORD })).await.status, 204);
    let refused = sign_in(&app, &mut laptop).await;
    assert_eq!((refused.status, refused.error_code()), (401, Some("invalid_credentials")));
}

#[tokio::test]
async fn twenty_answers_to_one_ceremony_sign_in_once() {
    let app = TestApp::spawn().await;
    let token = signed_in(&app, "alice").await;
    let mut laptop = TestAuthenticator::new(TEST_ORIGIN);
    register(&app, &token, &mut laptop, "Laptop").await;
    let started = app.passkey_sign_in_options().await;
    let credential = laptop.sign_in(&started.json["options"]).unwrap();
    let ceremony = started.json["ceremony"].as_str().unwrap();
    let answers =
        futures_util::future::join_all((0..20).map(|_| app.passkey_login(ceremony, credential.clone()))).await;
    let statuses: Vec<u16> = answers.iter().map(|answer| answer.status).collect();
    assert_eq!(statuses.iter().filter(|status| **status == 200).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|status| [200, 401].contains(status)), "{statuses:?}");
}

#[tokio::test]
async fn a_deleted_account_takes_its_passkeys_and_signs_nothing_in() {
    let app = TestApp::spawn().await;
    let token = signed_in(&app, "alice").await;
    let mut laptop = TestAuthenticator::new(TEST_ORIGIN);
    register(&app, &token, &mut laptop, "Laptop").await;
    assert_eq!(app.delete_user(&token, PASSWORD).await.status, 204);
    let refused = sign_in(&app, &mut laptop).await;
    assert_eq!((refused.status, refused.error_code()), (401, Some("invalid_credentials")));
    let left = app.client.scan().table_name(&app.tables.passkeys).send().await.unwrap();
    assert_eq!(left.count(), 0, "no passkey is left of the account");
    // Signed up again under the same name: a new user, none of the old passkeys.
    let token = signed_in(&app, "alice").await;
    assert_eq!(app.list_passkeys(&token).await.json["passkeys"], json!([]));
}

#[tokio::test]
async fn a_registration_answered_late_or_twice_is_refused() {
    let app = TestApp::spawn().await;
    let token = signed_in(&app, "alice").await;
    let mut laptop = TestAuthenticator::new(TEST_ORIGIN);
    let options = app.passkey_options(&token).await;
    let credential = laptop.register(&options.json).unwrap();
    app.clock.advance(301);
    let late = app.register_passkey(&token, "Laptop", credential).await;
    assert_eq!((late.status, late.error_code()), (400, Some("invalid_passkey")));
    let options = app.passkey_options(&token).await;
    let credential = laptop.register(&options.json).unwrap();
    assert_eq!(app.register_passkey(&token, "Laptop", credential.clone()).await.status, 201);
    let twice = app.register_passkey(&token, "Laptop", credential).await;
    assert_eq!((twice.status, twice.error_code()), (400, Some("invalid_passkey")));
}
