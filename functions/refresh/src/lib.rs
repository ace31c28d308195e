//! `POST /auth/refresh`: exchanges a refresh token for a new access token and
//! the session's next refresh token.

use lambda_http::{Body, Request, Response};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use user_auth_core::clock::{self, SharedClock};
use user_auth_core::config::{self, Env};
use user_auth_core::edge::{client, json_body, ok, JsonBody, TokenResponse};
use user_auth_core::operations::{self, RefreshPolicy};
use user_auth_core::sdk_settings::SdkSettings;
use user_auth_core::store::dynamodb::DynamoStore;
use user_auth_core::store::{ActivityStore, SessionStore, UserStore};
use user_auth_core::tokens::refresh::RefreshKey;
use user_auth_core::tokens::TokenIssuer;
use user_auth_core::{startup, ApiError, BoxError};

/// What every request uses, built once per process.
pub struct Refresh<S> {
    pub store: S,
    pub issuer: TokenIssuer,
    /// Derives each refresh token's successor; from the signing key.
    pub key: RefreshKey,
    pub policy: RefreshPolicy,
    pub clock: SharedClock,
}

/// The production wiring: `main` serves what this builds, and the tests build it the same way.
pub async fn build(env: &Env) -> Result<Refresh<DynamoStore>, BoxError> {
    let sdk = SdkSettings::from_env(env)?;
    with_signing_key(env, &sdk, &startup::signing_key_pem(env, &sdk).await?)
}

/// All of [`build`] but fetching the signing key: what the template checks
/// can run without reaching Secrets Manager.
pub fn with_signing_key(
    env: &Env,
    sdk: &SdkSettings,
    signing_key_pem: &SecretString,
) -> Result<Refresh<DynamoStore>, BoxError> {
    let policy =
        RefreshPolicy { lifetime: config::session_lifetime(env)?, reuse_grace: config::refresh_reuse_grace(env)? };
    Ok(Refresh {
        store: startup::dynamo_store(env, sdk)?,
        issuer: startup::token_issuer(env, signing_key_pem)?,
        key: RefreshKey::from_signing_key_pem(signing_key_pem.expose_secret())?,
        policy,
        clock: clock::system(),
    })
}

/// The body of `POST /auth/refresh` (its `Debug` redacts the token).
#[derive(Debug, Deserialize)]
pub struct RefreshBody {
    pub refresh_token: SecretString,
}

impl JsonBody for RefreshBody {
    const EXPECTED: &'static str = "the request body must be a JSON object with the string field \"refresh_token\"";
}

pub async fn handle<S>(app: &Refresh<S>, request: Request) -> Result<Response<Body>, ApiError>
where
    S: SessionStore + UserStore + ActivityStore,
{
    let body: RefreshBody = json_body(&request)?;
    let token = body.refresh_token.expose_secret();
    let issued =
        operations::refresh(&app.store, &app.issuer, &app.key, app.policy, app.clock.now(), token, &client(&request))
            .await?;
    Ok(ok(&TokenResponse::from(issued)))
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use user_auth_core::store::memory::MemoryStore;
    use user_auth_core::test_support::{call_json, now, Fixture, SignedIn, LIFETIME};

    use super::*;

    /// A refresh function over a store where "alice" has just logged in.
    async fn setup() -> (Refresh<MemoryStore>, SignedIn) {
        let alice = SignedIn::new("alice").await;
        let app = Refresh {
            store: alice.store.clone(),
            issuer: alice.keys.issuer(),
            key: RefreshKey::from_signing_key_pem(&alice.keys.pair.private_key_pem).unwrap(),
            policy: RefreshPolicy { lifetime: LIFETIME, reuse_grace: 10 },
            clock: clock::system(),
        };
        (app, alice)
    }

    fn event(body: &str) -> Fixture {
        Fixture::parse(include_str!("../fixtures/refresh.json")).body(body)
    }

    fn with_token(token: &str) -> Fixture {
        event(&json!({ "refresh_token": token }).to_string())
    }

    #[tokio::test]
    async fn answers_like_login_with_the_next_refresh_token() {
        let (app, alice) = setup().await;
        let (keys, token) = (&alice.keys, &alice.refresh_token);
        let answer = call_json(handle(&app, with_token(token).request())).await;
        assert_eq!(answer.status, 200, "{answer:?}");
        assert_eq!(answer.headers["cache-control"], "no-store");
        assert_eq!(answer.json["token_type"], "Bearer");
        assert_eq!(answer.json["expires_in"], keys.settings.ttl.as_secs());
        let next = answer.json["refresh_token"].as_str().unwrap();
        assert_ne!(next, *token);
        keys.verifier().verify(answer.json["access_token"].as_str().unwrap(), now()).unwrap();
        assert_eq!(call_json(handle(&app, with_token(next).request())).await.status, 200);
    }

    #[tokio::test]
    async fn bad_tokens_and_bodies_get_json_errors_without_hints() {
        let (app, alice) = setup().await;
        let token = &alice.refresh_token;
        let mut refusals = Vec::new();
        // The same token with one character of its secret changed (to another one).
        let middle = token.len() - 10;
        let replacement = if &token[middle..=middle] == "A" { "B" } else { "A" };
        let tampered = format!("{}{replacement}{}", &token[..middle], &token[middle + 1..]);
        for bad in ["", "garbage", &token[..token.len() - 1], &tampered] {
            let answer = call_json(handle(&app, with_token(bad).request())).await;
            assert_eq!((answer.status, answer.error_code()), (401, Some("invalid_refresh_token")), "{bad:?}");
            refusals.push(answer.json);
        }
        assert!(refusals.iter().all(|refusal| *refusal == refusals[0]), "no hint which");
        for body in ["", "not json", r#"{"token":"x"}"#, r#"{"refresh_token":5}"#] {
            let answer = call_json(handle(&app, event(body).request())).await;
            assert_eq!((answer.status, answer.error_code()), (400, Some("invalid_request")), "{body:?}");
        }
        let answer = call_json(handle(&app, event(r#"{"token":"x"}"#).request())).await;
        assert_eq!(answer.json["error"]["message"], RefreshBody::EXPECTED);
    }
}
