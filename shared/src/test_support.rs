//! What the tests of every crate share (feature `test-support`, for tests
//! only): keys, a clock that tests move by hand, a hasher that counts its
//! work, API Gateway fixtures edited as JSON, and handler calls read back as
//! JSON.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use lambda_http::http::HeaderMap;
use lambda_http::{Body, Request, Response};
use secrecy::SecretString;
use serde_json::Value;

use crate::clock::{self, Clock, SystemClock};
use crate::config::{
    DEFAULT_MAX_SESSIONS_PER_USER, DEFAULT_PASSWORD_MIN_LENGTH, DEFAULT_SESSION_IDLE, DEFAULT_SESSION_TTL,
};
use crate::domain::{Client, Password, SessionId, SessionLifetime, UserId};
use crate::edge::{respond, AuthorizerRequest};
use crate::operations::{self, LoginAttempt, LoginPolicy};
use crate::passwords::Argon2id;
use crate::passwords::{HashingError, PasswordHash, PasswordHasher};
use crate::startup::Authenticated;
use crate::store::memory::MemoryStore;
use crate::tokens::{SigningKeyPair, TokenIssuer, TokenSettings, TokenVerifier};
use crate::ApiError;

/// A password that meets the default policy.
pub const PASSWORD: &str = "correct horse battery staple";

/// The default shortest password, as the functions apply it.
pub const MIN_LENGTH: usize = DEFAULT_PASSWORD_MIN_LENGTH;

/// The default session lifetime: 30 days, 7 idle.
pub const LIFETIME: SessionLifetime =
    SessionLifetime { absolute: DEFAULT_SESSION_TTL.as_secs(), idle: Some(DEFAULT_SESSION_IDLE.as_secs()) };

/// The default login policy: that lifetime, and the default cap of sessions.
pub const LOGIN: LoginPolicy = LoginPolicy { lifetime: LIFETIME, max_sessions: DEFAULT_MAX_SESSIONS_PER_USER };

/// The host's clock reading.
/// The key of one-time code hashes in tests.
pub const CODE_HASH_KEY: &str = "a-code-hash-key-for-the-tests-only-0123";

pub fn code_hasher() -> crate::domain::CodeHasher {
    crate::domain::CodeHasher::new(&secrecy::SecretString::from(CODE_HASH_KEY))
}

pub fn factor_keys() -> crate::domain::FactorKeys {
    crate::domain::FactorKeys::new(&secrecy::SecretString::from(CODE_HASH_KEY))
}

pub fn cursor_key() -> crate::domain::CursorKey {
    crate::domain::CursorKey::new(&secrecy::SecretString::from(CODE_HASH_KEY))
}

/// No code: what a request to an account without a second factor sends.
pub fn no_code(keys: &crate::domain::FactorKeys) -> crate::operations::FactorProof<'_> {
    crate::operations::FactorProof { keys, code: None }
}

pub fn now() -> u64 {
    SystemClock.now()
}

/// A fresh key pair (Ed25519 unless asked otherwise) and the token settings of the tests.
pub struct TestKeys {
    pub pair: SigningKeyPair,
    pub settings: TokenSettings,
}

impl TestKeys {
    pub fn generate() -> Self {
        Self::generate_for(jsonwebtoken::Algorithm::EdDSA)
    }

    /// A pair for `algorithm`: EdDSA (Ed25519) or ES256 (P-256).
    pub fn generate_for(algorithm: jsonwebtoken::Algorithm) -> Self {
        let settings = TokenSettings {
            issuer: "user-auth-tests".into(),
            audience: "user-auth-tests".into(),
            ttl: Duration::from_secs(900),
        };
        TestKeys { pair: SigningKeyPair::generate_for(algorithm).expect("a key pair"), settings }
    }

    pub fn issuer(&self) -> TokenIssuer {
        TokenIssuer::from_pem(&self.pair.private_key_pem, self.settings.clone()).expect("a signing key")
    }

    pub fn verifier(&self) -> TokenVerifier {
        TokenVerifier::from_pem(&self.pair.public_key_pem, &self.settings).expect("a verifying key")
    }

