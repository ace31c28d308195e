//! Each account's security activity on DynamoDB Local: what the functions
//! record, read back a page at a time by its owner and by operators, and
//! an operation that succeeds when its event cannot be written.

use serde_json::Value;
use user_auth_core::config::vars;

use crate::helpers::{TestApp, PASSWORD};
use crate::operator::{admin, admin_json};

const NEW_PASSWORD: &str = "a different passphrase, long enough";

/// The types of a page's events, newest first.
fn types(page: &Value) -> Vec<&str> {
    page["events"].as_array().expect("events").iter().map(|event| event["type"].as_str().unwrap()).collect()
}

/// The id of the session an access token belongs to.
async fn session_of(app: &TestApp, token: &str) -> String {
    let listed = app.list_sessions(token).await.json;
    let sessions = listed["sessions"].as_array().unwrap();
    let own = sessions.iter().find(|session| session["current"] == true).expect("the caller's session");
    own["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_activity_lists_what_happened_newest_first_a_page_at_a_time() {
    let app = TestApp::spawn().await;
    assert_eq!(app.sign_up("alice", PASSWORD).await.status, 201);
    let first = app.login("alice", PASSWORD).await;
    let token = first.json["access_token"].as_str().unwrap().to_owned();
    let first_session = session_of(&app, &token).await;
    // Only a session's first refresh is an event.
    let refreshed = app.refresh(first.json["refresh_token"].as_str().unwrap()).await;
    assert_eq!(refreshed.status, 200, "{refreshed:?}");
    assert_eq!(app.refresh(refreshed.json["refresh_token"].as_str().unwrap()).await.status, 200);
    for _ in 0..2 {
        assert_eq!(app.login("alice", "not the password at all").await.status, 401);
    }
    assert_eq!(app.change_password(&token, PASSWORD, NEW_PASSWORD).await.status, 204);
    let second = app.login("alice", NEW_PASSWORD).await;
    let second_session = session_of(&app, second.json["access_token"].as_str().unwrap()).await;
    assert_eq!(app.revoke_session(&token, &second_session).await.status, 204);

    let page = app.list_activity(&token, "limit=4").await;
    assert_eq!(page.status, 200, "{page:?}");
    assert_eq!(types(&page.json), ["session_revoked", "login_succeeded", "password_changed", "login_failed"]);
    let events = page.json["events"].as_array().unwrap();
    assert_eq!(events[0]["session_id"], second_session.as_str(), "the session revoked");
    assert_eq!(events[1]["session_id"], second_session.as_str(), "the session the login opened");
    assert_eq!(events[2]["session_id"], first_session.as_str(), "the session that changed the password");
    assert!(events[3]["session_id"].is_null(), "a failed login has no session");
    for event in events {
        assert!(event["at"].as_str().unwrap().ends_with('Z'), "{event}");
        assert!(event.get("source_ip").is_some() && event.get("user_agent").is_some(), "{event}");
    }
    let cursor = page.json["next_cursor"].as_str().expect("more pages").to_owned();
    let page = app.list_activity(&token, &format!("limit=4&cursor={cursor}")).await;
    assert_eq!(types(&page.json), ["login_failed", "session_refreshed", "login_succeeded", "signed_up"]);
    assert_eq!(page.json["events"][2]["session_id"], first_session.as_str());
    // Exactly those: the page is the last.
    assert!(page.json["next_cursor"].is_null(), "{}", page.json);

    // A cursor is its user's, and unchanged.
    let (_, bobs_token) = app.signed_in_user("bob").await;
    let stolen = app.list_activity(&bobs_token, &format!("cursor={cursor}")).await;
    assert_eq!((stolen.status, stolen.error_code()), (400, Some("invalid_request")), "{stolen:?}");
    assert_eq!(types(&app.list_activity(&bobs_token, "").await.json), ["login_succeeded", "signed_up"]);
    let tampered = format!("{}{cursor}", "A");
    let refused = app.list_activity(&token, &format!("cursor={tampered}")).await;
    assert_eq!((refused.status, refused.error_code()), (400, Some("invalid_request")));
    for query in ["limit=0", "limit=101", "limit=many"] {
        assert_eq!(app.list_activity(&token, query).await.status, 400, "{query}");
    }
    assert_eq!(app.list_activity("not a token", "").await.status, 401);
}

#[tokio::test]
async fn an_event_that_cannot_be_written_leaves_the_operation_done() {
    let app = TestApp::spawn().await;
    let (_, token) = app.signed_in_user("carol").await;
    // A login function whose events table does not exist: every write of an event fails.
    let env = app.env_with(&[(vars::EVENTS_TABLE, "no-such-table")]);
    let mut login = login::build(&env).await.expect("login starts");
    login.clock = app.clock.clone();
    let answer = app.login_with(&login, "carol", PASSWORD).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert!(answer.json["access_token"].is_string());
    let wrong = app.login_with(&login, "carol", "not the password at all").await;
    assert_eq!(wrong.status, 401, "the usual refusal, not a 503: {wrong:?}");
    // Neither is in the activity; what the working functions recorded is.
    assert_eq!(types(&app.list_activity(&token, "").await.json), ["login_succeeded", "signed_up"]);
}

#[tokio::test]
async fn operators_actions_are_in_the_activity_with_the_operator_and_the_tool_reads_it() {
    let app = TestApp::spawn().await;
    let (id, _) = app.signed_in_user("dave").await;
    admin_json(&app, &format!("disable {id} --reason phished")).await;
    admin_json(&app, &format!("enable {id}")).await;
    admin_json(&app, &format!("sign-out {id}")).await;
    let events = admin_json(&app, &format!("events {id} --limit 3")).await;
    assert_eq!(types(&events), ["signed_out_by_operator", "account_enabled", "account_disabled"], "{events}");
    let disabled = &events["events"][2];
    assert_eq!(disabled["detail"], "phished");
    assert!(disabled["operator"].as_str().unwrap().starts_with("local-operator"), "{disabled}");
    let shown = admin_json(&app, &format!("show {id}")).await;
    assert_eq!(
        types(&shown)[..4],
        ["signed_out_by_operator", "account_enabled", "account_disabled", "login_succeeded"]
    );
    // For people, one line an event.
    let (status, text) = admin(&app, &format!("events {id}")).await;
    assert_eq!(status, 0);
    assert_eq!(text.lines().count(), 5, "{text}");
    assert!(text.lines().next().unwrap().contains("signed_out_by_operator"), "{text}");
    // A deleted account's events stay for its operators until they expire.
    admin_json(&app, &format!("delete {id}")).await;
    let events = admin_json(&app, &format!("events {id} --limit 1")).await;
    assert_eq!(types(&events), ["account_deleted"]);
    assert_eq!(admin(&app, &format!("events {id} --limit 0")).await.0, 1);
    assert_eq!(admin(&app, "events not-an-id").await.0, 1);
}
