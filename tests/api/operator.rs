//! The operators' tool against DynamoDB Local: finding and showing an
//! account, disabling it (every token refused at once, sign-in 403 with the
//! right password only), enabling it, ending its sessions and deleting it,
//! all through `user-auth-admin`'s own entry point.

use serde_json::{json, Value};

use crate::helpers::{TestApp, PASSWORD};

/// Runs a command line of the tool against the app's tables: its exit
/// status and what it wrote.
pub async fn admin(app: &TestApp, line: &str) -> (u8, String) {
    let args: Vec<String> = line.split(' ').map(str::to_owned).collect();
    let mut out = Vec::new();
    let status = match user_auth_admin::run(&args, &app.env_with(&[]), &mut out).await {
        Ok(()) => 0,
        Err(err) => err.exit_code(),
    };
    (status, String::from_utf8(out).unwrap())
}

pub async fn admin_json(app: &TestApp, line: &str) -> Value {
    let (status, out) = admin(app, &format!("--json {line}")).await;
    assert_eq!(status, 0, "{line}: {out}");
    serde_json::from_str(&out).unwrap_or_else(|err| panic!("{line}: {err}: {out}"))
}

#[tokio::test]
async fn a_disabled_account_is_shut_at_once_and_opens_again_without_its_old_sessions() {
    let app = TestApp::spawn().await;
    let (id, access) = app.signed_in_user("alice").await;
    let other = app.login("alice", PASSWORD).await;
    let refresh_token = other.json["refresh_token"].as_str().unwrap().to_owned();
    let other_access = other.json["access_token"].as_str().unwrap().to_owned();

    let found = admin_json(&app, "find --username Alice").await;
    assert_eq!((found["id"].as_str(), &found["disabled"]), (Some(id.as_str()), &Value::Null), "{found}");
    let shown = admin_json(&app, &format!("show {id}")).await;
    assert_eq!(shown["sessions"].as_array().unwrap().len(), 2, "{shown}");
    assert_eq!(shown["sessions"][0]["amr"], json!(["pwd"]), "{shown}");

    let done = admin_json(&app, &format!("disable {id} --reason stolen")).await;
    assert_eq!(done["action"], "disabled");
    assert!(done["operator"].as_str().unwrap().contains("placeholder"), "{done}");
    // Every token refused, by every kind of function and by the authorizer.
    for token in [&access, &other_access] {
        assert_eq!(app.me(token).await.status, 401);
        assert_eq!(app.list_sessions(token).await.status, 401);
        assert_eq!(app.authorize(token).await.unwrap(), json!({ "isAuthorized": false }));
    }
    assert_eq!(app.refresh(&refresh_token).await.status, 401);
    let right = app.login("alice", PASSWORD).await;
    assert_eq!((right.status, right.error_code()), (403, Some("account_disabled")), "{right:?}");
    let wrong = app.login("alice", "not the password at all").await;
    assert_eq!((wrong.status, wrong.error_code()), (401, Some("invalid_credentials")), "{wrong:?}");
    let shown = admin_json(&app, &format!("show {id}")).await;
    assert_eq!(shown["disabled"]["reason"], "stolen", "{shown}");
    assert!(shown["disabled"]["by"].as_str().unwrap().starts_with("local-operator"), "{shown}");
    assert_eq!(shown["sessions"], json!([]), "{shown}");

    assert_eq!(admin_json(&app, &format!("enable {id}")).await["action"], "enabled");
    let again = app.login("alice", PASSWORD).await;
    assert_eq!(again.status, 200, "{again:?}");
    // The old sessions stay ended.
    assert_eq!(app.me(&access).await.status, 401);
    assert_eq!(app.refresh(&refresh_token).await.status, 401);
    let new_access = again.json["access_token"].as_str().unwrap();
    assert_eq!(app.me(new_access).await.status, 200);

    let signed_out = admin_json(&app, &format!("sign-out {id}")).await;
    assert_eq!(signed_out["sessions_ended"], 1, "{signed_out}");
    assert_eq!(app.me(new_access).await.status, 401);

    let (status, text) = admin(&app, &format!("delete {id}")).await;
    assert_eq!(status, 0, "{text}");
    assert!(text.starts_with("deleted: alice"), "{text}");
    assert_eq!(app.login("alice", PASSWORD).await.status, 401);
    assert_eq!(admin(&app, &format!("show {id}")).await, (1, String::new()));
}

#[tokio::test]
async fn the_tool_says_what_is_wrong_and_exits_non_zero() {
    let app = TestApp::spawn().await;
    assert_eq!(admin(&app, "find --username nobody").await.0, 1);
    assert_eq!(admin(&app, "show not-an-id").await.0, 1);
    assert_eq!(admin(&app, "frobnicate").await.0, 2);
    let (id, _) = app.signed_in_user("bob").await;
    assert_eq!(admin(&app, &format!("disable {id}")).await.0, 2, "a reason is required");
    let (status, text) = admin(&app, &format!("show {id}")).await;
    assert_eq!(status, 0);
    assert!(text.contains("username:   bob") && text.contains("2nd factor: none"), "{text}");
}

/// A login waiting for its second factor is refused once the account is
/// disabled, even with the right code.
#[tokio::test]
async fn a_login_waiting_for_its_code_is_refused_once_disabled() {
    let app = TestApp::spawn().await;
    let (id, access) = app.signed_in_user("carol").await;
    let enrolment = app.enrol_totp(&access, PASSWORD).await;
    let secret = user_auth_core::domain::TotpSecret::from_base32(enrolment.json["secret"].as_str().unwrap()).unwrap();
    let step = |app: &TestApp| {
        use user_auth_core::clock::Clock;
        app.clock.now() / 30
    };
    assert_eq!(app.confirm_totp(&access, &secret.code_at(step(&app))).await.status, 200);
    let challenge = app.login("carol", PASSWORD).await;
    let token = challenge.json["mfa_token"].as_str().unwrap().to_owned();
    admin_json(&app, &format!("disable {id} --reason investigation")).await;
    let verified = app.verify_mfa(&token, &secret.code_at(step(&app) + 1)).await;
    assert_eq!((verified.status, verified.error_code()), (401, Some("invalid_code")), "{verified:?}");
}