    /// `claims` signed with this key under a header of the test's choosing:
    /// the type `typ` and the key id `kid` (none when `None`).
    pub fn sign_with_header(&self, typ: Option<&str>, kid: Option<&str>, claims: &impl serde::Serialize) -> String {
        let _installs_the_cryptography = self.issuer();
        let key = jsonwebtoken::EncodingKey::from_ed_pem(self.pair.private_key_pem.as_bytes()).expect("a signing key");
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
        (header.typ, header.kid) = (typ.map(String::from), kid.map(String::from));
        jsonwebtoken::encode(&header, claims, &key).expect("a signed token")
    }
}

/// A clock that moves only when told: starts at the host's time.
#[derive(Debug)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    pub fn starting_now() -> Arc<Self> {
        Arc::new(ManualClock(AtomicU64::new(now())))
    }

    pub fn advance(&self, seconds: u64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// A hasher that counts the hashes and verifications it passes on, to prove
/// that a refused request did no argon2 work.
pub struct CountingHasher<H> {
    inner: H,
    hashes: AtomicU64,
    verifications: AtomicU64,
}

impl<H: PasswordHasher> CountingHasher<H> {
    pub fn new(inner: H) -> Self {
        CountingHasher { inner, hashes: AtomicU64::new(0), verifications: AtomicU64::new(0) }
    }

    pub fn hashes(&self) -> u64 {
        self.hashes.load(Ordering::SeqCst)
    }

    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::SeqCst)
    }
}

impl<H: PasswordHasher> PasswordHasher for CountingHasher<H> {
    fn hash(&self, password: Password) -> BoxFuture<'_, Result<PasswordHash, HashingError>> {
        self.hashes.fetch_add(1, Ordering::SeqCst);
        self.inner.hash(password)
    }

    fn verify(
        &self,
        candidate: SecretString,
        stored: Option<PasswordHash>,
    ) -> BoxFuture<'_, Result<bool, HashingError>> {
        self.verifications.fetch_add(1, Ordering::SeqCst);
        self.inner.verify(candidate, stored)
    }
}

/// An API Gateway v2 event, parsed, to be edited field by field so that
/// reformatting the fixture file cannot break a test.
#[derive(Debug, Clone)]
pub struct Fixture(pub Value);

impl Fixture {
    pub fn parse(json: &str) -> Self {
        Fixture(serde_json::from_str(json).expect("a fixture is JSON"))
    }

    /// Sets a plain-text body.
    pub fn body(mut self, body: &str) -> Self {
        self.0["body"] = body.into();
        self.0["isBase64Encoded"] = false.into();
        self
    }

    /// Sets a body given base64-encoded, as API Gateway passes binary bodies.
    pub fn base64_body(mut self, encoded: &str) -> Self {
        self.0["body"] = encoded.into();
        self.0["isBase64Encoded"] = true.into();
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.0["headers"][name] = value.into();
        self
    }

    pub fn without_header(mut self, name: &str) -> Self {
        self.0["headers"].as_object_mut().expect("headers").remove(name);
        self
    }

    /// The client's address, as API Gateway gives it.
    pub fn source_ip(mut self, ip: &str) -> Self {
        self.0["requestContext"]["http"]["sourceIp"] = ip.into();
        self
    }

    /// Sets the query string, as API Gateway gives it: raw and parsed.
    pub fn query(mut self, pairs: &[(&str, &str)]) -> Self {
        let raw: Vec<String> = pairs.iter().map(|(name, value)| format!("{name}={value}")).collect();
        self.0["rawQueryString"] = raw.join("&").into();
        let parsed: serde_json::Map<String, Value> =
            pairs.iter().map(|(name, value)| (name.to_string(), Value::from(*value))).collect();
        match parsed.is_empty() {
            true => drop(self.0.as_object_mut().expect("an event").remove("queryStringParameters")),
            false => self.0["queryStringParameters"] = Value::Object(parsed),
        }
        self
    }

    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    /// Routes the event to `{prefix}{id}`, with the path parameter `id`.
    pub fn path_id(self, prefix: &str, id: &str) -> Self {
        self.path(&format!("{prefix}{id}"), Some(("id", id)))
    }

    /// Sets the path, and the path parameter `name` to the last segment.
    pub fn path(mut self, path: &str, parameter: Option<(&str, &str)>) -> Self {
        self.0["rawPath"] = path.into();
        self.0["requestContext"]["http"]["path"] = path.into();
        match parameter {
            Some((name, value)) => self.0["pathParameters"] = serde_json::json!({ name: value }),
            None => {
                self.0.as_object_mut().expect("an event").remove("pathParameters");
            }
        }
        self
    }

