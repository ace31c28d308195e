//! `POST /auth/recovery`: asks for a recovery code by username or address.
//! Every name gets the same 202 at once; the account is looked up and mailed
//! after the answer is sent, so neither the answer nor its time tells
//! whether an account exists or has a verified address.

use std::sync::Arc;

use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};
use tracing::Instrument;
use user_auth_core::clock::{self, SharedClock};
use user_auth_core::config::{self, Env};
use user_auth_core::domain::CodeHasher;
use user_auth_core::edge::{accepted, client, json_body, AfterResponse, JsonBody};
use user_auth_core::mail::SharedMailer;
use user_auth_core::operations::{self, AccountName};
use user_auth_core::sdk_settings::SdkSettings;
use user_auth_core::store::dynamodb::DynamoStore;
use user_auth_core::store::{CredentialStore, EmailStore, RecoveryStore, UserStore};
use user_auth_core::{startup, ApiError, BoxError};

/// What every request uses, built once per process.
pub struct StartRecovery<S> {
    pub store: S,
    pub mailer: SharedMailer,
    pub codes: Arc<CodeHasher>,
    pub per_address_per_hour: u64,
    /// Where the hosted pages are, for the mail's link; none, no link.
    pub pages_url: Option<Arc<str>>,
    /// The lookup and the mail, finished after the answer.
    pub after_response: AfterResponse,
    pub clock: SharedClock,
}

/// The production wiring: `main` serves what this builds, and the tests build it the same way.
pub async fn build(env: &Env) -> Result<StartRecovery<DynamoStore>, BoxError> {
    let sdk = SdkSettings::from_env(env)?;
    Ok(StartRecovery {
        store: startup::dynamo_store(env, &sdk)?,
        mailer: startup::mailer(env, &sdk)?,
        codes: Arc::new(startup::code_hasher(env)?),
        per_address_per_hour: config::recovery_per_address_per_hour(env)?,
        pages_url: config::pages_url(env)?.map(Arc::from),
        after_response: AfterResponse::from_env(env),
        clock: clock::system(),
    })
}

/// The body of `POST /auth/recovery`: the account's username or address.
#[derive(Debug, Deserialize)]
pub struct RecoveryBody {
    pub username: Option<String>,
    pub email: Option<String>,
}

impl JsonBody for RecoveryBody {
    const EXPECTED: &'static str =
        "the request body must be a JSON object with one of the string fields \"username\" and \"email\"";
}

/// The one answer to every recovery request that is not refused.
#[derive(Debug, Serialize)]
pub struct RecoveryAccepted {
    pub message: &'static str,
}

pub const ACCEPTED: RecoveryAccepted =
    RecoveryAccepted { message: "if an account with a verified address matches, a code is on its way to that address" };

pub async fn handle<S>(app: &StartRecovery<S>, request: Request) -> Result<Response<Body>, ApiError>
where
    S: CredentialStore + UserStore + EmailStore + RecoveryStore + Clone + 'static,
{
    let body: RecoveryBody = json_body(&request)?;
    let name = AccountName::parse(body.username.as_deref(), body.email.as_deref())?;
    let now = app.clock.now();
    operations::admit_recovery_request(&app.store, app.per_address_per_hour, now, &client(&request).source_ip).await?;
    let (store, mailer, codes, pages) =
        (app.store.clone(), app.mailer.clone(), app.codes.clone(), app.pages_url.clone());
    let work =
        async move { operations::send_recovery_code(&store, &*mailer, &codes, now, &name, pages.as_deref()).await };
    app.after_response.spawn(work.instrument(tracing::Span::current()));
    Ok(accepted(&ACCEPTED))
}

#[cfg(test)]
mod tests {
    use user_auth_core::mail::memory::MemoryMailer;
    use user_auth_core::store::memory::MemoryStore;
    use user_auth_core::test_support::{call, code_hasher, Fixture, TestResponse};

    use super::*;

    fn app(mailer: Arc<MemoryMailer>, per_hour: u64) -> StartRecovery<MemoryStore> {
        StartRecovery {
            store: MemoryStore::default(),
            mailer,
            codes: Arc::new(code_hasher()),
            per_address_per_hour: per_hour,
            pages_url: None,
            after_response: AfterResponse::default(),
            clock: clock::system(),
        }
    }

    fn event(body: &str) -> Fixture {
        Fixture::parse(include_str!("../fixtures/start-recovery.json")).body(body)
    }

    async fn send(app: &StartRecovery<MemoryStore>, event: Fixture) -> TestResponse {
        let answer = call(handle(app, event.request())).await;
        app.after_response.idle().await;
        answer
    }

    #[tokio::test]
    async fn an_unknown_name_gets_the_same_answer_and_no_mail() {
        let mailer = Arc::new(MemoryMailer::default());
        let app = app(mailer.clone(), 100);
        let by_name = send(&app, event(r#"{"username":"nobody"}"#)).await;
        let by_address = send(&app, event(r#"{"email":"nobody@example.org"}"#)).await;
        assert_eq!(by_name.status, 202, "{by_name:?}");
        assert_eq!(by_name.json, by_address.json);
        assert!(mailer.sent().is_empty());
    }

    #[tokio::test]
    async fn refusals_are_json_errors() {
        let app = app(Arc::new(MemoryMailer::default()), 1);
        let cases = [
            (r#"{}"#, 400, "invalid_request"),
            (r#"{"username":"alice","email":"alice@example.org"}"#, 400, "invalid_request"),
            (r#"{"email":"not an address"}"#, 400, "invalid_email"),
            (r#"{"username":"!"}"#, 400, "invalid_username"),
        ];
        for (body, status, code) in cases {
            let answer = send(&app, event(body)).await;
            assert_eq!((answer.status, answer.error_code()), (status, Some(code)), "{body}: {answer:?}");
        }
        // The address's hour: one request, then 429 with Retry-After.
        assert_eq!(send(&app, event(r#"{"username":"alice"}"#)).await.status, 202);
        let limited = send(&app, event(r#"{"username":"alice"}"#)).await;
        assert_eq!((limited.status, limited.error_code()), (429, Some("too_many_requests")), "{limited:?}");
        assert!(limited.headers.contains_key("retry-after"), "{limited:?}");
    }
}
