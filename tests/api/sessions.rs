//! Sessions on a real DynamoDB Local: refresh, rotation, concurrent
//! refreshes, reuse after the grace interval, logout scopes, the list, and
//! a global logout racing refreshes.

use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use user_auth_core::clock::Clock;
use user_auth_core::domain::{Client, RefreshHash, Rotation, Session, SessionId, UserId};
use user_auth_core::store::dynamodb::schema::sessions;
use user_auth_core::store::dynamodb::DynamoStore;
use user_auth_core::store::SessionStore;
use user_auth_core::test_support::LIFETIME;

use crate::helpers::{ApiResponse, TestApp, PASSWORD};

/// Logs in; the access and refresh tokens.
async fn log_in(app: &TestApp, username: &str) -> (String, String) {
    let login = app.login(username, PASSWORD).await;
    assert_eq!(login.status, 200, "{login:?}");
    (login.json["access_token"].as_str().unwrap().to_owned(), login.json["refresh_token"].as_str().unwrap().to_owned())
}

fn tokens(answer: &ApiResponse) -> (String, String) {
    assert_eq!(answer.status, 200, "{answer:?}");
    (
        answer.json["access_token"].as_str().unwrap().to_owned(),
        answer.json["refresh_token"].as_str().unwrap().to_owned(),
    )
}

