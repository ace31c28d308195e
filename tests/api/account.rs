//! The account on a real DynamoDB Local: reading yourself, changing the
//! password (the other sessions end), deleting the account (everything goes,
//! every token dies, the name is free), and the lockout on both.

use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use user_auth_core::clock::Clock;
use user_auth_core::store::dynamodb::schema::{sessions, usernames, users};

use crate::helpers::{ApiResponse, TestApp, PASSWORD};

const NEW_PASSWORD: &str = "a brand new passphrase to remember";

/// The access and refresh tokens of a login.
async fn log_in(app: &TestApp, username: &str, password: &str) -> (String, String) {
    let login = app.login(username, password).await;
    assert_eq!(login.status, 200, "{login:?}");
    (login.json["access_token"].as_str().unwrap().to_owned(), login.json["refresh_token"].as_str().unwrap().to_owned())
}

fn refused(answer: &ApiResponse, code: &str) {
    assert_eq!((answer.status, answer.error_code()), (401, Some(code)), "{answer:?}");
}

/// Every function that takes an access token refuses this one.
async fn every_function_refuses(app: &TestApp, id: &str, access: &str, refresh: &str) {
    refused(&app.get_user(id, access).await, "invalid_token");
    refused(&app.me(access).await, "invalid_token");
    refused(&app.list_sessions(access).await, "invalid_token");
    refused(&app.revoke_session(access, "00000000-0000-4000-8000-000000000000").await, "invalid_token");
    refused(&app.change_password(access, PASSWORD, NEW_PASSWORD).await, "invalid_token");
    refused(&app.delete_user(access, PASSWORD).await, "invalid_token");
    refused(&app.logout(access).await, "invalid_token");
    refused(&app.refresh(refresh).await, "invalid_refresh_token");
}

async fn items_of(app: &TestApp, table: &str, attribute: &str, value: &str) -> usize {
    let scan = app.client.scan().table_name(table).consistent_read(true).send().await.unwrap();
    scan.items().iter().filter(|item| item.get(attribute) == Some(&AttributeValue::S(value.into()))).count()
}

#[tokio::test]
async fn read_yourself_change_the_password_then_delete_the_account() {
    let app = TestApp::spawn().await;
    let (id, first) = app.signed_in_user("alice").await;
    let (here, here_refresh) = log_in(&app, "alice", PASSWORD).await;
    let (there, there_refresh) = log_in(&app, "alice", PASSWORD).await;
    let (_, bob) = app.signed_in_user("bob").await;

    let me = app.me(&here).await;
    assert_eq!(me.status, 200, "{me:?}");
    // The public profile, and what only its owner sees: the address and the
    // second factor, none here.
    let mut public = me.json.clone();
    let own: Vec<_> =
        ["email", "email_verified", "mfa"].iter().map(|field| public.as_object_mut().unwrap().remove(*field)).collect();
    let no_factor = serde_json::json!({ "totp": false, "recovery_codes_left": 0 });
    assert_eq!(own, [Some(serde_json::Value::Null), Some(false.into()), Some(no_factor)]);
    assert_eq!(public, app.get_user(&id, &bob).await.json);
    assert_eq!(me.json["username"], "alice");

    // The password changes from one session: the others die, this one lives.
    let changed = app.change_password(&here, PASSWORD, NEW_PASSWORD).await;
    assert_eq!((changed.status, &changed.json), (204, &serde_json::Value::Null), "{changed:?}");
    for other in [&first, &there] {
        refused(&app.get_user(&id, other).await, "invalid_token");
        refused(&app.me(other).await, "invalid_token");
    }
    refused(&app.refresh(&there_refresh).await, "invalid_refresh_token");
    assert_eq!(app.me(&here).await.status, 200);
    assert_eq!(app.list_sessions(&here).await.json["sessions"].as_array().unwrap().len(), 1);
    let refreshed = app.refresh(&here_refresh).await;
    assert_eq!(refreshed.status, 200, "the caller's own session ended: {refreshed:?}");
    let here_refresh = refreshed.json["refresh_token"].as_str().unwrap().to_owned();
    refused(&app.login("alice", PASSWORD).await, "invalid_credentials");
    log_in(&app, "alice", NEW_PASSWORD).await;

    // Deleted: the profile, the name and its hash, every session, every token.
    let deleted = app.delete_user(&here, NEW_PASSWORD).await;
    assert_eq!((deleted.status, &deleted.json), (204, &serde_json::Value::Null), "{deleted:?}");
    let gone = app.get_user(&id, &bob).await;
    assert_eq!((gone.status, gone.error_code()), (404, Some("not_found")));
    every_function_refuses(&app, &id, &here, &here_refresh).await;
    refused(&app.login("alice", NEW_PASSWORD).await, "invalid_credentials");
    assert_eq!(items_of(&app, &app.tables.users, users::ID, &id).await, 0);
    assert_eq!(items_of(&app, &app.tables.usernames, usernames::USERNAME, "alice").await, 0, "a hash left behind");
    assert_eq!(items_of(&app, &app.tables.sessions, sessions::USER_ID, &id).await, 0);

    // The name is free for somebody new; bob lost nothing.
    let again = app.sign_up("alice", PASSWORD).await;
    assert_eq!(again.status, 201, "{again:?}");
    assert_ne!(again.json["id"], id.as_str());
    assert_eq!(app.me(&bob).await.status, 200);
}

