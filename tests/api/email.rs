//! A verified address on a real DynamoDB Local and the local SES: the code
//! read from the mail as a person reads it, used once, by one account.

use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use futures_util::future::join_all;

use crate::helpers::{ApiResponse, TestApp, PASSWORD};

/// Signs `username` up with `email`, logs in; the user id and an access token.
async fn signed_up_with(app: &TestApp, username: &str, email: &str) -> (String, String) {
    let created = app.sign_up_with_email(username, email).await;
    assert_eq!(created.status, 201, "{created:?}");
    let login = app.login(username, PASSWORD).await;
    assert_eq!(login.status, 200, "{login:?}");
    (created.json["id"].as_str().unwrap().to_owned(), login.json["access_token"].as_str().unwrap().to_owned())
}

fn invalid_code(answer: &ApiResponse) {
    assert_eq!((answer.status, answer.error_code()), (400, Some("invalid_code")), "{answer:?}");
}

/// Every attribute of every item of the codes table, as text.
async fn stored_codes(app: &TestApp) -> Vec<String> {
    let scan = app.client.scan().table_name(&app.tables.codes).consistent_read(true).send().await.unwrap();
    scan.items().iter().flat_map(|item| item.values().map(|value| format!("{value:?}"))).collect()
}

#[tokio::test]
async fn an_address_given_at_sign_up_is_verified_with_the_code_mailed_to_it() {
    let app = TestApp::spawn_with_mail().await;
    let created = app.sign_up_with_email("alice", "  Alice@Example.ORG ").await;
    assert_eq!(created.status, 201, "{created:?}");
    assert_eq!((&created.json["email"], &created.json["email_verified"]), (&"alice@example.org".into(), &false.into()));
    let (id, token) = (created.json["id"].as_str().unwrap().to_owned(), {
        let login = app.login("alice", PASSWORD).await;
        login.json["access_token"].as_str().unwrap().to_owned()
    });

    let mail = app.ses().sent_to("alice@example.org").await;
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert!(mail[0].subject.contains("verification code"), "{mail:?}");
    let code = app.ses().code_sent_to("alice@example.org").await;
    // The table holds the code's keyed hash, never the code.
    let stored = stored_codes(&app).await;
    assert!(!stored.is_empty());
    assert!(stored.iter().all(|value| !value.contains(&code)), "{stored:?}");

    let me = app.me(&token).await;
    assert_eq!((&me.json["email"], &me.json["email_verified"]), (&"alice@example.org".into(), &false.into()));
    let wrong = if code == "00000000" { "11111111" } else { "00000000" };
    invalid_code(&app.verify_email(&token, wrong).await);
    let verified = app.verify_email(&token, &code).await;
    assert_eq!(verified.status, 204, "{verified:?}");
    let me = app.me(&token).await;
    assert_eq!((&me.json["email"], &me.json["email_verified"]), (&"alice@example.org".into(), &true.into()));
    // Used once: the code is gone.
    invalid_code(&app.verify_email(&token, &code).await);
    assert!(stored_codes(&app).await.is_empty());

    // Another user never sees the address.
    let (_, bob) = signed_up_with(&app, "bob", "bob@example.org").await;
    let alice_for_bob = app.get_user(&id, &bob).await;
    assert_eq!(alice_for_bob.status, 200);
    assert!(alice_for_bob.json.get("email").is_none(), "{alice_for_bob:?}");
    assert!(alice_for_bob.json.get("email_verified").is_none(), "{alice_for_bob:?}");
}

#[tokio::test]
async fn of_twenty_concurrent_uses_of_one_code_exactly_one_passes() {
    let app = Arc::new(TestApp::spawn_with_mail().await);
    let (_, token) = signed_up_with(&app, "alice", "alice@example.org").await;
    let code = app.ses().code_sent_to("alice@example.org").await;
    let answers = join_all((0..20).map(|_| {
        let (app, token, code) = (app.clone(), token.clone(), code.clone());
        tokio::spawn(async move { app.verify_email(&token, &code).await })
    }))
    .await;
    let statuses: Vec<u16> = answers.into_iter().map(|answer| answer.unwrap().status).collect();
    assert_eq!(statuses.iter().filter(|status| **status == 204).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|status| **status == 400).count(), 19, "{statuses:?}");
}

#[tokio::test]
async fn five_wrong_codes_void_it_and_a_new_code_voids_the_old() {
    let app = TestApp::spawn_with_mail().await;
    let (_, token) = signed_up_with(&app, "alice", "alice@example.org").await;
    let code = app.ses().code_sent_to("alice@example.org").await;
    let wrong = if code == "00000000" { "11111111" } else { "00000000" };
    for _ in 0..5 {
        invalid_code(&app.verify_email(&token, wrong).await);
    }
    invalid_code(&app.verify_email(&token, &code).await);

    // Expiry: a fresh account's code, fifteen minutes on.
    signed_up_with(&app, "carol", "carol@example.org").await;
    let code = app.ses().code_sent_to("carol@example.org").await;
    app.clock.advance(15 * 60);
    // A token of now: the first one has expired by now too.
    let (_, carol) = signed_up_with(&app, "carol2", "carol2@example.org").await;
    let login = app.login("carol", PASSWORD).await;
    let carol_now = login.json["access_token"].as_str().unwrap().to_owned();
    invalid_code(&app.verify_email(&carol_now, &code).await);
    // The code of the second account, sent now, still passes.
    let fresh = app.ses().code_sent_to("carol2@example.org").await;
    assert_eq!(app.verify_email(&carol, &fresh).await.status, 204);
}

