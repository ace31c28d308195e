use crate::helpers::{TestApp, PASSWORD};

#[tokio::test]
async fn database_down_gives_json_503s() {
    let app = TestApp::spawn().await;
    let (id, token) = app.signed_in_user("dave").await;
    let login = app.login("dave", PASSWORD).await;
    let refresh_token = login.json["refresh_token"].as_str().unwrap().to_owned();

    app.db.stop();

    let answers = [
        ("sign-up", app.sign_up("erin", PASSWORD).await),
        ("login", app.login("dave", PASSWORD).await),
        ("get-user", app.get_user(&id, &token).await),
        ("logout", app.logout(&token).await),
        ("refresh", app.refresh(&refresh_token).await),
        ("list-sessions", app.list_sessions(&token).await),
        ("revoke-session", app.revoke_session(&token, "00000000-0000-4000-8000-000000000000").await),
    ];
    // The authorizer lets nobody in on a guess: its fault is an invocation
    // error, which API Gateway answers with 500.
    let fault = app.authorize(&token).await.unwrap_err();
    assert_eq!(fault.code(), "service_unavailable");
    for (operation, answer) in answers {
        assert_eq!(answer.status, 503, "{operation}: {answer:?}");
        assert_eq!(answer.error_code(), Some("service_unavailable"), "{operation}");
        assert_eq!(answer.headers["content-type"], "application/json");
        assert_eq!(answer.headers["retry-after"], "1");
    }
}
