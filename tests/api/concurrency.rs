use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::helpers::{TestApp, PASSWORD};

const CONTENDERS: usize = 50;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_simultaneous_sign_ups_of_one_name_have_one_winner() {
    let app = Arc::new(TestApp::spawn().await);
    let barrier = Arc::new(tokio::sync::Barrier::new(CONTENDERS));
    let attempts: Vec<_> = (0..CONTENDERS)
        .map(|_| {
            let app = app.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                app.sign_up("popular", PASSWORD).await
            })
        })
        .collect();
    let mut created = Vec::new();
    let mut conflicts = 0;
    for attempt in attempts {
        let response = attempt.await.unwrap();
        match response.status {
            201 => created.push(response.json["id"].as_str().unwrap().to_owned()),
            409 => {
                assert_eq!(response.error_code(), Some("username_taken"));
                conflicts += 1;
            }
            other => panic!("unexpected answer {other}: {response:?}"),
        }
    }
    assert_eq!((created.len(), conflicts), (1, CONTENDERS - 1));

    // Exactly one user item and one claim exist, and they point at each other.
    let users = app.client.scan().table_name(&app.tables.users).send().await.unwrap();
    assert_eq!(users.count, 1);
    assert_eq!(users.items()[0]["id"], AttributeValue::S(created[0].clone()));
    let claims = app.client.scan().table_name(&app.tables.usernames).send().await.unwrap();
    assert_eq!(claims.count, 1);
    assert_eq!(claims.items()[0]["user_id"], AttributeValue::S(created[0].clone()));
}
