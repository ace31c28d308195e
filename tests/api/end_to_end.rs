//! The functions, built as deployed code is built, driven over HTTP
//! through `cargo lambda watch` and its router: the same paths, methods, path
//! parameters and bodies as behind API Gateway.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::StatusCode;
use serde_json::{json, Value};
use user_auth_core::config::vars;
use user_auth_core::domain::TotpSecret;
use user_auth_core::store::dynamodb::schema;
use user_auth_core::store::TableNames;
use user_auth_core::telemetry;
use user_auth_core::test_support::TestAuthenticator;
use user_auth_core::tokens::SigningKeyPair;

use crate::helpers::{free_port, scratch_dir, DynamoDbLocal, CODE_HASH_KEY, PASSWORD, USERNAME_LOG_KEY};
use crate::ses::{self, LocalSes};

/// What cargo sets in a test's environment, by name or prefix.
const CARGO_SET_FOR_TESTS: [&str; 8] = [
    "CARGO_PKG_",
    "CARGO_MANIFEST_",
    "CARGO_CRATE_",
    "CARGO_BIN_",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_TARGET_TMPDIR",
    "CARGO_CFG_",
    "OUT_DIR",
];

/// `cargo lambda watch` and the function processes it starts, as one process
/// group, stopped together on drop.
struct Watch {
    child: Child,
    log: PathBuf,
}

impl Watch {
    fn start(port: u16, env: &[(&str, String)], log: PathBuf) -> Self {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let out = File::create(&log).unwrap();
        let mut command = Command::new("cargo");
        // Cargo sets these for the test process; a build script that tracks
        // one (ring's tracks CARGO_PKG_NAME) would run again in watch's
        // `cargo run`, and the functions be rebuilt from ring up, twice:
        // here, and by the next build from a shell.
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            if CARGO_SET_FOR_TESTS.iter().any(|prefix| name.starts_with(prefix)) {
                command.env_remove(&*name);
            }
        }
        let child = command
            .args(["lambda", "watch", "--ignore-changes", "-A", "127.0.0.1", "-P", &port.to_string()])
            .current_dir(workspace)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .process_group(0)
            .spawn()
            .expect("cargo-lambda must be on PATH: run the tests with scripts/test");
        Watch { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        std::thread::sleep(Duration::from_millis(300));
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
}

struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("watch answers");
        let status = response.status();
        let text = response.text().await.unwrap();
        let json =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        (status, json)
    }
}