fn session_ids(answer: &ApiResponse) -> Vec<String> {
    assert_eq!(answer.status, 200, "{answer:?}");
    answer.json["sessions"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn login_refresh_list_revoke_and_logout_scopes() {
    let app = TestApp::spawn().await;
    let (id, _) = app.signed_in_user("nina").await;
    let (_, refresh) = log_in(&app, "nina").await;

    app.clock.advance(60);
    let (access, refresh) = tokens(&app.refresh(&refresh).await);
    assert_eq!(app.get_user(&id, &access).await.status, 200);
    app.clock.advance(60);
    let (access, _) = tokens(&app.refresh(&refresh).await);

    // Two sessions from the first two logins, and this one, marked current.
    let listed = app.list_sessions(&access).await;
    let ids = session_ids(&listed);
    assert_eq!(ids.len(), 2, "{listed:?}");
    let (third_access, _) = log_in(&app, "nina").await;
    let listed = app.list_sessions(&access).await;
    assert_eq!(session_ids(&listed).len(), 3);
    let current: Vec<_> = listed.json["sessions"].as_array().unwrap().iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    let own_id = current[0]["id"].as_str().unwrap().to_owned();

    // Revoke the first session: its tokens stop at once.
    let first = ids.iter().find(|id| **id != own_id).unwrap().clone();
    assert_eq!(app.revoke_session(&access, &first).await.status, 204);
    assert_eq!(app.revoke_session(&access, &first).await.status, 404);
    assert_eq!(session_ids(&app.list_sessions(&access).await).len(), 2);

    // `others` ends the third session but not this one; `global` ends this one too.
    assert_eq!(app.logout_scope(&access, "others").await.status, 204);
    assert_eq!(app.get_user(&id, &third_access).await.status, 401);
    assert_eq!(session_ids(&app.list_sessions(&access).await), [own_id]);
    assert_eq!(app.logout_scope(&access, "global").await.status, 204);
    assert_eq!(app.get_user(&id, &access).await.status, 401);
}

/// Of twenty concurrent revocations of one session, one ends it: the others
/// find it gone, and the activity records it revoked once.
#[tokio::test]
async fn of_twenty_concurrent_revocations_of_one_session_one_ends_it() {
    let app = TestApp::spawn().await;
    let (_, access) = app.signed_in_user("omar").await;
    log_in(&app, "omar").await;
    let listed = app.list_sessions(&access).await;
    let other = listed.json["sessions"].as_array().unwrap().iter().find(|s| s["current"] == false).unwrap();
    let other = other["id"].as_str().unwrap();
    let answers = futures_util::future::join_all((0..20).map(|_| app.revoke_session(&access, other))).await;
    let statuses: Vec<u16> = answers.iter().map(|answer| answer.status).collect();
    assert_eq!(statuses.iter().filter(|status| **status == 204).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|status| [204, 404].contains(status)), "{statuses:?}");
    let activity = app.list_activity(&access, "limit=100").await;
    let revoked = activity.json["events"].as_array().unwrap().iter().filter(|e| e["type"] == "session_revoked").count();
    assert_eq!(revoked, 1, "{activity:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_refreshes_with_one_token_all_succeed() {
    let app = Arc::new(TestApp::spawn().await);
    let (id, _) = app.signed_in_user("olga").await;
    let (_, refresh) = log_in(&app, "olga").await;
    let barrier = Arc::new(tokio::sync::Barrier::new(20));
    let refreshes: Vec<_> = (0..20)
        .map(|_| {
            let (app, refresh, barrier) = (app.clone(), refresh.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                tokens(&app.refresh(&refresh).await)
            })
        })
        .collect();
    let mut next = Vec::new();
    for refresh in refreshes {
        next.push(refresh.await.unwrap());
    }
    let refresh_tokens: std::collections::BTreeSet<_> = next.iter().map(|(_, refresh)| refresh.clone()).collect();
    assert_eq!(refresh_tokens.len(), 1, "one lineage: every refresh got the same next token");
    for (access, _) in &next {
        assert_eq!(app.get_user(&id, access).await.status, 200);
    }
    // The session goes on, even after the grace interval.
    app.clock.advance(60);
    let (access, _) = tokens(&app.refresh(refresh_tokens.first().unwrap()).await);
    assert_eq!(app.get_user(&id, &access).await.status, 200);
}

#[tokio::test]
async fn a_replay_after_the_grace_interval_ends_the_session() {
    let app = TestApp::spawn().await;
    let (id, _) = app.signed_in_user("pia").await;
    let (first_access, first_refresh) = log_in(&app, "pia").await;
    let (access, refresh) = tokens(&app.refresh(&first_refresh).await);
    app.clock.advance(11);
    let replay = app.refresh(&first_refresh).await;
    assert_eq!((replay.status, replay.error_code()), (401, Some("invalid_refresh_token")));
    for token in [&first_access, &access] {
        let answer = app.get_user(&id, token).await;
        assert_eq!((answer.status, answer.error_code()), (401, Some("invalid_token")));
    }
    assert_eq!(app.refresh(&refresh).await.status, 401, "the newest refresh token died too");
    // Every refusal looks the same.
    let unknown = app.refresh("not-a-refresh-token").await;
    assert_eq!(unknown.json, replay.json);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_global_logout_racing_refreshes_leaves_no_live_session() {
    let app = Arc::new(TestApp::spawn().await);
    let (id, access) = app.signed_in_user("quinn").await;
    // The logout waits until every session has been refreshed once, so that
    // each refresher is mid-lineage when it lands.
    let all_refreshed = Arc::new(tokio::sync::Barrier::new(6));
    let mut refreshers = Vec::new();
    for _ in 0..5 {
        let (_, refresh) = log_in(&app, "quinn").await;
        let (app, all_refreshed) = (app.clone(), all_refreshed.clone());
        refreshers.push(tokio::spawn(async move {
            // Keeps refreshing its session until it is refused.
            let mut refresh = refresh;
            let mut issued = Vec::new();
            loop {
                let answer = app.refresh(&refresh).await;
                match answer.status {
                    200 => {
                        let (access, next) = tokens(&answer);
                        issued.push(access);
                        refresh = next;
                        if issued.len() == 1 {
                            all_refreshed.wait().await;
                        }
                    }
                    401 => return (issued, refresh),
                    other => panic!("answer {other} while refreshing: {answer:?}"),
                }
            }
        }));
    }
    let wait = tokio::time::timeout(std::time::Duration::from_secs(60), all_refreshed.wait()).await;
    wait.expect("every session refreshed once within a minute");
    assert_eq!(app.logout_scope(&access, "global").await.status, 204);
    for refresher in refreshers {
        let (issued, last_refresh) = refresher.await.unwrap();
        assert!(!issued.is_empty(), "no refresh before the logout: nothing raced");
        assert_eq!(app.refresh(&last_refresh).await.status, 401);
        for access in &issued {
            assert_eq!(app.get_user(&id, access).await.status, 401, "an access token outlived its session");
        }
    }
    let scan = app.client.scan().table_name(&app.tables.sessions).send().await.unwrap();
    assert_eq!(scan.count, 0, "a session survived a global logout: {:?}", scan.items());
}

#[tokio::test]
async fn an_ended_session_is_never_brought_back_and_a_retried_start_is_one_session() {
    let app = TestApp::spawn().await;
    let store = DynamoStore::new(app.client.clone(), app.tables.clone());
    let user = UserId::new_random();
    let hash = |name: &str| RefreshHash(name.to_owned());
    let session = Session::start(SessionId::new_random(), user.clone(), Client::default(), hash("a"), LIFETIME, 1000);
    store.create_session(&session).await.unwrap();
    store.create_session(&session).await.expect("a retried put of the same new session is fine");
    let rotation = |spent: &str, next: &str, at| Rotation {
        user_id: user.clone(),
        session_id: session.id.clone(),
        spent: hash(spent),
        next: hash(next),
        at,
        idle: LIFETIME.idle,
    };
    let rotated = store.rotate(&rotation("a", "b", 1010)).await.unwrap();
    assert_eq!(rotated, Some(session.rotated(hash("b"), LIFETIME.idle, 1010)), "as the domain rule says");
    assert_eq!(store.rotate(&rotation("a", "b", 1011)).await.unwrap(), None, "the same token twice");
    assert_eq!(store.session(&user, &session.id).await.unwrap(), rotated);
    let idle_end = rotated.as_ref().unwrap().idle_ends_at;
    assert_eq!(store.rotate(&rotation("b", "c", idle_end)).await.unwrap(), None, "an idle session");
    assert!(store.end_session(&user, &session.id).await.unwrap());
    assert_eq!(store.rotate(&rotation("b", "c", 1020)).await.unwrap(), None);
    assert_eq!(store.session(&user, &session.id).await.unwrap(), None, "a rotation recreated an ended session");
    assert!(!store.end_session(&user, &session.id).await.unwrap());
}

#[tokio::test]
async fn a_corrupt_session_item_does_not_stop_a_global_logout() {
    let app = TestApp::spawn().await;
    let (id, access) = app.signed_in_user("rita").await;
    let corrupt = SessionId::new_random();
    app.client
        .put_item()
        .table_name(&app.tables.sessions)
        .item(sessions::USER_ID, AttributeValue::S(id.clone()))
        .item(sessions::SID, AttributeValue::S(corrupt.to_string()))
        .item(sessions::IDLE_ENDS_AT, AttributeValue::S("not a number".into()))
        .send()
        .await
        .unwrap();
    assert_eq!(app.list_sessions(&access).await.status, 500, "a corrupt item is a defect, not a default");
    assert_eq!(app.logout_scope(&access, "global").await.status, 204);
    let scan = app.client.scan().table_name(&app.tables.sessions).send().await.unwrap();
    assert_eq!(scan.count, 0, "{:?}", scan.items());
}

/// The user's session items in the table.
async fn stored_sessions(app: &TestApp, user_id: &str) -> usize {
    let store = DynamoStore::new(app.client.clone(), app.tables.clone());
    store.session_ids(&UserId::parse(user_id).unwrap()).await.unwrap().len()
}

/// A login beyond `MAX_SESSIONS_PER_USER` ends the least recently refreshed
/// session: the count stays at the cap, and the ended sessions' tokens die.
#[tokio::test]
async fn a_login_beyond_the_cap_ends_the_least_recently_refreshed_session() {
    let app = TestApp::spawn().await;
    let mut login =
        login::build(&app.env_with(&[(user_auth_core::config::vars::MAX_SESSIONS_PER_USER, "3")])).await.unwrap();
    (login.clock, login.passwords) = (app.clock.clone(), app.passwords.clone());
    let (id, first) = app.signed_in_user("capped").await;
    let log_in = || async {
        app.clock.advance(1);
        tokens(&app.login_with(&login, "capped", PASSWORD).await)
    };
    let (older, next) = (log_in().await, log_in().await);
    assert_eq!(stored_sessions(&app, &id).await, 3, "at the cap");
    // The older login, refreshed now, becomes the most recently refreshed.
    app.clock.advance(1);
    let renewed = tokens(&app.refresh(&older.1).await);
    let (third, fourth) = (log_in().await, log_in().await);
    assert_eq!(stored_sessions(&app, &id).await, 3);
    for ended in [&first, &next.0] {
        assert_eq!(app.me(ended).await.status, 401, "refreshed least recently, so ended");
    }
    for live in [&renewed.0, &third.0, &fourth.0] {
        assert_eq!(app.me(live).await.status, 200);
    }
}

/// A global logout ends every session, more than the cap and than one
/// transaction holds, in transactions of a hundred.
#[tokio::test]
async fn a_global_logout_ends_more_sessions_than_the_cap() {
    let app = TestApp::spawn().await;
    let (id, token) = app.signed_in_user("many").await;
    let store = DynamoStore::new(app.client.clone(), app.tables.clone());
    let user = UserId::parse(&id).unwrap();
    let now = app.clock.now();
    for _ in 0..250 {
        let first = RefreshHash("x".to_owned());
        let session = Session::start(SessionId::new_random(), user.clone(), Client::default(), first, LIFETIME, now);
        store.create_session(&session).await.unwrap();
    }
    assert_eq!(stored_sessions(&app, &id).await, 251);
    assert_eq!(app.logout_scope(&token, "global").await.status, 204);
    assert_eq!(stored_sessions(&app, &id).await, 0);
}
