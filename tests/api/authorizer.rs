//! The Lambda authorizer over DynamoDB Local: it sees every way a session
//! ends as soon as this service's own routes do.

use serde_json::json;

use crate::helpers::{TestApp, PASSWORD};

#[tokio::test]
async fn the_authorizer_sees_logouts_revocations_password_changes_and_deletions_at_once() {
    let app = TestApp::spawn().await;
    let (id, token) = app.signed_in_user("grace").await;
    let sessions = app.list_sessions(&token).await;
    let sid = sessions.json["sessions"][0]["id"].as_str().unwrap().to_owned();
    let allowed = json!({ "isAuthorized": true, "context": { "sub": id, "sid": sid, "amr": "pwd" } });
    assert_eq!(app.authorize(&token).await.unwrap(), allowed);

    // A logout.
    assert_eq!(app.logout(&token).await.status, 204);
    assert_eq!(app.authorize(&token).await.unwrap(), json!({ "isAuthorized": false }));

    // A revocation from another session.
    let first = app.login("grace", PASSWORD).await.json["access_token"].as_str().unwrap().to_owned();
    let second = app.login("grace", PASSWORD).await.json["access_token"].as_str().unwrap().to_owned();
    assert_eq!(app.authorize(&first).await.unwrap()["isAuthorized"], true);
    let listed = app.list_sessions(&second).await.json;
    let first_session = listed["sessions"].as_array().unwrap().iter().find(|s| s["current"] == false).unwrap();
    assert_eq!(app.revoke_session(&second, first_session["id"].as_str().unwrap()).await.status, 204);
    assert_eq!(app.authorize(&first).await.unwrap()["isAuthorized"], false);

    // A password change ends the other sessions; the caller's stays.
    let third = app.login("grace", PASSWORD).await.json["access_token"].as_str().unwrap().to_owned();
    let new_password = "another long passphrase to remember";
    assert_eq!(app.change_password(&second, PASSWORD, new_password).await.status, 204);
    assert_eq!(app.authorize(&third).await.unwrap()["isAuthorized"], false);
    assert_eq!(app.authorize(&second).await.unwrap()["isAuthorized"], true);

    // A deletion.
    assert_eq!(app.delete_user(&second, new_password).await.status, 204);
    assert_eq!(app.authorize(&second).await.unwrap()["isAuthorized"], false);
}