#[tokio::test]
async fn every_route_through_cargo_lambda_watch() {
    let (db, ses) = tokio::join!(DynamoDbLocal::start(), LocalSes::start());
    schema::create_tables(&db.client().await, &TableNames::default()).await.unwrap();
    let dir = scratch_dir("e2e");
    let keys = SigningKeyPair::generate().unwrap();
    let key_file = dir.join("signing-key.pem");
    std::fs::write(&key_file, &keys.private_key_pem).unwrap();

    let port = free_port();
    let env = [
        ("AWS_ENDPOINT_URL_DYNAMODB", db.endpoint()),
        ("AWS_REGION", "eu-west-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "local".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "local".to_owned()),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON".to_owned()),
        (vars::TOKEN_SIGNING_KEY_FILE, key_file.display().to_string()),
        (vars::TOKEN_VERIFYING_KEY, keys.public_key_pem.clone()),
        (vars::USERNAME_LOG_KEY, USERNAME_LOG_KEY.to_owned()),
        (vars::CODE_HASH_KEY, CODE_HASH_KEY.to_owned()),
        (vars::MAIL_FROM, ses::MAIL_FROM.to_owned()),
        (vars::AWS_ENDPOINT_URL_SESV2, ses.endpoint()),
        // The base URL is the issuer, as a deployment's public one is.
        (vars::TOKEN_ISSUER, format!("http://127.0.0.1:{port}")),
        (vars::LOCAL_EMULATOR, "cargo-lambda-watch".to_owned()),
        // Passkeys at `localhost`, as a browser opens a local run's pages.
        (vars::WEBAUTHN_RP_ID, "localhost".to_owned()),
        (vars::WEBAUTHN_ORIGIN, format!("http://localhost:{port}")),
    ];
    let watch = Watch::start(port, &env, dir.join("watch.log"));
    let deadline = Instant::now() + Duration::from_secs(120);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "cargo lambda watch did not listen within 120 s:\n{}", watch.log());
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // The first request to each function may compile it.
    let api = Api {
        base: format!("http://127.0.0.1:{port}"),
        http: reqwest::Client::builder().timeout(Duration::from_secs(300)).build().unwrap(),
    };
    use reqwest::Method;

    let credentials = json!({ "username": "Frank", "password": PASSWORD });
    let (status, user) = api.send(Method::POST, "/users", None, Some(credentials.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{user}\n{}", watch.log());
    assert_eq!(user["username"], "frank");
    let id = user["id"].as_str().unwrap().to_owned();

    let (status, error) = api.send(Method::POST, "/users", None, Some(credentials.clone())).await;
    assert_eq!((status, &error["error"]["code"]), (StatusCode::CONFLICT, &json!("username_taken")));

    let (status, error) = api.send(Method::POST, "/users", None, Some(json!({"username": 5}))).await;
    assert_eq!((status, &error["error"]["code"]), (StatusCode::BAD_REQUEST, &json!("invalid_request")));

    let (status, token) = api.send(Method::POST, "/auth/login", None, Some(credentials.clone())).await;
    assert_eq!(status, StatusCode::OK, "{token}\n{}", watch.log());
    let first_refresh_token = token["refresh_token"].as_str().unwrap().to_owned();

    // Refresh: a new access token and the session's next refresh token.
    let body = json!({ "refresh_token": first_refresh_token });
    let (status, token) = api.send(Method::POST, "/auth/refresh", None, Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{token}\n{}", watch.log());
    let access_token = token["access_token"].as_str().unwrap().to_owned();
    let refresh_token = token["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(refresh_token, first_refresh_token);

    // The key set names the key that signed the token, and holds no private part.
    let (status, set) = api.send(Method::GET, "/.well-known/jwks.json", None, None).await;
    assert_eq!(status, StatusCode::OK, "{set}\n{}", watch.log());
    let header = jsonwebtoken::decode_header(&access_token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    assert_eq!(set["keys"].as_array().map(Vec::len), Some(1), "{set}");
    assert_eq!(set["keys"][0]["kid"].as_str(), header.kid.as_deref(), "{set}");
    assert!(set["keys"][0].get("d").is_none(), "{set}");
    // The discovery document points to it, and names the tokens' issuer.
    let (status, discovery) = api.send(Method::GET, "/.well-known/openid-configuration", None, None).await;
    assert_eq!(status, StatusCode::OK, "{discovery}");
    assert_eq!(discovery["jwks_uri"], format!("{}/.well-known/jwks.json", api.base));
    let payload = access_token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert_eq!(claims["iss"], discovery["issuer"]);

    // A second session, listed beside this one, then revoked from this one.
    let (_, other) = api.send(Method::POST, "/auth/login", None, Some(credentials.clone())).await;
    let (status, listed) = api.send(Method::GET, "/auth/sessions", Some(&access_token), None).await;
    assert_eq!(status, StatusCode::OK, "{listed}\n{}", watch.log());
    let sessions = listed["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2, "{listed}");
    let other_id = sessions.iter().find(|s| s["current"] == false).unwrap()["id"].as_str().unwrap().to_owned();
    let (status, _) = api.send(Method::DELETE, &format!("/auth/sessions/{other_id}"), Some(&access_token), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{}", watch.log());
    let other_access = other["access_token"].as_str().unwrap();
    let (status, _) = api.send(Method::GET, &format!("/users/{id}"), Some(other_access), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a revoked session's token still works");

    // The revocation, newest first in the activity, from this address; the page after, by its cursor.
    let (status, page) = api.send(Method::GET, "/users/me/activity?limit=2", Some(&access_token), None).await;
    assert_eq!(status, StatusCode::OK, "{page}\n{}", watch.log());
    assert_eq!(page["events"][0]["type"], "session_revoked", "{page}");
    assert_eq!(page["events"][0]["session_id"], other_id.as_str(), "{page}");
    assert_eq!(page["events"][0]["source_ip"], "127.0.0.1", "{page}");
    assert_eq!(page["events"][1]["type"], "login_succeeded", "{page}");
    let cursor = page["next_cursor"].as_str().expect("more events");
    let (status, next) = api
        .send(Method::GET, &format!("/users/me/activity?limit=100&cursor={cursor}"), Some(&access_token), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{next}");
    assert_eq!(next["events"].as_array().unwrap().last().unwrap()["type"], "signed_up", "{next}");
    assert!(next["next_cursor"].is_null(), "{next}");

    // A passkey, registered in two steps and listed; then a sign-in with it
    // alone, no username, its tokens' amr saying so; then removed with the
    // password.
    let mut authenticator = TestAuthenticator::new(&format!("http://localhost:{port}"));
    let (status, options) =
        api.send(Method::POST, "/users/me/passkeys/registration/options", Some(&access_token), None).await;
    assert_eq!(status, StatusCode::OK, "{options}\n{}", watch.log());
    let credential = authenticator.register(&options).unwrap();
    let body = json!({ "name": "Laptop", "credential": credential });
    let (status, passkey) =
        api.send(Method::POST, "/users/me/passkeys/registration", Some(&access_token), Some(body)).await;
    assert_eq!((status, &passkey["name"]), (StatusCode::CREATED, &json!("Laptop")), "{passkey}\n{}", watch.log());
    let (status, listed) = api.send(Method::GET, "/users/me/passkeys", Some(&access_token), None).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(listed["passkeys"][0]["id"], passkey["id"], "{listed}");
    let (status, started) = api.send(Method::POST, "/auth/passkeys/options", None, None).await;
    assert_eq!(status, StatusCode::OK, "{started}\n{}", watch.log());
    let answer = authenticator.sign_in(&started["options"]).unwrap();
    let body = json!({ "ceremony": started["ceremony"], "credential": answer });
    let (status, signed_in) = api.send(Method::POST, "/auth/passkeys/login", None, Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{signed_in}\n{}", watch.log());
    let payload = signed_in["access_token"].as_str().unwrap().split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert_eq!((&claims["sub"], &claims["amr"]), (&json!(id), &json!(["hwk", "user"])), "{claims}");
    let path = format!("/users/me/passkeys/{}", passkey["id"].as_str().unwrap());
    let (status, _) = api.send(Method::DELETE, &path, Some(&access_token), Some(json!({ "password": PASSWORD }))).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{}", watch.log());

    // The public profile: the 201's, without the address and second-factor
    // fields only the owner sees.
    let mut public = user.clone();
    public.as_object_mut().unwrap().retain(|field, _| !field.starts_with("email") && field != "mfa");
    let (status, fetched) = api.send(Method::GET, &format!("/users/{id}"), Some(&access_token), None).await;
    assert_eq!((status, &fetched), (StatusCode::OK, &public), "{}", watch.log());

    let (status, error) = api.send(Method::GET, &format!("/users/{id}"), None, None).await;
    assert_eq!((status, &error["error"]["code"]), (StatusCode::UNAUTHORIZED, &json!("invalid_token")));

    // Yourself, on the literal route before /users/{id}.
    let (status, me) = api.send(Method::GET, "/users/me", Some(&access_token), None).await;
    assert_eq!((status, &me), (StatusCode::OK, &user), "{}", watch.log());

    // A password change from this session ends the other one (already
    // revoked above, so log in again first) and keeps this one.
    let (_, third) = api.send(Method::POST, "/auth/login", None, Some(credentials.clone())).await;
    let third_access = third["access_token"].as_str().unwrap().to_owned();
    let new_password = "a brand new passphrase to remember";
    let change = json!({ "current_password": PASSWORD, "new_password": new_password });
    let (status, body) = api.send(Method::POST, "/users/me/password", Some(&access_token), Some(change)).await;
    assert_eq!((status, &body), (StatusCode::NO_CONTENT, &Value::Null), "{}", watch.log());
    let (status, _) = api.send(Method::GET, "/users/me", Some(&third_access), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a session outlived the password change");
    let (status, error) = api.send(Method::POST, "/auth/login", None, Some(credentials.clone())).await;
    assert_eq!((status, &error["error"]["code"]), (StatusCode::UNAUTHORIZED, &json!("invalid_credentials")));
    let new_credentials = json!({ "username": "frank", "password": new_password });
    let (status, _) = api.send(Method::POST, "/auth/login", None, Some(new_credentials.clone())).await;
    assert_eq!(status, StatusCode::OK);

    let scope = json!({ "scope": "global" });
    let (status, body) = api.send(Method::POST, "/auth/logout", Some(&access_token), Some(scope)).await;
    assert_eq!((status, &body), (StatusCode::NO_CONTENT, &Value::Null), "{}", watch.log());

    let (status, error) = api.send(Method::GET, &format!("/users/{id}"), Some(&access_token), None).await;
    assert_eq!((status, &error["error"]["code"]), (StatusCode::UNAUTHORIZED, &json!("invalid_token")));

    let (status, error) = api
        .send(Method::POST, "/auth/login", None, Some(json!({"username": "frank", "password": "wrong wrong wrong"})))
        .await;
    assert_eq!((status, &error["error"]["code"]), (StatusCode::UNAUTHORIZED, &json!("invalid_credentials")));

    // The account deleted, the password asked again: then nothing is left.
    let (status, token) = api.send(Method::POST, "/auth/login", None, Some(new_credentials.clone())).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    let last_access = token["access_token"].as_str().unwrap().to_owned();
    let wrong = json!({ "password": "wrong wrong wrong" });
    let (status, error) = api.send(Method::DELETE, "/users/me", Some(&last_access), Some(wrong)).await;
    assert_eq!((status, &error["error"]["code"]), (StatusCode::UNAUTHORIZED, &json!("invalid_credentials")));
    let right = json!({ "password": new_password });
    let (status, body) = api.send(Method::DELETE, "/users/me", Some(&last_access), Some(right)).await;
    assert_eq!((status, &body), (StatusCode::NO_CONTENT, &Value::Null), "{}", watch.log());
    let (status, _) = api.send(Method::GET, "/users/me", Some(&last_access), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = api.send(Method::POST, "/auth/login", None, Some(new_credentials)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = api.send(Method::POST, "/users", None, Some(credentials)).await;
    assert_eq!(status, StatusCode::CREATED, "the name is not free again");

    // An address given at sign-up, verified with the code the local SES
    // received, read as a person reads it.
    let grace = json!({ "username": "grace", "password": PASSWORD, "email": "grace@example.org" });
    let (status, created) = api.send(Method::POST, "/users", None, Some(grace.clone())).await;
    assert_eq!((status, &created["email_verified"]), (StatusCode::CREATED, &json!(false)), "{created}");
    let code = ses.code_sent_to("grace@example.org").await;
    let (_, token) = api.send(Method::POST, "/auth/login", None, Some(grace)).await;
    let grace_access = token["access_token"].as_str().unwrap().to_owned();
    let (status, error) =
        api.send(Method::POST, "/users/me/email/verify", Some(&grace_access), Some(json!({ "code": "x" }))).await;
    assert_eq!((status, &error["error"]["code"]), (StatusCode::BAD_REQUEST, &json!("invalid_code")));
    let (status, body) =
        api.send(Method::POST, "/users/me/email/verify", Some(&grace_access), Some(json!({ "code": code }))).await;
    assert_eq!((status, &body), (StatusCode::NO_CONTENT, &Value::Null), "{}", watch.log());
    let (_, me) = api.send(Method::GET, "/users/me", Some(&grace_access), None).await;
    assert_eq!((&me["email"], &me["email_verified"]), (&json!("grace@example.org"), &json!(true)), "{me}");

    // Grace forgets her password: the recovery code arrives after the
    // answer, and the reset ends her session.
    let (status, answer) =
        api.send(Method::POST, "/auth/recovery", None, Some(json!({ "email": "grace@example.org" }))).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}\n{}", watch.log());
    let (status, unknown) =
        api.send(Method::POST, "/auth/recovery", None, Some(json!({ "email": "nobody@example.org" }))).await;
    assert_eq!((status, &unknown), (StatusCode::ACCEPTED, &answer));
    let recovery_code = {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let newest = ses.sent_to("grace@example.org").await.pop().unwrap();
            if newest.subject.contains("recovery") {
                break crate::ses::code_in(&newest.body).unwrap();
            }
            assert!(Instant::now() < deadline, "no recovery code arrived:\n{}", watch.log());
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    let reset = json!({ "username": "grace", "code": recovery_code, "new_password": new_password });
    let (status, body) = api.send(Method::POST, "/auth/recovery/confirm", None, Some(reset)).await;
    assert_eq!((status, &body), (StatusCode::NO_CONTENT, &Value::Null), "{}", watch.log());
    let (status, _) = api.send(Method::GET, "/users/me", Some(&grace_access), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a session outlived the recovery");

    // Grace adds an authenticator app: from then on a login waits for a
    // code of it, and the token says it was given.
    let grace = json!({ "username": "grace", "password": new_password });
    let (_, token) = api.send(Method::POST, "/auth/login", None, Some(grace.clone())).await;
    let grace_access = token["access_token"].as_str().unwrap().to_owned();
    let enrol = json!({ "password": new_password });
    let (status, enrolment) = api.send(Method::POST, "/users/me/mfa/totp", Some(&grace_access), Some(enrol)).await;
    assert_eq!(status, StatusCode::OK, "{enrolment}\n{}", watch.log());
    let secret_text = enrolment["secret"].as_str().unwrap().to_owned();
    let secret = TotpSecret::from_base32(&secret_text).unwrap();
    let step = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() / 30;
    let confirm = json!({ "code": secret.code_at(step) });
    let (status, confirmed) =
        api.send(Method::POST, "/users/me/mfa/totp/confirm", Some(&grace_access), Some(confirm)).await;
    assert_eq!(status, StatusCode::OK, "{confirmed}\n{}", watch.log());
    let recovery_codes = confirmed["recovery_codes"].as_array().unwrap().clone();
    assert_eq!(recovery_codes.len(), 10, "{confirmed}");
    let notice = ses.sent_to("grace@example.org").await.pop().unwrap();
    assert!(notice.subject.contains("second factor was added"), "{notice:?}");
    let (status, challenge) = api.send(Method::POST, "/auth/login", None, Some(grace)).await;
    assert_eq!((status, &challenge["mfa_required"]), (StatusCode::OK, &json!(true)), "{challenge}");
    assert!(challenge.get("access_token").is_none(), "{challenge}");
    // The code of the next step: the confirmation spent this one.
    let verify = json!({ "mfa_token": challenge["mfa_token"], "code": secret.code_at(step + 1) });
    let (status, tokens) = api.send(Method::POST, "/auth/mfa/verify", None, Some(verify)).await;
    assert_eq!(status, StatusCode::OK, "{tokens}\n{}", watch.log());
    let mfa_access = tokens["access_token"].as_str().unwrap().to_owned();
    let payload = mfa_access.split('.').nth(1).unwrap();
    let mfa_claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert_eq!(mfa_claims["amr"], json!(["pwd", "otp"]), "{mfa_claims}");
    let (_, me) = api.send(Method::GET, "/users/me", Some(&mfa_access), None).await;
    assert_eq!(me["mfa"], json!({ "totp": true, "recovery_codes_left": 10 }), "{me}");
    let removal = json!({ "password": new_password, "code": recovery_codes[0] });
    let (status, body) = api.send(Method::DELETE, "/users/me/mfa/totp", Some(&mfa_access), Some(removal)).await;
    assert_eq!((status, &body), (StatusCode::NO_CONTENT, &Value::Null), "{}", watch.log());

    // Log hygiene: the functions log JSON lines that carry the request id, and
    // no password, token, hash or key ever reaches the log.
    let log = watch.log();
    assert!(!log.contains(PASSWORD) && !log.contains(new_password), "a password reached the log");
    assert!(!log.contains(&access_token), "a token reached the log");
    assert!(!log.contains(&refresh_token) && !log.contains(&first_refresh_token), "a refresh token reached the log");
    assert!(!log.contains("$argon2id$"), "a password hash reached the log");
    assert!(!log.contains(&code) && !log.contains(&recovery_code), "a one-time code reached the log");
    assert!(!log.contains("grace@example.org"), "an address reached the log");
    assert!(!log.contains(&secret_text), "a second factor's secret reached the log");
    let recovery_code_text = recovery_codes[0].as_str().unwrap();
    assert!(!log.contains(recovery_code_text), "a recovery code reached the log");
    assert!(!log.contains(challenge["mfa_token"].as_str().unwrap()), "an mfa_token reached the log");
    let key_body = keys.private_key_pem.lines().nth(1).unwrap();
    assert!(!log.contains(key_body), "the signing key reached the log");
    let function_lines: Vec<Value> = log.lines().filter_map(|line| serde_json::from_str::<Value>(line).ok()).collect();
    // A failed password check names the user by its keyed hash and the
    // address, never by the name.
    assert!(!log.contains("frank"), "a username reached the log");
    telemetry::use_username_log_key(&USERNAME_LOG_KEY.to_owned().into());
    let failures: Vec<&Value> =
        function_lines.iter().filter(|line| line["fields"]["message"] == "password check failed").collect();
    // The old password after the change, a wrong one, a wrong deletion
    // password, and the new one after the deletion.
    assert_eq!(failures.len(), 4, "{log}");
    for failure in failures {
        assert_eq!(failure["fields"]["username"], telemetry::username_pseudonym("frank"), "{failure}");
        assert_eq!(failure["fields"]["source_ip"], "127.0.0.1", "{failure}");
    }
    let request_lines: Vec<&Value> = function_lines
        .iter()
        .filter(|line| !line["fields"]["message"].as_str().unwrap_or("").contains("CONCURRENCY"))
        // A metric (embedded metric format) is a line of its own, not a log event.
        .filter(|line| line.get("_aws").is_none())
        .collect();
    assert!(request_lines.len() >= 8, "too few JSON log lines:\n{log}");
    assert!(!log.contains("activity not recorded"), "an event was not written:\n{log}");
    for line in request_lines {
        assert!(line["span"]["requestId"].as_str().is_some_and(|id| !id.is_empty()), "no request id: {line}");
    }
}