    pub fn request(&self) -> Request {
        lambda_http::request::from_str(&self.0.to_string()).expect("the fixture is an API Gateway v2 event")
    }
}

/// The authorizer's fixture, an API Gateway authorizer event, with
/// `identity_source` as its identity source and `header` as its
/// `Authorization` header (neither, where `None`).
pub fn authorizer_event(identity_source: Option<&str>, header: Option<&str>) -> AuthorizerRequest {
    let mut json: Value =
        serde_json::from_str(include_str!("../../functions/authorize/fixtures/authorize.json")).expect("JSON");
    json["identitySource"] = identity_source.map_or(Value::Null, |value| serde_json::json!([value]));
    match header {
        Some(value) => json["headers"]["authorization"] = value.into(),
        None => {
            json["headers"].as_object_mut().expect("headers").remove("authorization");
        }
    }
    serde_json::from_value(json).expect("an authorizer event of API Gateway")
}

/// An answer of a handler: status, headers and the JSON body (`Null` if none).
#[derive(Debug)]
pub struct TestResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub json: Value,
}

impl TestResponse {
    pub fn error_code(&self) -> Option<&str> {
        self.json["error"]["code"].as_str()
    }

    pub fn from_response(response: Response<Body>) -> Self {
        let json = match response.body() {
            Body::Text(text) => serde_json::from_str(text).expect("every body is JSON"),
            Body::Binary(bytes) => serde_json::from_slice(bytes).expect("every body is JSON"),
            _ => Value::Null,
        };
        TestResponse { status: response.status().as_u16(), headers: response.headers().clone(), json }
    }
}

/// Runs a handler as `edge::serve` does and reads its answer back.
pub async fn call(handler: impl std::future::Future<Output = Result<Response<Body>, ApiError>>) -> TestResponse {
    TestResponse::from_response(respond(handler).await)
}

/// [`call`], for a handler whose every answer has a JSON object for a body.
pub async fn call_json(handler: impl std::future::Future<Output = Result<Response<Body>, ApiError>>) -> TestResponse {
    let answer = call(handler).await;
    assert!(answer.json.is_object(), "an answer without a JSON object body: {answer:?}");
    answer
}

/// A further session of a [`SignedIn`] user.
pub struct OtherSession {
    pub session_id: SessionId,
    pub access_token: String,
    pub refresh_token: String,
}

/// A user who has logged in, over a memory store, for the handler tests of
/// the functions that serve token holders.
pub struct SignedIn {
    pub store: MemoryStore,
    pub keys: Arc<TestKeys>,
    pub username: String,
    pub user_id: UserId,
    pub session_id: SessionId,
    pub access_token: String,
    pub refresh_token: String,
}

impl SignedIn {
    /// Signs `username` up on a new store with new keys, and logs in.
    pub async fn new(username: &str) -> Self {
        Self::on(MemoryStore::default(), Arc::new(TestKeys::generate()), username, None).await
    }

    /// Signs `username` up with the unverified address `email`, and logs in.
    pub async fn with_email(username: &str, email: &str) -> Self {
        Self::on(MemoryStore::default(), Arc::new(TestKeys::generate()), username, Some(email)).await
    }

    async fn on(store: MemoryStore, keys: Arc<TestKeys>, username: &str, email: Option<&str>) -> Self {
        let sign_up = operations::SignUp::parse(username, PASSWORD.into(), MIN_LENGTH, email).expect("a valid sign-up");
        operations::register(&store, &Argon2id, sign_up).await.expect("a sign-up");
        let mut signed_in = SignedIn {
            store,
            keys,
            username: username.to_owned(),
            user_id: UserId::new_random(),
            session_id: SessionId::new_random(),
            access_token: String::new(),
            refresh_token: String::new(),
        };
        let issued = signed_in.login().await;
        let claims = signed_in.keys.verifier().verify(&issued.access.access_token, now()).expect("a valid token");
        signed_in.user_id = UserId::parse(&claims.sub).expect("a user id");
        signed_in.session_id = SessionId::parse(&claims.sid).expect("a session id");
        (signed_in.access_token, signed_in.refresh_token) = (issued.access.access_token, issued.refresh_token);
        signed_in
    }

    async fn login(&self) -> operations::IssuedSession {
        let client = Client { user_agent: "curl/8.5.0".into(), source_ip: "203.0.113.10".into() };
        let attempt = LoginAttempt { username: self.username.clone(), password: PASSWORD.into(), client };
        operations::login(&self.store, &Argon2id, &self.keys.issuer(), LOGIN, now(), attempt)
            .await
            .expect("a login")
            .into_session()
            .expect("no second factor")
    }

