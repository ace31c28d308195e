use aws_sdk_dynamodb::types::AttributeValue;
use user_auth_core::clock::Clock;
use user_auth_core::store::dynamodb::schema::sessions;

use crate::helpers::{get_user_with, TestApp, PASSWORD};

#[tokio::test]
async fn sign_up_duplicate_login_get_logout_then_refused() {
    let app = TestApp::spawn().await;

    let created = app.sign_up("Alice", PASSWORD).await;
    assert_eq!(created.status, 201, "{created:?}");
    let id = created.json["id"].as_str().unwrap().to_owned();
    assert_eq!(created.json["username"], "alice");
    assert_eq!(created.headers["location"], format!("/users/{id}").as_str());

    let duplicate = app.sign_up("alice", "another long password").await;
    assert_eq!((duplicate.status, duplicate.error_code()), (409, Some("username_taken")));

    // Strongly consistent: the login right after sign-up succeeds.
    let login = app.login("ALICE", PASSWORD).await;
    assert_eq!(login.status, 200, "{login:?}");
    assert_eq!(login.json["token_type"], "Bearer");
    assert_eq!(login.json["expires_in"], 900);
    let token = login.json["access_token"].as_str().unwrap().to_owned();

    // The public profile: what the sign-up answered but the address and
    // second-factor fields, which only `/users/me` shows.
    let fetched = app.get_user(&id, &token).await;
    assert_eq!(fetched.status, 200, "{fetched:?}");
    let mut public = created.json.clone();
    public.as_object_mut().unwrap().retain(|field, _| !field.starts_with("email") && field != "mfa");
    assert_eq!(fetched.json, public);

    let logout = app.logout(&token).await;
    assert_eq!((logout.status, &logout.json), (204, &serde_json::Value::Null));

    let after = app.get_user(&id, &token).await;
    assert_eq!((after.status, after.error_code()), (401, Some("invalid_token")));
    assert!(after.headers.contains_key("www-authenticate"));
    // A freshly started get-user instance refuses it too: sessions are in DynamoDB.
    let fresh = get_user_with(&app.fresh_get_user().await, &id, &token).await;
    assert_eq!(fresh.status, 401);
    assert_eq!(app.logout(&token).await.status, 401);

    // Logout ended the session: its item is gone from the table.
    let claims = app.keys.verifier().verify(&token, app.clock.now()).unwrap();
    let key = [(sessions::USER_ID, claims.sub.clone()), (sessions::SID, claims.sid.clone())];
    let item = app
        .client
        .get_item()
        .table_name(&app.tables.sessions)
        .set_key(Some(key.into_iter().map(|(name, value)| (name.to_owned(), AttributeValue::S(value))).collect()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item;
    assert!(item.is_none(), "{item:?}");

    // Another login still works and gives a different, valid token.
    let again = app.login("alice", PASSWORD).await;
    let new_token = again.json["access_token"].as_str().unwrap();
    assert_ne!(new_token, token);
    assert_eq!(app.get_user(&id, new_token).await.status, 200);
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_answer() {
    let app = TestApp::spawn().await;
    let (id, token) = app.signed_in_user("bob").await;

    let wrong = app.login("bob", "not the right password").await;
    let unknown = app.login("nobody-here", PASSWORD).await;
    assert_eq!((wrong.status, wrong.error_code()), (401, Some("invalid_credentials")));
    assert_eq!(wrong.status, unknown.status);
    assert_eq!(wrong.json, unknown.json);

    let missing = app.get_user("00000000-0000-4000-8000-000000000000", &token).await;
    assert_eq!((missing.status, missing.error_code()), (404, Some("not_found")));
    assert_eq!(app.get_user(&id, "not-a-token").await.status, 401);
}

#[tokio::test]
async fn nothing_is_stored_for_a_refused_sign_up() {
    let app = TestApp::spawn().await;
    let refused = app.sign_up("carol", "short").await;
    assert_eq!((refused.status, refused.error_code()), (400, Some("invalid_password")));
    for table in [&app.tables.users, &app.tables.usernames] {
        let scan = app.client.scan().table_name(table).send().await.unwrap();
        assert_eq!(scan.count, 0, "{table} has items after a refused sign-up");
    }
    // Stored items never hold the password; the hash stays in `usernames`.
    app.sign_up("carol", PASSWORD).await;
    let users = app.client.scan().table_name(&app.tables.users).send().await.unwrap();
    let item = &users.items()[0];
    assert!(item.keys().all(|key| !key.contains("password")), "{item:?}");
    let usernames = app.client.scan().table_name(&app.tables.usernames).send().await.unwrap();
    let stored = format!("{:?}", usernames.items());
    assert!(!stored.contains(PASSWORD) && stored.contains("$argon2id$"));
}
