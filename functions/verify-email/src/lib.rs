//! `POST /users/me/email/verify`: the caller proves the address on their
//! profile theirs with the code mailed to it, and the address is verified.

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use user_auth_core::clock::{self, SharedClock};
use user_auth_core::config::Env;
use user_auth_core::domain::CodeHasher;
use user_auth_core::edge::{bearer_token, client, json_body, no_content, JsonBody};
use user_auth_core::operations;
use user_auth_core::sdk_settings::SdkSettings;
use user_auth_core::store::dynamodb::DynamoStore;
use user_auth_core::store::{ActivityStore, EmailStore, SessionStore, UserStore};
use user_auth_core::tokens::TokenVerifier;
use user_auth_core::{startup, ApiError, BoxError};

/// What every request uses, built once per process.
pub struct VerifyEmail<S> {
    pub store: S,
    pub verifier: TokenVerifier,
    pub codes: CodeHasher,
    pub clock: SharedClock,
}

/// The production wiring: `main` serves what this builds, and the tests build it the same way.
pub async fn build(env: &Env) -> Result<VerifyEmail<DynamoStore>, BoxError> {
    Ok(VerifyEmail {
        store: startup::dynamo_store(env, &SdkSettings::from_env(env)?)?,
        verifier: startup::token_verifier(env)?,
        codes: startup::code_hasher(env)?,
        clock: clock::system(),
    })
}

/// The body of `POST /users/me/email/verify`.
#[derive(Debug, Deserialize)]
pub struct CodeBody {
    pub code: String,
}

impl JsonBody for CodeBody {
    const EXPECTED: &'static str = "the request body must be a JSON object with the string field \"code\"";
}

pub async fn handle<S>(app: &VerifyEmail<S>, request: Request) -> Result<Response<Body>, ApiError>
where
    S: SessionStore + UserStore + EmailStore + ActivityStore,
{
    let token = bearer_token(&request)?;
    let body: CodeBody = json_body(&request)?;
    let now = app.clock.now();
    let caller = operations::authenticate(&app.store, &app.verifier, now, token).await?.from(client(&request));
    operations::verify_email(&app.store, &app.codes, now, &caller, &body.code).await?;
    Ok(no_content())
}

#[cfg(test)]
mod tests {
    use user_auth_core::domain::{CodePurpose, EmailAddress, OneTimeCode, PendingCode, UserEmail};
    use user_auth_core::store::UserStore;
    use user_auth_core::test_support::{call, code_hasher, now, Fixture, SignedIn};

    use super::*;

    fn app(alice: &SignedIn) -> VerifyEmail<user_auth_core::store::memory::MemoryStore> {
        VerifyEmail {
            store: alice.store.clone(),
            verifier: alice.keys.verifier(),
            codes: code_hasher(),
            clock: clock::system(),
        }
    }

    fn event(token: &str, code: &str) -> Fixture {
        Fixture::parse(include_str!("../fixtures/verify-email.json"))
            .bearer(token)
            .body(&serde_json::json!({ "code": code }).to_string())
    }

    /// Alice, with an unverified address and a code mailed to it.
    async fn alice_with_code() -> (SignedIn, OneTimeCode) {
        let alice = SignedIn::with_email("alice", "alice@example.org").await;
        let code = OneTimeCode::generate().unwrap();
        let address = EmailAddress::parse("alice@example.org").unwrap();
        let pending =
            PendingCode::new(&code_hasher(), CodePurpose::VerifyEmail, alice.user_id.clone(), &code, address, now());
        alice.store.put_code(&pending).await.unwrap();
        (alice, code)
    }

    async fn email(alice: &SignedIn) -> Option<UserEmail> {
        alice.store.get_user(&alice.user_id).await.unwrap().unwrap().email
    }

    #[tokio::test]
    async fn the_mailed_code_verifies_the_address_once() {
        let (alice, code) = alice_with_code().await;
        let app = app(&alice);
        let answer = call(handle(&app, event(&alice.access_token, code.expose()).request())).await;
        assert_eq!((answer.status, &answer.json), (204, &serde_json::Value::Null), "{answer:?}");
        assert!(email(&alice).await.unwrap().verified);
        let again = call(handle(&app, event(&alice.access_token, code.expose()).request())).await;
        assert_eq!((again.status, again.error_code()), (400, Some("invalid_code")), "{again:?}");
    }

    #[tokio::test]
    async fn refusals_are_json_errors() {
        let (alice, code) = alice_with_code().await;
        let app = app(&alice);
        let token = alice.access_token.as_str();
        let cases = [
            (event(token, "00000000"), 400, "invalid_code"),
            (event(token, "not a code"), 400, "invalid_code"),
            (event("garbage", code.expose()), 401, "invalid_token"),
            (event(token, code.expose()).without_header("authorization"), 401, "invalid_token"),
            (event(token, code.expose()).body(r#"{"kode":"1"}"#), 400, "invalid_request"),
        ];
        for (event, status, code) in cases {
            let answer = call(handle(&app, event.request())).await;
            assert_eq!((answer.status, answer.error_code()), (status, Some(code)), "{answer:?}");
        }
        assert!(!email(&alice).await.unwrap().verified);
        // Two wrong codes above spent two of the five tries: three are left.
        let pending = alice.store.pending_code(&alice.user_id, CodePurpose::VerifyEmail).await.unwrap().unwrap();
        assert_eq!(pending.tries_left, 3);
    }
}