    /// Starts another session of the same user; its id.
    pub async fn log_in_again(&self) -> SessionId {
        self.another_session().await.session_id
    }

    /// Starts another session of the same user; its id and tokens.
    pub async fn another_session(&self) -> OtherSession {
        let issued = self.login().await;
        let claims = self.keys.verifier().verify(&issued.access.access_token, now()).expect("a valid token");
        OtherSession {
            session_id: SessionId::parse(&claims.sid).expect("a session id"),
            access_token: issued.access.access_token,
            refresh_token: issued.refresh_token,
        }
    }

    /// Another user, signed in on the same store with the same keys.
    pub async fn another_user(&self, username: &str) -> SignedIn {
        Self::on(self.store.clone(), self.keys.clone(), username, None).await
    }

    /// The state of a function serving token holders, over this store.
    pub fn authenticated(&self) -> Authenticated<MemoryStore> {
        Authenticated { store: self.store.clone(), verifier: self.keys.verifier(), clock: clock::system() }
    }
}

/// The WebAuthn relying party of the tests: `localhost`, at the origin
/// [`TEST_ORIGIN`], as a browser sees a local run.
pub const TEST_ORIGIN: &str = "http://localhost:9000";

pub fn relying_party() -> crate::passkeys::RelyingParty {
    crate::passkeys::RelyingParty::new("localhost", TEST_ORIGIN).expect("the test relying party")
}

/// A browser with a passkey authenticator, in software: webauthn-rs's own
/// test authenticator (`SoftPasskey`, user verification asserted) at
/// `origin`. It holds no resident keys, so it stands for one: it makes its
/// credentials as non-resident ones, keeps each one's user handle, and at a
/// sign-in offers its newest credential and answers with its user handle, as
/// a discoverable credential does. Options and answers are the JSON the
/// service and a browser exchange.
pub struct TestAuthenticator {
    soft: webauthn_authenticator_rs::softpasskey::SoftPasskey,
    origin: webauthn_authenticator_rs::prelude::Url,
    /// Each credential's id and user handle, oldest first.
    credentials: Vec<(Vec<u8>, Vec<u8>)>,
}

impl TestAuthenticator {
    pub fn new(origin: &str) -> Self {
        TestAuthenticator {
            soft: webauthn_authenticator_rs::softpasskey::SoftPasskey::new(true),
            origin: origin.parse().expect("an origin"),
            credentials: Vec::new(),
        }
    }

    /// The browser's answer to registration options (`PublicKeyCredential.toJSON()`).
    pub fn register(&mut self, options: &Value) -> Result<Value, String> {
        use webauthn_authenticator_rs::prelude::{CreationChallengeResponse, WebauthnAuthenticator};
        let mut options: CreationChallengeResponse =
            serde_json::from_value(options.clone()).map_err(|e| e.to_string())?;
        if let Some(selection) = options.public_key.authenticator_selection.as_mut() {
            // What the software authenticator cannot do; it keeps the handle instead.
            selection.require_resident_key = false;
        }
        let handle = options.public_key.user.id.to_vec();
        let answer = self.soft.do_registration(self.origin.clone(), options).map_err(|e| format!("{e:?}"))?;
        self.credentials.push((answer.raw_id.to_vec(), handle));
        serde_json::to_value(answer).map_err(|e| e.to_string())
    }

    /// The browser's answer to sign-in options with its newest passkey.
    pub fn sign_in(&mut self, options: &Value) -> Result<Value, String> {
        use webauthn_authenticator_rs::prelude::{RequestChallengeResponse, WebauthnAuthenticator};
        let (id, handle) = self.credentials.last().cloned().ok_or("no passkey yet")?;
        let mut options: RequestChallengeResponse =
            serde_json::from_value(options.clone()).map_err(|e| e.to_string())?;
        let allowed = serde_json::json!([{ "type": "public-key", "id": base64_url(&id) }]);
        options.public_key.allow_credentials = serde_json::from_value(allowed).map_err(|e| e.to_string())?;
        let mut answer = self.soft.do_authentication(self.origin.clone(), options).map_err(|e| format!("{e:?}"))?;
        answer.response.user_handle = Some(handle);
        serde_json::to_value(answer).map_err(|e| e.to_string())
    }
}

fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
