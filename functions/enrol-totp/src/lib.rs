//! `POST /users/me/mfa/totp`: starts enrolling an authenticator app, the
//! password asked again; answers the new secret, its `otpauth://` URI and
//! the URI's QR code, shown once and pending until a code confirms them.

use lambda_http::{Body, Request, Response};
use qrcode::render::svg;
use qrcode::QrCode;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use user_auth_core::clock::{self, SharedClock};
use user_auth_core::config::{self, Env};
use user_auth_core::domain::FactorKeys;
use user_auth_core::edge::{bearer_token, client, json_body, ok, JsonBody};
use user_auth_core::operations;
use user_auth_core::passwords::{self, SharedHasher};
use user_auth_core::sdk_settings::SdkSettings;
use user_auth_core::store::dynamodb::DynamoStore;
use user_auth_core::store::{CredentialStore, LoginAttemptStore, SecondFactorStore, SessionStore, UserStore};
use user_auth_core::tokens::TokenVerifier;
use user_auth_core::{startup, ApiError, BoxError};

/// What every request uses, built once per process.
pub struct EnrolTotp<S> {
    pub store: S,
    pub passwords: SharedHasher,
    pub verifier: TokenVerifier,
    pub factor_keys: FactorKeys,
    /// The name authenticator apps show beside the account's.
    pub issuer: String,
    pub clock: SharedClock,
}

/// The production wiring: `main` serves what this builds, and the tests build it the same way.
pub async fn build(env: &Env) -> Result<EnrolTotp<DynamoStore>, BoxError> {
    Ok(EnrolTotp {
        store: startup::password_checking_store(env, &SdkSettings::from_env(env)?)?,
        passwords: passwords::argon2id(),
        verifier: startup::token_verifier(env)?,
        factor_keys: startup::factor_keys(env)?,
        issuer: config::totp_issuer(env)?,
        clock: clock::system(),
    })
}

/// The body of `POST /users/me/mfa/totp` (its `Debug` redacts the password).
#[derive(Debug, Deserialize)]
pub struct PasswordBody {
    pub password: SecretString,
}

impl JsonBody for PasswordBody {
    const EXPECTED: &'static str = "the request body must be a JSON object with the string field \"password\"";
}

/// The secret three ways: to type, as a link, and as the link's QR code.
#[derive(Serialize)]
pub struct EnrolmentResponse {
    pub secret: String,
    pub otpauth_uri: String,
    pub qr_svg: String,
}

pub async fn handle<S>(app: &EnrolTotp<S>, request: Request) -> Result<Response<Body>, ApiError>
where
    S: SessionStore + UserStore + CredentialStore + LoginAttemptStore + SecondFactorStore,
{
    let token = bearer_token(&request)?;
    let body: PasswordBody = json_body(&request)?;
    let now = app.clock.now();
    let caller = operations::authenticate(&app.store, &app.verifier, now, token).await?;
    let source_ip = client(&request).source_ip;
    let (store, passwords, keys) = (&app.store, &app.passwords, &app.factor_keys);
    let secret = operations::enrol_totp(store, passwords, keys, now, &caller, body.password, &source_ip).await?;
    let otpauth_uri = secret.otpauth_uri(&app.issuer, caller.user.username.as_str());
    let qr_svg = QrCode::new(otpauth_uri.as_bytes())
        .map_err(ApiError::internal)?
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .build();
    Ok(ok(&EnrolmentResponse { secret: secret.base32(), otpauth_uri, qr_svg }))
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use user_auth_core::test_support::{call, factor_keys, Fixture, SignedIn, PASSWORD};

    use super::*;

    fn app(alice: &SignedIn) -> EnrolTotp<user_auth_core::store::memory::MemoryStore> {
        EnrolTotp {
            store: alice.store.clone(),
            passwords: passwords::argon2id(),
            verifier: alice.keys.verifier(),
            factor_keys: factor_keys(),
            issuer: "Example".into(),
            clock: clock::system(),
        }
    }

    fn event(token: &str, password: &str) -> Fixture {
        let body = json!({ "password": password }).to_string();
        Fixture::parse(include_str!("../fixtures/enrol-totp.json")).bearer(token).body(&body)
    }

    #[tokio::test]
    async fn answers_a_pending_secret_as_text_link_and_qr_code() {
        let alice = SignedIn::new("alice").await;
        let answer = call(handle(&app(&alice), event(&alice.access_token, PASSWORD).request())).await;
        assert_eq!(answer.status, 200, "{answer:?}");
        let secret = answer.json["secret"].as_str().unwrap();
        assert_eq!(secret.len(), 32, "160 bits in base32");
        let uri = answer.json["otpauth_uri"].as_str().unwrap();
        assert_eq!(
            uri,
            format!("otpauth://totp/Example:alice?secret={secret}&issuer=Example&algorithm=SHA1&digits=6&period=30")
        );
        assert!(answer.json["qr_svg"].as_str().unwrap().contains("<svg"));
        let user = alice.store.get_user(&alice.user_id).await.unwrap().unwrap();
        assert!(user.second_factor.pending.is_some() && !user.second_factor.is_active());
    }

    #[tokio::test]
    async fn a_wrong_password_is_refused_and_stores_nothing() {
        let alice = SignedIn::new("alice").await;
        let answer = call(handle(&app(&alice), event(&alice.access_token, "not the password at all").request())).await;
        assert_eq!((answer.status, answer.error_code()), (401, Some("invalid_credentials")));
        let user = alice.store.get_user(&alice.user_id).await.unwrap().unwrap();
        assert!(user.second_factor.pending.is_none());
    }
}