#[tokio::test]
async fn a_wrong_password_to_change_or_delete_counts_toward_the_lockout() {
    let app = TestApp::spawn().await;
    let (id, token) = app.signed_in_user("carol").await;
    for attempt in 0..5 {
        let answer = if attempt % 2 == 0 {
            app.change_password(&token, "not the password at all", NEW_PASSWORD).await
        } else {
            app.delete_user(&token, "not the password at all").await
        };
        refused(&answer, "invalid_credentials");
    }
    // Locked: the right password gets 429 everywhere, before any argon2 work.
    let verifications = app.passwords.verifications();
    for answer in [
        app.change_password(&token, PASSWORD, NEW_PASSWORD).await,
        app.delete_user(&token, PASSWORD).await,
        app.login("carol", PASSWORD).await,
    ] {
        assert_eq!((answer.status, answer.error_code()), (429, Some("too_many_requests")), "{answer:?}");
        assert!(answer.headers.contains_key("retry-after"));
    }
    assert_eq!(app.passwords.verifications(), verifications, "a locked request ran argon2");
    assert_eq!(app.get_user(&id, &token).await.status, 200, "nothing was deleted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_two_simultaneous_changes_from_one_password_one_wins() {
    let app = Arc::new(TestApp::spawn().await);
    let (_, token) = app.signed_in_user("dave").await;
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    // From two addresses: each claims its own lockout count, so both reach
    // the write, where the condition on the hash decides.
    let changes: Vec<_> =
        [("first new passphrase here", "198.51.100.1"), ("second new passphrase here", "198.51.100.2")]
            .into_iter()
            .map(|(new, address)| {
                let (app, barrier, token) = (app.clone(), barrier.clone(), token.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    (new, app.change_password_from(address, &token, PASSWORD, new).await)
                })
            })
            .collect();
    let mut winners = Vec::new();
    for change in changes {
        let (new, answer) = change.await.unwrap();
        match answer.status {
            204 => winners.push(new),
            401 => refused(&answer, "invalid_credentials"),
            other => panic!("answer {other}: {answer:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "both changes applied, or neither");
    let loser = ["first new passphrase here", "second new passphrase here"].into_iter().find(|p| *p != winners[0]);
    log_in(&app, "dave", winners[0]).await;
    refused(&app.login("dave", loser.unwrap()).await, "invalid_credentials");
    refused(&app.login("dave", PASSWORD).await, "invalid_credentials");
}

/// Copies of the caller's session under new ids, written straight to the
/// table: more sessions than one transaction can hold, without as many
/// argon2 runs.
async fn add_sessions(app: &TestApp, user_id: &str, count: usize) {
    let scan = app.client.scan().table_name(&app.tables.sessions).consistent_read(true).send().await.unwrap();
    let template =
        scan.items().iter().find(|item| item[sessions::USER_ID] == AttributeValue::S(user_id.into())).unwrap().clone();
    for _ in 0..count {
        let mut item = template.clone();
        item.insert(sessions::SID.into(), AttributeValue::S(uuid_v4()));
        app.client.put_item().table_name(&app.tables.sessions).set_item(Some(item)).send().await.unwrap();
    }
}

fn uuid_v4() -> String {
    user_auth_core::domain::SessionId::new_random().to_string()
}

#[tokio::test]
async fn more_sessions_than_one_transaction_holds_all_end() {
    let app = TestApp::spawn().await;
    let (id, token) = app.signed_in_user("erin").await;
    add_sessions(&app, &id, 150).await;
    assert_eq!(items_of(&app, &app.tables.sessions, sessions::USER_ID, &id).await, 151);

    assert_eq!(app.change_password(&token, PASSWORD, NEW_PASSWORD).await.status, 204);
    assert_eq!(items_of(&app, &app.tables.sessions, sessions::USER_ID, &id).await, 1, "only the caller's is left");

    add_sessions(&app, &id, 150).await;
    assert_eq!(app.delete_user(&token, NEW_PASSWORD).await.status, 204);
    assert_eq!(items_of(&app, &app.tables.sessions, sessions::USER_ID, &id).await, 0);
    assert_eq!(items_of(&app, &app.tables.users, users::ID, &id).await, 0);
}

#[tokio::test]
async fn a_session_record_that_outlived_its_user_opens_nothing() {
    let app = TestApp::spawn().await;
    let (id, _) = app.signed_in_user("fred").await;
    let (access, refresh) = log_in(&app, "fred", PASSWORD).await;
    let scan = app.client.scan().table_name(&app.tables.sessions).consistent_read(true).send().await.unwrap();
    let survivors: Vec<_> = scan.items().to_vec();
    assert_eq!(app.delete_user(&access, PASSWORD).await.status, 204);
    // As a login racing the deletion could leave them: written back.
    for item in survivors {
        app.client.put_item().table_name(&app.tables.sessions).set_item(Some(item)).send().await.unwrap();
    }
    assert_eq!(items_of(&app, &app.tables.sessions, sessions::USER_ID, &id).await, 2);
    every_function_refuses(&app, &id, &access, &refresh).await;
    assert_eq!(items_of(&app, &app.tables.sessions, sessions::USER_ID, &id).await, 1, "refresh ended its session");
}

/// A login that checked the old password while the change committed stores
/// no session: its session is written on the condition that the username
/// still has the hash it checked.
#[tokio::test]
async fn a_login_that_checked_the_replaced_password_starts_no_session() {
    use user_auth_core::domain::{Client, Session, SessionId, UserId, Username};
    use user_auth_core::passwords::PasswordHash;
    use user_auth_core::store::dynamodb::DynamoStore;
    use user_auth_core::store::SessionStore;
    use user_auth_core::test_support::LIFETIME;

    let app = TestApp::spawn().await;
    let (id, token) = app.signed_in_user("nora").await;
    let claim = |client: aws_sdk_dynamodb::Client, table: String| async move {
        let item = client
            .get_item()
            .table_name(table)
            .key(usernames::USERNAME, AttributeValue::S("nora".into()))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
            .unwrap();
        PasswordHash::from_phc(item[usernames::PASSWORD_HASH].as_s().unwrap().clone())
    };
    let checked = claim(app.client.clone(), app.tables.usernames.clone()).await;
    assert_eq!(app.change_password(&token, PASSWORD, NEW_PASSWORD).await.status, 204);

    let store = DynamoStore::new(app.client.clone(), app.tables.clone());
    let user_id = UserId::parse(&id).unwrap();
    let session = Session::start(
        SessionId::new_random(),
        user_id.clone(),
        Client::default(),
        user_auth_core::domain::RefreshHash("x".into()),
        LIFETIME,
        app.clock.now(),
    );
    let nora = Username::parse("nora").unwrap();
    assert!(!store.start_session(&session, &nora, &checked).await.unwrap(), "a session of the old password");
    assert!(store.session(&user_id, &session.id).await.unwrap().is_none());
    let current = claim(app.client.clone(), app.tables.usernames.clone()).await;
    assert!(store.start_session(&session, &nora, &current).await.unwrap());
}

/// Copies of the user's one session under new ids, found by its key, each
/// refreshed last a second before it: a login beyond the cap ends copies
/// first.
async fn copy_session(app: &TestApp, user_id: &str, count: usize) {
    let query = app
        .client
        .query()
        .table_name(&app.tables.sessions)
        .key_condition_expression("#user = :user")
        .expression_attribute_names("#user", sessions::USER_ID)
        .expression_attribute_values(":user", AttributeValue::S(user_id.into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    let template = query.items()[0].clone();
    let refreshed: u64 = template[sessions::LAST_REFRESHED_AT].as_n().unwrap().parse().unwrap();
    let puts = (0..count).map(|_| {
        let mut item = template.clone();
        item.insert(sessions::SID.into(), AttributeValue::S(uuid_v4()));
        item.insert(sessions::LAST_REFRESHED_AT.into(), AttributeValue::N((refreshed - 1).to_string()));
        app.client.put_item().table_name(&app.tables.sessions).set_item(Some(item)).send()
    });
    for put in futures_util::future::join_all(puts).await {
        put.unwrap();
    }
}

/// Logins from many addresses racing a password change, the user's 130
/// sessions stored first so that the change has a long list to end: every
/// session a racing login stored opens nothing once the change is answered,
/// neither its access token nor its refresh token, whatever the
/// interleaving, in twenty runs; the caller's own session stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_session_of_a_login_racing_a_password_change_outlives_it() {
    const RUNS: usize = 20;
    const LOGINS: usize = 16;
    let app = Arc::new(TestApp::spawn().await);
    let (mut stored_then_refused, mut survivors) = (0, Vec::new());
    for run in 0..RUNS {
        let name = format!("racer{run}");
        let (id, token) = app.signed_in_user(&name).await;
        copy_session(&app, &id, 130).await;
        let barrier = Arc::new(tokio::sync::Barrier::new(LOGINS + 1));
        let logins: Vec<_> = (0..LOGINS)
            .map(|login| {
                let (barrier, name, app) = (barrier.clone(), name.clone(), app.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    app.login_from(&format!("198.51.100.{}", login + 1), &name, PASSWORD).await
                })
            })
            .collect();
        let change = {
            let (barrier, app, token) = (barrier.clone(), app.clone(), token.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                app.change_password_from("203.0.113.1", &token, PASSWORD, NEW_PASSWORD).await
            })
        };
        let change = change.await.unwrap();
        assert_eq!(change.status, 204, "{change:?}");
        for login in logins {
            let login = login.await.unwrap();
            if login.status != 200 {
                assert_eq!(login.error_code(), Some("invalid_credentials"), "{login:?}");
                continue;
            }
            let access = login.json["access_token"].as_str().unwrap();
            let refresh = login.json["refresh_token"].as_str().unwrap();
            let (me, renewed) = (app.me(access).await, app.refresh(refresh).await);
            match (me.status, renewed.status) {
                (401, 401) => stored_then_refused += 1,
                statuses => survivors.push((run, statuses)),
            }
        }
        assert_eq!(app.me(&token).await.status, 200, "the caller's session stays");
    }
    println!("{stored_then_refused} sessions stored under the old password, all refused, in {RUNS} runs");
    assert!(survivors.is_empty(), "sessions that outlived the password change: {survivors:?}");
    assert!(stored_then_refused > 0, "no login stored a session before the change: the race was not run");
}

/// A session of the old password that outlived the change's own ending of
/// the other sessions (a straggler, or a record whose deletion failed) opens
/// nothing: the credential generation refuses it on every check, it is not
/// listed, and the refresh that presents it ends it.
#[tokio::test]
async fn a_session_of_the_old_password_stored_after_the_change_opens_nothing() {
    use user_auth_core::domain::{Client, Session, SessionId, UserId};
    use user_auth_core::store::dynamodb::DynamoStore;
    use user_auth_core::store::SessionStore;
    use user_auth_core::test_support::LIFETIME;
    use user_auth_core::tokens::refresh::RefreshToken;

    let app = TestApp::spawn().await;
    let (id, token) = app.signed_in_user("olaf").await;
    assert_eq!(app.change_password(&token, PASSWORD, NEW_PASSWORD).await.status, 204);
    let user_id = UserId::parse(&id).unwrap();
    let store = DynamoStore::new(app.client.clone(), app.tables.clone());
    let first = RefreshToken::first(user_id.clone(), SessionId::new_random()).unwrap();
    let straggler = Session::start(
        first.session_id.clone(),
        user_id.clone(),
        Client::default(),
        first.hash(),
        LIFETIME,
        app.clock.now(),
    )
    .under_credentials(0);
    store.create_session(&straggler).await.unwrap();
    let access = app.keys.issuer().issue(&user_id, &straggler.id, app.clock.now()).unwrap().access_token;

    refused(&app.me(&access).await, "invalid_token");
    refused(&app.list_sessions(&access).await, "invalid_token");
    assert_eq!(app.authorize(&access).await.unwrap()["isAuthorized"], false);
    let listed = app.list_sessions(&token).await;
    assert_eq!(listed.status, 200, "{listed:?}");
    assert_eq!(listed.json["sessions"].as_array().unwrap().len(), 1, "only the kept one is listed: {}", listed.json);
    assert!(store.session(&user_id, &straggler.id).await.unwrap().is_some(), "refused, not yet ended");
    refused(&app.refresh(&first.encode()).await, "invalid_refresh_token");
    assert!(store.session(&user_id, &straggler.id).await.unwrap().is_none(), "the refresh ended it");
    assert_eq!(app.me(&token).await.status, 200, "the kept session stays");
}
