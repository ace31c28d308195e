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
