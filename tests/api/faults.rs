use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use user_auth_core::store::dynamodb::schema::{usernames, users};

use crate::helpers::{free_port, scratch_dir, DynamoDbLocal, TestApp, PASSWORD};

const BURST: usize = 40;

fn ids(items: &[std::collections::HashMap<String, AttributeValue>], attribute: &str) -> BTreeSet<String> {
    items.iter().map(|item| item[attribute].as_s().unwrap().clone()).collect()
}

/// DynamoDB killed in the middle of a burst of sign-ups and logins: every
/// answer is a success or a JSON 503, nothing is half-written, and the
/// service works again, by itself, once the database is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn database_killed_during_a_burst() {
    let data = scratch_dir("faults");
    let port = free_port();
    let app = Arc::new(TestApp::spawn_with(DynamoDbLocal::start_on(port, Some(&data)).await).await);
    assert_eq!(app.sign_up("before-the-fault", PASSWORD).await.status, 201);

    let burst: Vec<_> = (0..BURST)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(5 * i as u64)).await;
                if i % 4 == 0 {
                    app.login("before-the-fault", PASSWORD).await
                } else {
                    app.sign_up(&format!("burst-{i}"), PASSWORD).await
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(150)).await;
    app.db.stop();

    let mut created = 0;
    let mut unavailable = 0;
    for task in burst {
        let answer = task.await.unwrap();
        match answer.status {
            200 | 201 => created += 1,
            503 => {
                assert_eq!(answer.error_code(), Some("service_unavailable"), "{answer:?}");
                assert_eq!(answer.headers["retry-after"], "1");
                unavailable += 1;
            }
            other => panic!("answer {other} during the fault: {answer:?}"),
        }
    }
    assert!(unavailable > 0, "the fault happened after the burst: nothing was tested");

    // The database comes back with its data; the same clients recover by themselves.
    let restarted = DynamoDbLocal::start_on(port, Some(&data)).await;
    let users_items = app.client.scan().table_name(&app.tables.users).send().await.unwrap();
    let claims = app.client.scan().table_name(&app.tables.usernames).send().await.unwrap();
    assert_eq!(
        ids(users_items.items(), users::ID),
        ids(claims.items(), usernames::USER_ID),
        "a user without its username claim, or the reverse"
    );
    assert!(users_items.count >= 1);
    assert_eq!(app.sign_up("after-the-fault", PASSWORD).await.status, 201);
    assert_eq!(app.login("before-the-fault", PASSWORD).await.status, 200);
    eprintln!("{created} successes and {unavailable} JSON 503s during the fault");
    drop(restarted);
}

const ACCOUNTS: usize = 24;

/// DynamoDB killed in the middle of a burst of account deletions: each
/// account is whole (profile, name and sessions, and its owner can log in)
/// or gone (none of them), never in between; the rest can be deleted once
/// the database is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn database_killed_during_a_burst_of_deletions() {
    let data = scratch_dir("deletion-faults");
    let port = free_port();
    let app = Arc::new(TestApp::spawn_with(DynamoDbLocal::start_on(port, Some(&data)).await).await);
    let mut accounts = Vec::new();
    for i in 0..ACCOUNTS {
        let name = format!("doomed-{i}");
        let (id, token) = app.signed_in_user(&name).await;
        accounts.push((name, id, token));
    }

    // The database dies once a few deletions have landed: some before, some
    // in flight, some not yet started.
    let done = Arc::new(tokio::sync::Semaphore::new(0));
    let burst: Vec<_> = accounts
        .iter()
        .enumerate()
        .map(|(i, (_, _, token))| {
            let (app, token, done) = (app.clone(), token.clone(), done.clone());
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(10 * i as u64)).await;
                let answer = app.delete_user(&token, PASSWORD).await;
                done.add_permits(1);
                answer
            })
        })
        .collect();
    drop(done.acquire_many(3).await.unwrap());
    app.db.stop();

    let (mut deleted, mut unavailable) = (0, 0);
    for task in burst {
        let answer = task.await.unwrap();
        match answer.status {
            204 => deleted += 1,
            503 => {
                assert_eq!(answer.error_code(), Some("service_unavailable"), "{answer:?}");
                unavailable += 1;
            }
            other => panic!("answer {other} during the fault: {answer:?}"),
        }
    }
    assert!(deleted >= 3 && unavailable > 0, "{deleted} deleted, {unavailable} unavailable: the fault missed");

    let restarted = DynamoDbLocal::start_on(port, Some(&data)).await;
    let scan = |table: &str| app.client.scan().table_name(table).consistent_read(true).send();
    let (profiles, claims, sessions) = (
        scan(&app.tables.users).await.unwrap(),
        scan(&app.tables.usernames).await.unwrap(),
        scan(&app.tables.sessions).await.unwrap(),
    );
    let (mut whole, mut gone) = (0, 0);
    for (name, id, token) in &accounts {
        let has = |items: &[std::collections::HashMap<String, AttributeValue>], attribute: &str, value: &str| {
            items.iter().any(|item| item.get(attribute) == Some(&AttributeValue::S(value.to_owned())))
        };
        let parts = [
            has(profiles.items(), users::ID, id),
            has(claims.items(), usernames::USER_ID, id),
            has(sessions.items(), "user_id", id),
        ];
        match parts {
            [true, true, true] => {
                whole += 1;
                assert_eq!(app.login(name, PASSWORD).await.status, 200, "{name} is whole but cannot log in");
                assert_eq!(app.delete_user(token, PASSWORD).await.status, 204, "{name} cannot be deleted after");
            }
            [false, false, false] => {
                gone += 1;
                assert_eq!(app.login(name, PASSWORD).await.status, 401, "{name} is gone but logs in");
            }
            partial => panic!("{name} is half-deleted: profile, claim, sessions = {partial:?}"),
        }
    }
    // Not `gone >= deleted`: DynamoDB Local, killed, can lose a transaction
    // it has already acknowledged (a script deleting items one transaction at
    // a time and killing it after eight acknowledgements found 2 of 48
    // acknowledged deletions undone after the restart). Real DynamoDB does
    // not; that a 204 means gone is tested without a fault (tests/api/account.rs).
    assert!(whole > 0 && gone > 0, "{whole} whole, {gone} gone, {deleted} answered deleted");
    eprintln!("{deleted} deletions answered 204 and {unavailable} JSON 503s; afterwards {gone} gone, {whole} whole");
    drop(restarted);
}
