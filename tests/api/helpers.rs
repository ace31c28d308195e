//! Test harness: a real DynamoDB Local per test, and a `TestApp` that speaks
//! the API through the functions as their `main` builds them.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use authorize::Authorize;
use aws_sdk_dynamodb::Client;
use change_email::ChangeEmail;
use change_password::ChangePassword;
use confirm_recovery::ConfirmRecovery;
use confirm_totp::ConfirmTotp;
use create_user::CreateUser;
use delete_user::DeleteUser;
use enrol_totp::EnrolTotp;
use get_user::GetUser;
use lambda_http::http::{Method, Request};
use lambda_http::{Body, RequestExt};
use list_activity::ListActivity;
use list_passkeys::ListPasskeys;
use list_sessions::ListSessions;
use login::Login;
use login_with_passkey::LoginWithPasskey;
use logout::Logout;
use new_recovery_codes::NewRecoveryCodes;
use refresh::Refresh;
use register_passkey::RegisterPasskey;
use remove_passkey::RemovePasskey;
use remove_totp::RemoveTotp;
use revoke_session::RevokeSession;
use serde_json::{json, Value};
use start_recovery::StartRecovery;
use user_auth_core::config::{vars, Env};
use user_auth_core::passwords::SharedHasher;
use user_auth_core::sdk_settings::SdkSettings;
use user_auth_core::store::dynamodb::{self, schema, DynamoStore};
use user_auth_core::store::TableNames;
use user_auth_core::test_support::{
    authorizer_event, call, CountingHasher, Fixture, ManualClock, TestKeys, TEST_ORIGIN,
};
pub use user_auth_core::test_support::{TestResponse as ApiResponse, PASSWORD};
use user_auth_core::ApiError;
use verify_email::VerifyEmail;
use verify_mfa::VerifyMfa;

use crate::ses::{self, LocalSes};

/// The key of the one-time codes' hashes.
pub const CODE_HASH_KEY: &str = "a-code-hash-key-for-the-integration-tests";

/// The key of the username pseudonyms in the functions' logs.
pub const USERNAME_LOG_KEY: &str = "a-username-log-key-for-the-tests-only";

/// What the login-attempts table knows of `username`: its keyed hash.
pub fn attempts_name(username: &str) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, USERNAME_LOG_KEY.as_bytes());
    schema::login_attempts::name_key(&key, username)
}

/// Whether process `pid` holds a listening TCP socket on `port`: a socket
/// of `/proc/net/tcp{,6}` in state LISTEN on the port, among its open files.
fn listens_on(pid: u32, port: u16) -> bool {
    let wanted = format!(":{port:04X}");
    let inodes: Vec<String> = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|table| std::fs::read_to_string(table).ok())
        .flat_map(|table| {
            let lines: Vec<Vec<String>> =
                table.lines().skip(1).map(|line| line.split_whitespace().map(str::to_owned).collect()).collect();
            lines
        })
        .filter(|fields| fields.len() > 9 && fields[1].ends_with(&wanted) && fields[3] == "0A")
        .map(|fields| format!("socket:[{}]", fields[9]))
        .collect();
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else { return false };
    fds.filter_map(Result::ok)
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .any(|target| inodes.iter().any(|inode| target.to_str() == Some(inode)))
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port()
}

