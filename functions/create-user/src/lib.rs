//! `POST /users`: signs a user up and answers 201 with the new user; an
//! address given with it is mailed a code that verifies it.

use lambda_http::{Body, Request, Response};
use secrecy::SecretString;
use serde::Deserialize;
use user_auth_core::clock::{self, SharedClock};
use user_auth_core::config::{self, Env};
use user_auth_core::domain::{CodeHasher, OwnProfileView};
use user_auth_core::edge::{client, created, json_body, JsonBody};
use user_auth_core::mail::SharedMailer;
use user_auth_core::operations::{self, SignUp};
use user_auth_core::passwords::{self, SharedHasher};
use user_auth_core::sdk_settings::SdkSettings;
use user_auth_core::store::dynamodb::DynamoStore;
use user_auth_core::store::{ActivityStore, EmailStore, SignUpStore, UserStore};
use user_auth_core::{startup, ApiError, BoxError};

/// What every request uses, built once per process.
pub struct CreateUser<S> {
    pub store: S,
    pub passwords: SharedHasher,
    pub password_min_length: usize,
    pub sign_ups_per_hour: u64,
    pub mailer: SharedMailer,
    pub codes: CodeHasher,
    pub clock: SharedClock,
}

/// The production wiring: `main` serves what this builds, and the tests build it the same way.
pub async fn build(env: &Env) -> Result<CreateUser<DynamoStore>, BoxError> {
    let password_min_length = config::password_min_length(env)?;
    let sign_ups_per_hour = config::sign_ups_per_address_per_hour(env)?;
    let sdk = SdkSettings::from_env(env)?;
    Ok(CreateUser {
        store: startup::dynamo_store(env, &sdk)?,
        passwords: passwords::argon2id(),
        password_min_length,
        sign_ups_per_hour,
        mailer: startup::mailer(env, &sdk)?,
        codes: startup::code_hasher(env)?,
        clock: clock::system(),
    })
}

/// The body of `POST /users` (its `Debug` redacts the password).
#[derive(Debug, Deserialize)]
pub struct SignUpBody {
    pub username: String,
    pub password: SecretString,
    pub email: Option<String>,
}

impl JsonBody for SignUpBody {
    const EXPECTED: &'static str = "the request body must be a JSON object with the string fields \"username\" and \"password\", and optionally \"email\"";
}

pub async fn handle<S>(app: &CreateUser<S>, request: Request) -> Result<Response<Body>, ApiError>
where
    S: UserStore + SignUpStore + EmailStore + ActivityStore,
{
    let body: SignUpBody = json_body(&request)?;
    let sign_up = SignUp::parse(&body.username, body.password, app.password_min_length, body.email.as_deref())?;
    // Counted once the free checks pass, before the name's claim: a 400
    // spends nothing of the address's hour, and a 409 (which tells that a
    // name exists) is counted.
    operations::admit_sign_up(&app.store, app.sign_ups_per_hour, app.clock.now(), &client(&request).source_ip).await?;
    let now = app.clock.now();
    let user = operations::register(&app.store, &app.passwords, sign_up).await?;
    operations::welcome(&app.store, &*app.mailer, &app.codes, now, &user, &client(&request)).await;
    Ok(created(&format!("/users/{}", user.id), &OwnProfileView::from(&user)))
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use user_auth_core::mail::memory::MemoryMailer;
    use user_auth_core::store::memory::MemoryStore;
    use user_auth_core::test_support::{call, code_hasher, Fixture, TestResponse, MIN_LENGTH};

    use super::*;

    fn app() -> CreateUser<MemoryStore> {
        CreateUser {
            store: MemoryStore::default(),
            passwords: passwords::argon2id(),
            password_min_length: MIN_LENGTH,
            sign_ups_per_hour: 100,
            mailer: std::sync::Arc::new(MemoryMailer::default()),
            codes: code_hasher(),
            clock: clock::system(),
        }
    }

    fn fixture() -> Fixture {
        Fixture::parse(include_str!("../fixtures/create-user.json"))
    }

    async fn send(app: &CreateUser<MemoryStore>, event: Fixture) -> TestResponse {
        call(handle(app, event.request())).await
    }

    #[tokio::test]
    async fn creates_a_user_with_a_location() {
        let answer = send(&app(), fixture()).await;
        assert_eq!(answer.status, 201);
        assert_eq!(answer.json["username"], "alice");
        let id = answer.json["id"].as_str().unwrap();
        assert_eq!(answer.headers["location"], format!("/users/{id}").as_str());
        assert_eq!(answer.headers["content-type"], "application/json");
        assert!(answer.json.get("password").is_none() && answer.json.get("password_hash").is_none());
    }

    #[tokio::test]
    async fn a_base64_body_is_read_like_a_text_body() {
        let event = Fixture::parse(include_str!("../fixtures/create-user-base64.json"));
        let answer = send(&app(), event).await;
        assert_eq!(answer.status, 201);
        assert_eq!(answer.json["username"], "bob");
    }

    #[tokio::test]
    async fn a_taken_username_is_a_conflict() {
        let app = app();
        send(&app, fixture()).await;
        let answer = send(&app, fixture()).await;
        assert_eq!((answer.status, answer.error_code()), (409, Some("username_taken")));
    }

    #[tokio::test]
    async fn bad_input_gets_precise_json_errors() {
        let app = app();
        let cases = [
            ("not json".to_owned(), 400, "invalid_request"),
            (json!({"username": "alice"}).to_string(), 400, "invalid_request"),
            (json!({"username": "a", "password": "correct horse battery staple"}).to_string(), 400, "invalid_username"),
            (json!({"username": "alice", "password": "too short"}).to_string(), 400, "invalid_password"),
            ("x".repeat(9000), 413, "payload_too_large"),
        ];
        for (body, status, code) in cases {
            let answer = send(&app, fixture().body(&body)).await;
            assert_eq!((answer.status, answer.error_code()), (status, Some(code)), "{body}");
            assert_eq!(answer.headers["content-type"], "application/json");
            assert!(answer.json["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
        }
    }

    #[tokio::test]
    async fn refused_sign_ups_spend_none_of_the_hour_and_conflicts_do() {
        let app = CreateUser { sign_ups_per_hour: 2, ..app() };
        let malformed = [
            json!({"username": "a", "password": "correct horse battery staple"}).to_string(),
            json!({"username": "carol", "password": "too short"}).to_string(),
            "not json".to_owned(),
        ];
        for _ in 0..5 {
            for body in &malformed {
                assert_eq!(send(&app, fixture().body(body)).await.status, 400, "{body}");
            }
        }
        assert_eq!(send(&app, fixture()).await.status, 201, "fifteen 400s spent nothing");
        let taken = send(&app, fixture()).await;
        assert_eq!((taken.status, taken.error_code()), (409, Some("username_taken")));
        let body = json!({"username": "dave", "password": "correct horse battery staple"}).to_string();
        let refused = send(&app, fixture().body(&body)).await;
        assert_eq!((refused.status, refused.error_code()), (429, Some("too_many_requests")), "the 409 was counted");
    }
}
