//! `POST /auth/login`: exchanges a username and password for an access token,
//! or, for an account with a second factor, for a token to send with a code.

use lambda_http::{Body, Request, Response};
use secrecy::SecretString;
use user_auth_core::clock::{self, SharedClock};
use user_auth_core::config::Env;
use user_auth_core::edge::{client, json_body, ok, CredentialsBody, SecondFactorResponse, TokenResponse};
use user_auth_core::operations::{self, LoginAttempt, LoginOutcome, LoginPolicy};
use user_auth_core::passwords::{self, SharedHasher};
use user_auth_core::sdk_settings::SdkSettings;
use user_auth_core::store::dynamodb::DynamoStore;
use user_auth_core::store::{ActivityStore, CredentialStore, LoginAttemptStore, SecondFactorStore, SessionStore};
use user_auth_core::tokens::TokenIssuer;
use user_auth_core::{startup, ApiError, BoxError};

/// What every request uses, built once per process.
pub struct Login<S> {
    pub store: S,
    pub passwords: SharedHasher,
    pub issuer: TokenIssuer,
    pub policy: LoginPolicy,
    pub clock: SharedClock,
}

/// The production wiring: `main` serves what this builds, and the tests build it the same way.
pub async fn build(env: &Env) -> Result<Login<DynamoStore>, BoxError> {
    let sdk = SdkSettings::from_env(env)?;
    with_signing_key(env, &sdk, &startup::signing_key_pem(env, &sdk).await?)
}

/// All of [`build`] but fetching the signing key: what the template checks
/// can run without reaching Secrets Manager.
pub fn with_signing_key(
    env: &Env,
    sdk: &SdkSettings,
    signing_key_pem: &SecretString,
) -> Result<Login<DynamoStore>, BoxError> {
    let issuer = startup::token_issuer(env, signing_key_pem)?;
    let policy = startup::login_policy(env)?;
    Ok(Login {
        store: startup::password_checking_store(env, sdk)?,
        passwords: passwords::argon2id(),
        issuer,
        policy,
        clock: clock::system(),
    })
}

pub async fn handle<S>(app: &Login<S>, request: Request) -> Result<Response<Body>, ApiError>
where
    S: CredentialStore + LoginAttemptStore + SessionStore + SecondFactorStore + ActivityStore,
{
    let body: CredentialsBody = json_body(&request)?;
    let attempt = LoginAttempt { username: body.username, password: body.password, client: client(&request) };
    let now = app.clock.now();
    match operations::login(&app.store, &app.passwords, &app.issuer, app.policy, now, attempt).await? {
        LoginOutcome::Session(issued) => Ok(ok(&TokenResponse::from(issued))),
        LoginOutcome::SecondFactor(challenge) => Ok(ok(&SecondFactorResponse::from(challenge))),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use user_auth_core::domain::UserId;
    use user_auth_core::store::memory::MemoryStore;
    use user_auth_core::test_support::{call_json, now, Fixture, TestKeys, LOGIN, MIN_LENGTH, PASSWORD};

    use super::*;

    async fn setup() -> (Login<MemoryStore>, TestKeys, String) {
        let keys = TestKeys::generate();
        let store = MemoryStore::default();
        let passwords = passwords::argon2id();
        let user = operations::create_user(&store, &passwords, MIN_LENGTH, "alice", PASSWORD.into()).await.unwrap();
        let app = Login { store, passwords, issuer: keys.issuer(), policy: LOGIN, clock: clock::system() };
        (app, keys, user.id.to_string())
    }

    fn event(password: &str) -> Fixture {
        let body = json!({ "username": "alice", "password": password }).to_string();
        Fixture::parse(include_str!("../fixtures/login.json")).body(&body)
    }

    #[tokio::test]
    async fn issues_a_bearer_token() {
        let (app, keys, user_id) = setup().await;
        let answer = call_json(handle(&app, event(PASSWORD).request())).await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.headers["cache-control"], "no-store");
        assert_eq!(answer.json["token_type"], "Bearer");
        assert_eq!(answer.json["expires_in"], keys.settings.ttl.as_secs());
        let claims = keys.verifier().verify(answer.json["access_token"].as_str().unwrap(), now()).unwrap();
        assert_eq!(claims.sub, user_id);
        let refresh_token = answer.json["refresh_token"].as_str().unwrap();
        assert!(refresh_token.len() >= 43, "at least 256 bits: {refresh_token}");
        // The session remembers who started it, as API Gateway saw them.
        let sessions = app.store.sessions(&UserId::parse(&claims.sub).unwrap()).await.unwrap();
        assert_eq!(sessions.len(), 1);
        assert_eq!(sessions[0].id.as_str(), claims.sid);
        assert_eq!(
            (sessions[0].client.user_agent.as_str(), sessions[0].client.source_ip.as_str()),
            ("curl/8.5.0", "203.0.113.10")
        );
    }

    #[tokio::test]
    async fn a_body_that_is_not_utf8_is_an_invalid_request() {
        // API Gateway passes such a body base64-encoded: here 0xff 0xfe 'y'.
        let (app, _, _) = setup().await;
        let answer = call_json(handle(&app, event(PASSWORD).base64_body("//55").request())).await;
        assert_eq!((answer.status, answer.error_code()), (400, Some("invalid_request")));
    }

    #[tokio::test]
    async fn a_wrong_password_is_invalid_credentials() {
        let (app, _, _) = setup().await;
        let answer = call_json(handle(&app, event("correct horse battery stapler").request())).await;
        assert_eq!((answer.status, answer.error_code()), (401, Some("invalid_credentials")));
        assert!(answer.json.get("access_token").is_none());
    }
}