/// A scratch directory for one test, removed by nobody: it lives under the
/// system temp directory.
pub fn scratch_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let dir = std::env::temp_dir().join(format!("user-auth-tests-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// DynamoDB Local, in memory, on a free port; killed when dropped.
pub struct DynamoDbLocal {
    child: std::sync::Mutex<Option<Child>>,
    pub port: u16,
}

impl DynamoDbLocal {
    /// Starts it in memory and waits until it answers. Panics (never skips)
    /// when it cannot.
    /// Tests run at once, each in a process of its own, so two may be given
    /// the same free port: the one whose DynamoDB Local does not get it
    /// starts again on another.
    pub async fn start() -> Self {
        for _ in 0..5 {
            if let Some(db) = Self::start_on_if_free(free_port(), None).await {
                return db;
            }
        }
        panic!("DynamoDB Local found no free port in 5 tries");
    }

    /// Starts it on `port`, keeping its data in `data_dir` if given (so that
    /// it survives a restart), and waits until it answers.
    pub async fn start_on(port: u16, data_dir: Option<&std::path::Path>) -> Self {
        let started = Self::start_on_if_free(port, data_dir).await;
        started.unwrap_or_else(|| panic!("DynamoDB Local could not start on port {port}"))
    }

    /// [`Self::start_on`], or `None` when another process holds the port.
    async fn start_on_if_free(port: u16, data_dir: Option<&std::path::Path>) -> Option<Self> {
        let dir = std::env::var("DYNAMODB_LOCAL_DIR")
            .expect("DYNAMODB_LOCAL_DIR is not set: run the tests with scripts/test, which installs DynamoDB Local");
        let jar = PathBuf::from(&dir).join("DynamoDBLocal.jar");
        assert!(jar.is_file(), "{} does not exist", jar.display());
        let storage: Vec<String> = match data_dir {
            Some(path) => vec!["-sharedDb".into(), "-dbPath".into(), path.display().to_string()],
            None => vec!["-inMemory".into()],
        };
        // On the loopback interface only, as every local run (scripts/setup.sh).
        let classpath = std::env::var("DYNAMODB_LOCAL_CLASSPATH").expect("DYNAMODB_LOCAL_CLASSPATH is set by setup.sh");
        let child = Command::new("java")
            .arg(format!("-Djava.library.path={dir}/DynamoDBLocal_lib"))
            .args(["-cp", &classpath, "LoopbackDynamoDbLocal"])
            .args(&storage)
            .args(["-disableTelemetry", "-cors", "none", "-port", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("java must be installed to run DynamoDB Local");
        let pid = child.id();
        let db = DynamoDbLocal { child: std::sync::Mutex::new(Some(child)), port };
        let client = db.client().await;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if client.list_tables().send().await.is_ok() {
                // Answered on the port: by this DynamoDB Local, or by another
                // test's that took the port first.
                return listens_on(pid, port).then_some(db);
            }
            if let Some(status) = db.child.lock().unwrap().as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                // As when another process bound the port first.
                eprintln!("DynamoDB Local exited at start with {status}");
                return None;
            }
            assert!(Instant::now() < deadline, "DynamoDB Local did not answer on port {port} within 60 s");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// An SDK client with the service's retry and timeout settings.
    pub async fn client(&self) -> Client {
        dynamodb::client(&SdkSettings::local(&self.endpoint()))
    }

    /// Kills it (SIGKILL), as a crashed host would die.
    pub fn stop(&self) {
        let child = self.child.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
        if let Some(mut child) = child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for DynamoDbLocal {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The service's functions over one DynamoDB Local, built by their own
/// `build` from an environment, as `main` builds them. Two things are the
/// test's own: one clock the test moves by hand, and a hasher that counts
/// the argon2 work it passes on to the real one. Each handler's future is
/// boxed: a test that awaits many of them inline overflows its thread's
/// stack in a debug build.
pub struct TestApp {
    pub db: DynamoDbLocal,
    pub client: Client,
    pub tables: TableNames,
    pub keys: TestKeys,
    pub clock: Arc<ManualClock>,
    pub passwords: Arc<CountingHasher<SharedHasher>>,
    /// The local SES, for an app spawned with mail.
    pub ses: Option<LocalSes>,
    variables: Vec<(&'static str, String)>,
    create_user: CreateUser<DynamoStore>,
    get_user: GetUser<DynamoStore>,
    login: Login<DynamoStore>,
    logout: Logout<DynamoStore>,
    refresh: Refresh<DynamoStore>,
    list_sessions: ListSessions<DynamoStore>,
    list_activity: ListActivity<DynamoStore>,
    revoke_session: RevokeSession<DynamoStore>,
    change_password: ChangePassword<DynamoStore>,
    delete_user: DeleteUser<DynamoStore>,
    verify_email: VerifyEmail<DynamoStore>,
    change_email: ChangeEmail<DynamoStore>,
    start_recovery: StartRecovery<DynamoStore>,
    confirm_recovery: ConfirmRecovery<DynamoStore>,
    enrol_totp: EnrolTotp<DynamoStore>,
    confirm_totp: ConfirmTotp<DynamoStore>,
    remove_totp: RemoveTotp<DynamoStore>,
    new_recovery_codes: NewRecoveryCodes<DynamoStore>,
    pub verify_mfa: VerifyMfa<DynamoStore>,
    authorize: Authorize<DynamoStore>,
    register_passkey: RegisterPasskey<DynamoStore>,
    list_passkeys: ListPasskeys<DynamoStore>,
    remove_passkey: RemovePasskey<DynamoStore>,
    login_with_passkey: LoginWithPasskey<DynamoStore>,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(DynamoDbLocal::start().await).await
    }

    pub async fn spawn_with(db: DynamoDbLocal) -> Self {
        Self::spawn_with_keys(db, TestKeys::generate()).await
    }

    /// The app over its own DynamoDB Local, signing with `keys`. Its mail
    /// goes nowhere: a port nothing listens on.
    pub async fn spawn_with_keys(db: DynamoDbLocal, keys: TestKeys) -> Self {
        Self::spawn_with_everything(db, keys, None).await
    }

    /// The app over its own DynamoDB Local and its own local SES.
    pub async fn spawn_with_mail() -> Self {
        let (db, ses) = tokio::join!(DynamoDbLocal::start(), LocalSes::start());
        Self::spawn_with_everything(db, TestKeys::generate(), Some(ses)).await
    }

    async fn spawn_with_everything(db: DynamoDbLocal, keys: TestKeys, ses: Option<LocalSes>) -> Self {
        let client = db.client().await;
        let tables = TableNames::default();
        schema::create_tables(&client, &tables).await.expect("tables are created");
        let key_file = scratch_dir("keys").join("signing-key.pem");
        std::fs::write(&key_file, &keys.pair.private_key_pem).expect("the signing key is written");
        let variables = vec![
            (vars::AWS_REGION, "eu-west-1".to_owned()),
            (vars::AWS_ACCESS_KEY_ID, "local".to_owned()),
            (vars::AWS_SECRET_ACCESS_KEY, "local".to_owned()),
            (vars::AWS_ENDPOINT_URL_DYNAMODB, db.endpoint()),
            (vars::TOKEN_ISSUER, keys.settings.issuer.clone()),
            (vars::TOKEN_AUDIENCE, keys.settings.audience.clone()),
            (vars::TOKEN_TTL_SECONDS, keys.settings.ttl.as_secs().to_string()),
            (vars::TOKEN_SIGNING_KEY_FILE, key_file.display().to_string()),
            (vars::TOKEN_VERIFYING_KEY, keys.pair.public_key_pem.clone()),
            (vars::USERNAME_LOG_KEY, USERNAME_LOG_KEY.to_owned()),
            (vars::CODE_HASH_KEY, CODE_HASH_KEY.to_owned()),
            (vars::MAIL_FROM, ses::MAIL_FROM.to_owned()),
            (vars::AWS_ENDPOINT_URL_SESV2, ses.as_ref().map_or("http://127.0.0.1:9".to_owned(), LocalSes::endpoint)),
            // The tests sign many users up from one address; the limit has a test of its own.
            (vars::SIGN_UPS_PER_ADDRESS_PER_HOUR, "100000".to_owned()),
            (vars::RECOVERY_PER_ADDRESS_PER_HOUR, "100000".to_owned()),
            // Passkeys as a local run has them: at `localhost`.
            (vars::WEBAUTHN_RP_ID, "localhost".to_owned()),
            (vars::WEBAUTHN_ORIGIN, TEST_ORIGIN.to_owned()),
        ];
        let env = Env::from_pairs(variables.iter().cloned());
        let clock = ManualClock::starting_now();
        let mut create_user = create_user::build(&env).await.expect("create-user starts");
        let mut get_user = get_user::build(&env).await.expect("get-user starts");
        let mut login = login::build(&env).await.expect("login starts");
        let mut logout = logout::build(&env).await.expect("logout starts");
        let mut refresh = refresh::build(&env).await.expect("refresh starts");
        let mut list_sessions = list_sessions::build(&env).await.expect("list-sessions starts");
        let mut list_activity = list_activity::build(&env).await.expect("list-activity starts");
        list_activity.clock = clock.clone();
        let mut revoke_session = revoke_session::build(&env).await.expect("revoke-session starts");
        let mut change_password = change_password::build(&env).await.expect("change-password starts");
        let mut delete_user = delete_user::build(&env).await.expect("delete-user starts");
        let mut verify_email = verify_email::build(&env).await.expect("verify-email starts");
        let mut change_email = change_email::build(&env).await.expect("change-email starts");
        let mut start_recovery = start_recovery::build(&env).await.expect("start-recovery starts");
        let mut confirm_recovery = confirm_recovery::build(&env).await.expect("confirm-recovery starts");
        (start_recovery.clock, confirm_recovery.clock) = (clock.clone(), clock.clone());
        let mut enrol_totp = enrol_totp::build(&env).await.expect("enrol-totp starts");
        let mut confirm_totp = confirm_totp::build(&env).await.expect("confirm-totp starts");
        let mut remove_totp = remove_totp::build(&env).await.expect("remove-totp starts");
        let mut new_recovery_codes = new_recovery_codes::build(&env).await.expect("new-recovery-codes starts");
        let mut verify_mfa = verify_mfa::build(&env).await.expect("verify-mfa starts");
        (enrol_totp.clock, confirm_totp.clock, remove_totp.clock) = (clock.clone(), clock.clone(), clock.clone());
        (new_recovery_codes.clock, verify_mfa.clock) = (clock.clone(), clock.clone());
        let mut register_passkey = register_passkey::build(&env).await.expect("register-passkey starts");
        let mut list_passkeys = list_passkeys::build(&env).await.expect("list-passkeys starts");
        let mut remove_passkey = remove_passkey::build(&env).await.expect("remove-passkey starts");
        let mut login_with_passkey = login_with_passkey::build(&env).await.expect("login-with-passkey starts");
        (register_passkey.clock, list_passkeys.clock) = (clock.clone(), clock.clone());
        (remove_passkey.clock, login_with_passkey.clock) = (clock.clone(), clock.clone());
        let mut authorize = authorize::build(&env).await.expect("authorize starts");
        authorize.clock = clock.clone();
        let passwords = Arc::new(CountingHasher::new(login.passwords.clone()));
        (create_user.passwords, login.passwords) = (passwords.clone(), passwords.clone());
        create_user.clock = clock.clone();
        (change_password.passwords, delete_user.passwords) = (passwords.clone(), passwords.clone());
        (change_email.passwords, change_email.clock) = (passwords.clone(), clock.clone());
        confirm_recovery.passwords = passwords.clone();
        (enrol_totp.passwords, remove_totp.passwords) = (passwords.clone(), passwords.clone());
        (get_user.clock, login.clock, logout.clock) = (clock.clone(), clock.clone(), clock.clone());
        (refresh.clock, list_sessions.clock, revoke_session.clock) = (clock.clone(), clock.clone(), clock.clone());
        (change_password.clock, delete_user.clock, verify_email.clock) = (clock.clone(), clock.clone(), clock.clone());
        TestApp {
            db,
            client,
            tables,
            keys,
            clock,
            passwords,
            ses,
            variables,
            create_user,
            get_user,
            login,
            logout,
            refresh,
            list_sessions,
            list_activity,
            revoke_session,
            change_password,
            delete_user,
            verify_email,
            change_email,
            start_recovery,
            confirm_recovery,
            enrol_totp,
            confirm_totp,
            remove_totp,
            new_recovery_codes,
            verify_mfa,
            authorize,
            register_passkey,
            list_passkeys,
            remove_passkey,
            login_with_passkey,
        }
    }

    /// `POST /users/me/passkeys/registration/options`.
    pub async fn passkey_options(&self, token: &str) -> ApiResponse {
        let request = request(Method::POST, "/users/me/passkeys/registration/options", Some(token), None);
        call(Box::pin(register_passkey::handle(&self.register_passkey, request))).await
    }

    /// `POST /users/me/passkeys/registration` with the browser's credential.
    pub async fn register_passkey(&self, token: &str, name: &str, credential: Value) -> ApiResponse {
        let body = json!({ "name": name, "credential": credential });
        let request = request(Method::POST, "/users/me/passkeys/registration", Some(token), Some(body));
        call(Box::pin(register_passkey::handle(&self.register_passkey, request))).await
    }

    pub async fn list_passkeys(&self, token: &str) -> ApiResponse {
        let request = request(Method::GET, "/users/me/passkeys", Some(token), None);
        call(Box::pin(list_passkeys::handle(&self.list_passkeys, request))).await
    }

    /// `DELETE /users/me/passkeys/{id}` with `body` as it is.
    pub async fn remove_passkey(&self, token: &str, id: &str, body: Value) -> ApiResponse {
        let event = Fixture::parse(include_str!("../../functions/remove-passkey/fixtures/remove-passkey.json"));
        let event = event.bearer(token).path_id("/users/me/passkeys/", id).body(&body.to_string());
        call(Box::pin(remove_passkey::handle(&self.remove_passkey, event.request()))).await
    }

    /// `POST /auth/passkeys/options`.
    pub async fn passkey_sign_in_options(&self) -> ApiResponse {
        let request = request(Method::POST, "/auth/passkeys/options", None, None);
        call(Box::pin(login_with_passkey::handle(&self.login_with_passkey, request))).await
    }

    /// `POST /auth/passkeys/login` with a ceremony and the browser's assertion.
    pub async fn passkey_login(&self, ceremony: &str, credential: Value) -> ApiResponse {
        let body = json!({ "ceremony": ceremony, "credential": credential });
        let request = request(Method::POST, "/auth/passkeys/login", None, Some(body));
        call(Box::pin(login_with_passkey::handle(&self.login_with_passkey, request))).await
    }

    /// The local SES of an app spawned with mail.
    pub fn ses(&self) -> &LocalSes {
        self.ses.as_ref().expect("the app was spawned with mail (TestApp::spawn_with_mail)")
    }

    /// The environment of the functions, with `variables` set over it.
    pub fn env_with(&self, variables: &[(&'static str, &str)]) -> Env {
        let overridden = variables.iter().map(|(name, value)| (*name, value.to_string()));
        Env::from_pairs(self.variables.iter().cloned().chain(overridden))
    }

    /// The authorizer's answer to an event of API Gateway with `token` as
    /// its bearer token: the simple response as JSON, or the fault.
    pub async fn authorize(&self, token: &str) -> Result<Value, ApiError> {
        authorize_with(&self.authorize, token).await
    }

    /// A get-user function as a new Lambda instance would start it: built
    /// anew, sharing nothing in memory with the others.
    pub async fn fresh_get_user(&self) -> GetUser<DynamoStore> {
        let mut function = get_user::build(&Env::from_pairs(self.variables.iter().cloned())).await.unwrap();
        function.clock = self.clock.clone();
        function
    }

    /// A create-user function as a new instance would start it, with
    /// `variables` set over the app's own.
    pub async fn fresh_create_user(&self, variables: &[(&'static str, &str)]) -> CreateUser<DynamoStore> {
        let overridden = variables.iter().map(|(name, value)| (*name, value.to_string()));
        let env = Env::from_pairs(self.variables.iter().cloned().chain(overridden));
        let mut function = create_user::build(&env).await.unwrap();
        (function.clock, function.passwords) = (self.clock.clone(), self.passwords.clone());
        function
    }

    /// A sign-up from `source_ip` to `function`, as API Gateway gives it.
    pub async fn sign_up_from(
        &self,
        function: &CreateUser<DynamoStore>,
        source_ip: &str,
        username: &str,
    ) -> ApiResponse {
        let body = json!({ "username": username, "password": PASSWORD }).to_string();
        let event = Fixture::parse(include_str!("../../functions/create-user/fixtures/create-user.json"));
        call(Box::pin(create_user::handle(function, event.body(&body).source_ip(source_ip).request()))).await
    }

    pub async fn sign_up(&self, username: &str, password: &str) -> ApiResponse {
        let body = json!({ "username": username, "password": password });
        let request = request(Method::POST, "/users", None, Some(body));
        call(Box::pin(create_user::handle(&self.create_user, request))).await
    }

    pub async fn sign_up_with_email(&self, username: &str, email: &str) -> ApiResponse {
        let body = json!({ "username": username, "password": PASSWORD, "email": email });
        let request = request(Method::POST, "/users", None, Some(body));
        call(Box::pin(create_user::handle(&self.create_user, request))).await
    }

    pub async fn verify_email(&self, token: &str, code: &str) -> ApiResponse {
        let request = request(Method::POST, "/users/me/email/verify", Some(token), Some(json!({ "code": code })));
        call(Box::pin(verify_email::handle(&self.verify_email, request))).await
    }

    pub async fn change_email(&self, token: &str, email: &str, password: &str) -> ApiResponse {
        let body = json!({ "email": email, "password": password });
        let request = request(Method::PUT, "/users/me/email", Some(token), Some(body));
        call(Box::pin(change_email::handle(&self.change_email, request))).await
    }

    /// `POST /auth/recovery` from `source_ip`, with `body`; the answer, once
    /// the work after it (the lookup and the mail) is done too.
    pub async fn recover_from(&self, source_ip: &str, body: Value) -> ApiResponse {
        let event = Fixture::parse(include_str!("../../functions/start-recovery/fixtures/start-recovery.json"));
        let request = event.body(&body.to_string()).source_ip(source_ip).request();
        let answer = call(Box::pin(start_recovery::handle(&self.start_recovery, request))).await;
        self.start_recovery.after_response.idle().await;
        answer
    }

    pub async fn confirm_recovery(&self, body: Value) -> ApiResponse {
        let request = request(Method::POST, "/auth/recovery/confirm", None, Some(body));
        call(Box::pin(confirm_recovery::handle(&self.confirm_recovery, request))).await
    }

    pub async fn login(&self, username: &str, password: &str) -> ApiResponse {
        let body = json!({ "username": username, "password": password });
        let request = request(Method::POST, "/auth/login", None, Some(body));
        call(Box::pin(login::handle(&self.login, request))).await
    }

    /// A login answered by `function`, a login function of the test's own.
    pub async fn login_with(&self, function: &Login<DynamoStore>, username: &str, password: &str) -> ApiResponse {
        let body = json!({ "username": username, "password": password });
        call(Box::pin(login::handle(function, request(Method::POST, "/auth/login", None, Some(body))))).await
    }

    /// A login from `source_ip`, as API Gateway gives it.
    pub async fn login_from(&self, source_ip: &str, username: &str, password: &str) -> ApiResponse {
        let body = json!({ "username": username, "password": password }).to_string();
        let event = Fixture::parse(include_str!("../../functions/login/fixtures/login.json"));
        let request = event.body(&body).source_ip(source_ip).request();
        call(Box::pin(login::handle(&self.login, request))).await
    }

    pub async fn get_user(&self, id: &str, token: &str) -> ApiResponse {
        get_user_with(&self.get_user, id, token).await
    }

    /// `GET /users/me`, routed as API Gateway routes it: no path parameter.
    pub async fn me(&self, token: &str) -> ApiResponse {
        call(Box::pin(get_user::handle(&self.get_user, request(Method::GET, "/users/me", Some(token), None)))).await
    }

    pub async fn change_password(&self, token: &str, current: &str, new: &str) -> ApiResponse {
        let body = json!({ "current_password": current, "new_password": new });
        let request = request(Method::POST, "/users/me/password", Some(token), Some(body));
        call(Box::pin(change_password::handle(&self.change_password, request))).await
    }

    /// A password change from `source_ip`, as API Gateway gives it.
    pub async fn change_password_from(&self, source_ip: &str, token: &str, current: &str, new: &str) -> ApiResponse {
        let body = json!({ "current_password": current, "new_password": new }).to_string();
        let event = Fixture::parse(include_str!("../../functions/change-password/fixtures/change-password.json"));
        let request = event.body(&body).bearer(token).source_ip(source_ip).request();
        call(Box::pin(change_password::handle(&self.change_password, request))).await
    }

    pub async fn delete_user(&self, token: &str, password: &str) -> ApiResponse {
        let request = request(Method::DELETE, "/users/me", Some(token), Some(json!({ "password": password })));
        call(Box::pin(delete_user::handle(&self.delete_user, request))).await
    }

    /// `DELETE /users/me` with a code of the second factor.
    pub async fn delete_user_with_code(&self, token: &str, password: &str, code: &str) -> ApiResponse {
        let body = json!({ "password": password, "code": code });
        let request = request(Method::DELETE, "/users/me", Some(token), Some(body));
        call(Box::pin(delete_user::handle(&self.delete_user, request))).await
    }

    /// `POST /users/me/password` with `body` as it is.
    pub async fn change_password_body(&self, token: &str, body: Value) -> ApiResponse {
        let request = request(Method::POST, "/users/me/password", Some(token), Some(body));
        call(Box::pin(change_password::handle(&self.change_password, request))).await
    }

    /// `PUT /users/me/email` with `body` as it is.
    pub async fn change_email_body(&self, token: &str, body: Value) -> ApiResponse {
        let request = request(Method::PUT, "/users/me/email", Some(token), Some(body));
        call(Box::pin(change_email::handle(&self.change_email, request))).await
    }

    pub async fn enrol_totp(&self, token: &str, password: &str) -> ApiResponse {
        let request = request(Method::POST, "/users/me/mfa/totp", Some(token), Some(json!({ "password": password })));
        call(Box::pin(enrol_totp::handle(&self.enrol_totp, request))).await
    }

    pub async fn confirm_totp(&self, token: &str, code: &str) -> ApiResponse {
        let request = request(Method::POST, "/users/me/mfa/totp/confirm", Some(token), Some(json!({ "code": code })));
        call(Box::pin(confirm_totp::handle(&self.confirm_totp, request))).await
    }

    /// `DELETE /users/me/mfa/totp` with `body` as it is.
    pub async fn remove_totp(&self, token: &str, body: Value) -> ApiResponse {
        let request = request(Method::DELETE, "/users/me/mfa/totp", Some(token), Some(body));
        call(Box::pin(remove_totp::handle(&self.remove_totp, request))).await
    }

    pub async fn new_recovery_codes(&self, token: &str, code: &str) -> ApiResponse {
        let body = json!({ "code": code });
        let request = request(Method::POST, "/users/me/mfa/recovery-codes", Some(token), Some(body));
        call(Box::pin(new_recovery_codes::handle(&self.new_recovery_codes, request))).await
    }

    pub async fn verify_mfa(&self, mfa_token: &str, code: &str) -> ApiResponse {
        verify_mfa_with(&self.verify_mfa, mfa_token, code).await
    }

    pub async fn logout(&self, token: &str) -> ApiResponse {
        let request = request(Method::POST, "/auth/logout", Some(token), None);
        call(Box::pin(logout::handle(&self.logout, request))).await
    }

    /// A logout of `scope`: "local", "others" or "global".
    pub async fn logout_scope(&self, token: &str, scope: &str) -> ApiResponse {
        let request = request(Method::POST, "/auth/logout", Some(token), Some(json!({ "scope": scope })));
        call(Box::pin(logout::handle(&self.logout, request))).await
    }

    pub async fn refresh(&self, refresh_token: &str) -> ApiResponse {
        self.refresh_with(&self.refresh, refresh_token).await
    }

    /// A refresh answered by `function`, a refresh function of the test's own.
    pub async fn refresh_with(&self, function: &Refresh<DynamoStore>, refresh_token: &str) -> ApiResponse {
        let body = json!({ "refresh_token": refresh_token });
        call(Box::pin(refresh::handle(function, request(Method::POST, "/auth/refresh", None, Some(body))))).await
    }

    pub async fn list_sessions(&self, token: &str) -> ApiResponse {
        call(Box::pin(list_sessions::handle(
            &self.list_sessions,
            request(Method::GET, "/auth/sessions", Some(token), None),
        )))
        .await
    }

    /// `GET /users/me/activity` with the query string `query` ("" for none).
    pub async fn list_activity(&self, token: &str, query: &str) -> ApiResponse {
        let path = format!("/users/me/activity{}{query}", if query.is_empty() { "" } else { "?" });
        call(Box::pin(list_activity::handle(&self.list_activity, request(Method::GET, &path, Some(token), None)))).await
    }

    pub async fn revoke_session(&self, token: &str, id: &str) -> ApiResponse {
        let path = format!("/auth/sessions/{id}");
        let request = request(Method::DELETE, &path, Some(token), None).with_path_parameters(
            [("id".to_owned(), id.to_owned())].into_iter().collect::<std::collections::HashMap<_, _>>(),
        );
        call(Box::pin(revoke_session::handle(&self.revoke_session, request))).await
    }

    /// Signs up and logs in; returns the user id and an access token.
    pub async fn signed_in_user(&self, username: &str) -> (String, String) {
        let created = self.sign_up(username, PASSWORD).await;
        assert_eq!(created.status, 201, "{created:?}");
        let login = self.login(username, PASSWORD).await;
        assert_eq!(login.status, 200, "{login:?}");
        (created.json["id"].as_str().unwrap().to_owned(), login.json["access_token"].as_str().unwrap().to_owned())
    }
}

/// `POST /auth/mfa/verify`, answered by `function`.
pub async fn verify_mfa_with(function: &VerifyMfa<DynamoStore>, mfa_token: &str, code: &str) -> ApiResponse {
    let body = json!({ "mfa_token": mfa_token, "code": code });
    call(Box::pin(verify_mfa::handle(function, request(Method::POST, "/auth/mfa/verify", None, Some(body))))).await
}

/// [`TestApp::authorize`], asked of `function`.
pub async fn authorize_with(function: &Authorize<DynamoStore>, token: &str) -> Result<Value, ApiError> {
    let bearer = format!("Bearer {token}");
    let event = authorizer_event(Some(&bearer), Some(&bearer));
    let answer = Box::pin(authorize::handle(function, event)).await?;
    Ok(serde_json::to_value(answer).unwrap())
}

pub async fn get_user_with(function: &GetUser<DynamoStore>, id: &str, token: &str) -> ApiResponse {
    let request = request(Method::GET, &format!("/users/{id}"), Some(token), None).with_path_parameters(
        [("id".to_owned(), id.to_owned())].into_iter().collect::<std::collections::HashMap<_, _>>(),
    );
    call(Box::pin(get_user::handle(function, request))).await
}

fn request(method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> lambda_http::Request {
    let mut builder = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    let body = match body {
        Some(json) => {
            builder = builder.header("content-type", "application/json");
            Body::Text(json.to_string())
        }
        None => Body::Empty,
    };
    builder.body(body).expect("a valid request")
}