#[tokio::test]
async fn a_verified_address_belongs_to_one_account() {
    let app = TestApp::spawn_with_mail().await;
    // Both give the address; neither has verified it, so neither holds it.
    let (_, alice) = signed_up_with(&app, "alice", "shared@example.org").await;
    let alice_code = app.ses().code_sent_to("shared@example.org").await;
    let (_, bob) = signed_up_with(&app, "bob", "shared@example.org").await;
    let bob_code = app.ses().code_sent_to("shared@example.org").await;
    assert_eq!(app.verify_email(&alice, &alice_code).await.status, 204);
    // Bob read the mailbox too, but the address is Alice's now.
    let taken = app.verify_email(&bob, &bob_code).await;
    assert_eq!((taken.status, taken.error_code()), (409, Some("email_taken")), "{taken:?}");

    // A third sign-up with it answers as any other, and the mail there says
    // it is in use instead of carrying a code.
    let before = app.ses().sent_to("shared@example.org").await.len();
    let (_, _carol) = signed_up_with(&app, "carol", "shared@example.org").await;
    let sent = app.ses().sent_to("shared@example.org").await;
    assert_eq!(sent.len(), before + 1);
    let newest = sent.last().unwrap();
    assert!(crate::ses::code_in(&newest.body).is_none(), "{newest:?}");
    assert!(newest.body.contains("already belongs to another account"), "{newest:?}");

    // Deleting Alice's account frees the address.
    assert_eq!(app.delete_user(&alice, PASSWORD).await.status, 204);
    let claims = app.client.scan().table_name(&app.tables.email_addresses).send().await.unwrap();
    assert_eq!(claims.count(), 0);
    let (_, dave) = signed_up_with(&app, "dave", "shared@example.org").await;
    let code = app.ses().code_sent_to("shared@example.org").await;
    assert_eq!(app.verify_email(&dave, &code).await.status, 204);
    let claims = app.client.scan().table_name(&app.tables.email_addresses).send().await.unwrap();
    assert_eq!(claims.items()[0].get("email"), Some(&AttributeValue::S("shared@example.org".into())));
}

#[tokio::test]
async fn a_sign_up_succeeds_while_ses_is_down() {
    let app = TestApp::spawn_with_mail().await;
    app.ses().stop();
    let created = app.sign_up_with_email("alice", "alice@example.org").await;
    assert_eq!(created.status, 201, "{created:?}");
    assert_eq!(app.login("alice", PASSWORD).await.status, 200);
}

#[tokio::test]
async fn a_malformed_address_is_refused_before_anything_is_stored() {
    let app = TestApp::spawn_with_mail().await;
    for email in ["alice", "alice@example.org, eve@example.org", "Alice <alice@example.org>"] {
        let answer = app.sign_up_with_email("alice", email).await;
        assert_eq!((answer.status, answer.error_code()), (400, Some("invalid_email")), "{email}: {answer:?}");
    }
    assert!(app.ses().sent().await.is_empty());
    assert_eq!(app.sign_up_with_email("alice", "alice@example.org").await.status, 201);
}

#[tokio::test]
async fn another_address_replaces_the_verified_one_with_the_password() {
    let app = TestApp::spawn_with_mail().await;
    let (_, alice) = signed_up_with(&app, "alice", "old@example.org").await;
    let code = app.ses().code_sent_to("old@example.org").await;
    assert_eq!(app.verify_email(&alice, &code).await.status, 204);

    // The password is asked again; a wrong one is refused and counted.
    let wrong = app.change_email(&alice, "new@example.org", "not the password at all").await;
    assert_eq!((wrong.status, wrong.error_code()), (401, Some("invalid_credentials")), "{wrong:?}");
    let attempts = app.client.scan().table_name(&app.tables.login_attempts).consistent_read(true).send().await.unwrap();
    assert!(attempts.count() > 0, "the wrong password was not counted by the lockout");
    let empty = app.change_email(&alice, "new@example.org", "").await;
    assert_eq!((empty.status, empty.error_code()), (401, Some("invalid_credentials")), "{empty:?}");

    let changed = app.change_email(&alice, "New@Example.org", PASSWORD).await;
    assert_eq!(changed.status, 202, "{changed:?}");
    assert_eq!((&changed.json["email"], &changed.json["email_verified"]), (&"new@example.org".into(), &false.into()));
    let me = app.me(&alice).await;
    assert_eq!((&me.json["email"], &me.json["email_verified"]), (&"new@example.org".into(), &false.into()));
    // The old address is told, and is no longer the account's.
    let to_old = app.ses().sent_to("old@example.org").await;
    assert!(to_old.last().unwrap().subject.contains("was changed"), "{to_old:?}");
    assert!(crate::ses::code_in(&to_old.last().unwrap().body).is_none());
    let (_, bob) = signed_up_with(&app, "bob", "old@example.org").await;
    let bob_code = app.ses().code_sent_to("old@example.org").await;
    assert_eq!(app.verify_email(&bob, &bob_code).await.status, 204);

    // The new address's code verifies it.
    let code = app.ses().code_sent_to("new@example.org").await;
    assert_eq!(app.verify_email(&alice, &code).await.status, 204);
    assert_eq!(app.me(&alice).await.json["email_verified"], true);
    // Bob cannot take it: his request is answered as any other, and the
    // mail says the address is in use.
    let taken = app.change_email(&bob, "new@example.org", PASSWORD).await;
    assert_eq!(taken.status, 202, "{taken:?}");
    let newest = app.ses().sent_to("new@example.org").await.pop().unwrap();
    assert!(newest.body.contains("already belongs to another account"), "{newest:?}");
}
