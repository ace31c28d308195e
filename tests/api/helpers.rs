//! Test harness: a real DynamoDB Local per test, and a `TestApp` that speaks
//! the API through the real handlers and the real DynamoDB store.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use create_user::CreateUser;
use get_user::GetUser;
use lambda_http::http::{HeaderMap, Method, Request};
use lambda_http::{Body, RequestExt};
use login::Login;
use logout::Logout;
use serde_json::{json, Value};
use user_auth_core::aws::Aws;
use user_auth_core::http::respond;
use user_auth_core::store::dynamodb::{self, schema, DynamoStore};
use user_auth_core::store::TableNames;
use user_auth_core::tokens::{SigningKeyPair, TokenIssuer, TokenSettings, TokenVerifier};

pub const PASSWORD: &str = "correct horse battery staple";

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
    pub async fn start() -> Self {
        Self::start_on(free_port(), None).await
    }

    /// Starts it on `port`, keeping its data in `data_dir` if given (so that
    /// it survives a restart), and waits until it answers.
    pub async fn start_on(port: u16, data_dir: Option<&std::path::Path>) -> Self {
        let dir = std::env::var("DYNAMODB_LOCAL_DIR")
            .expect("DYNAMODB_LOCAL_DIR is not set: run the tests with scripts/test, which installs DynamoDB Local");
        let jar = PathBuf::from(&dir).join("DynamoDBLocal.jar");
        assert!(jar.is_file(), "{} does not exist", jar.display());
        let storage: Vec<String> = match data_dir {
            Some(path) => vec!["-sharedDb".into(), "-dbPath".into(), path.display().to_string()],
            None => vec!["-inMemory".into()],
        };
        let child = Command::new("java")
            .arg(format!("-Djava.library.path={dir}/DynamoDBLocal_lib"))
            .arg("-jar")
            .arg(&jar)
            .args(&storage)
            .args(["-disableTelemetry", "-port", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("java must be installed to run DynamoDB Local");
        let db = DynamoDbLocal { child: std::sync::Mutex::new(Some(child)), port };
        let client = db.client().await;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if client.list_tables().send().await.is_ok() {
                return db;
            }
            if let Some(status) = db.child.lock().unwrap().as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("DynamoDB Local exited at start with {status}");
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
        dynamodb::client(&Aws::local(&self.endpoint()))
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

pub fn token_settings() -> TokenSettings {
    TokenSettings {
        issuer: "user-auth-tests".into(),
        audience: "user-auth-tests".into(),
        ttl: Duration::from_secs(900),
    }
}

/// An answer of the API: status, headers and the JSON body (`Null` if none).
#[derive(Debug)]
pub struct ApiResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub json: Value,
}

impl ApiResponse {
    pub fn error_code(&self) -> Option<&str> {
        self.json["error"]["code"].as_str()
    }
}

/// The service's four handlers over one DynamoDB Local, as deployed.
pub struct TestApp {
    pub db: DynamoDbLocal,
    pub client: Client,
    pub tables: TableNames,
    pub keys: SigningKeyPair,
    create_user: Arc<CreateUser<DynamoStore>>,
    get_user: Arc<GetUser<DynamoStore>>,
    login: Arc<Login<DynamoStore>>,
    logout: Arc<Logout<DynamoStore>>,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(DynamoDbLocal::start().await).await
    }

    pub async fn spawn_with(db: DynamoDbLocal) -> Self {
        let client = db.client().await;
        let tables = TableNames::default();
        schema::create_tables(&client, &tables).await.expect("tables are created");
        let keys = SigningKeyPair::generate().expect("key pair");
        let store = DynamoStore::new(client.clone(), tables.clone());
        let verifier = || TokenVerifier::from_pem(&keys.public_key_pem, &token_settings()).unwrap();
        let issuer = TokenIssuer::from_pem(&keys.private_key_pem, token_settings()).unwrap();
        TestApp {
            create_user: Arc::new(CreateUser { store: store.clone(), password_min_length: 15 }),
            get_user: Arc::new(GetUser { store: store.clone(), verifier: verifier() }),
            login: Arc::new(Login { store: store.clone(), issuer }),
            logout: Arc::new(Logout { store, verifier: verifier() }),
            db,
            client,
            tables,
            keys,
        }
    }

    /// A get-user function as a new Lambda instance would start it: its own
    /// client, store and verifier, sharing nothing in memory with the others.
    pub async fn fresh_get_user(&self) -> Arc<GetUser<DynamoStore>> {
        let store = DynamoStore::new(self.db.client().await, self.tables.clone());
        let verifier = TokenVerifier::from_pem(&self.keys.public_key_pem, &token_settings()).unwrap();
        Arc::new(GetUser { store, verifier })
    }

    pub async fn sign_up(&self, username: &str, password: &str) -> ApiResponse {
        let body = json!({ "username": username, "password": password });
        let request = request(Method::POST, "/users", None, Some(body));
        call(create_user::handle(self.create_user.clone(), request)).await
    }

    pub async fn login(&self, username: &str, password: &str) -> ApiResponse {
        let body = json!({ "username": username, "password": password });
        let request = request(Method::POST, "/auth/login", None, Some(body));
        call(login::handle(self.login.clone(), request)).await
    }

    pub async fn get_user(&self, id: &str, token: &str) -> ApiResponse {
        get_user_with(&self.get_user, id, token).await
    }

    pub async fn logout(&self, token: &str) -> ApiResponse {
        let request = request(Method::POST, "/auth/logout", Some(token), None);
        call(logout::handle(self.logout.clone(), request)).await
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

pub async fn get_user_with(app: &Arc<GetUser<DynamoStore>>, id: &str, token: &str) -> ApiResponse {
    let request = request(Method::GET, &format!("/users/{id}"), Some(token), None).with_path_parameters(
        [("id".to_owned(), id.to_owned())].into_iter().collect::<std::collections::HashMap<_, _>>(),
    );
    call(get_user::handle(app.clone(), request)).await
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

async fn call<Fut>(handler: Fut) -> ApiResponse
where
    Fut: std::future::Future<Output = Result<lambda_http::Response<Body>, user_auth_core::ApiError>> + Send + 'static,
{
    let response = respond(handler).await;
    let json = match response.body() {
        Body::Text(text) => serde_json::from_str(text).expect("every body is JSON"),
        Body::Binary(bytes) => serde_json::from_slice(bytes).expect("every body is JSON"),
        _ => Value::Null,
    };
    ApiResponse { status: response.status().as_u16(), headers: response.headers().clone(), json }
}
