//! Access tokens: JWTs signed with Ed25519 (EdDSA), so that any service can
//! verify them with the public key alone.
//!
//! Verification pins the algorithm (`none`, HMAC and every other algorithm
//! are rejected) and requires `iss`, `aud`, `sub`, `iat`, `exp`, `jti` and
//! `sid`, the session the token belongs to.
//! Time comes from the caller (a [`crate::clock::Clock`] reading), so expiry
//! is judged by the same clock as everything else.

use std::collections::HashSet;
use std::time::Duration;

use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::domain::{SessionId, UserId};

mod ed25519;
pub mod refresh;

/// Tokens longer than this are refused before any parsing.
pub const MAX_TOKEN_LENGTH: usize = 4096;

#[derive(Debug, Clone)]
pub struct TokenSettings {
    pub issuer: String,
    pub audience: String,
    pub ttl: Duration,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub iat: u64,
    pub exp: u64,
    pub jti: String,
    /// The session the token belongs to: it ends when the session does.
    pub sid: String,
    /// Not before: never issued here, but honoured if present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
}

/// A freshly issued token and what the client is told about it. Its `Debug`
/// output is redacted.
pub struct IssuedToken {
    pub access_token: String,
    pub expires_in: u64,
}

impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IssuedToken {{ expires_in: {}, [REDACTED] }}", self.expires_in)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("invalid token key: {0}")]
pub struct KeyError(pub(crate) String);

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Any refusal: bad signature, algorithm, claims, expiry. Which one is
    /// logged, never told to the client.
    #[error("the token is invalid or expired")]
    Invalid,
    #[error("token signing failed: {0}")]
    Signing(String),
}

pub struct TokenIssuer {
    key: EncodingKey,
    settings: TokenSettings,
}

impl TokenIssuer {
    pub fn from_pem(private_key_pem: &str, settings: TokenSettings) -> Result<Self, KeyError> {
        ed25519::install().map_err(|err| KeyError(err.into()))?;
        let key = EncodingKey::from_ed_pem(private_key_pem.as_bytes()).map_err(|err| KeyError(err.to_string()))?;
        ed25519::check_signing_key(&key).map_err(|err| KeyError(err.to_string()))?;
        Ok(TokenIssuer { key, settings })
    }

    /// A new token for `user_id` in session `session_id`, issued at `now` (Unix seconds).
    pub fn issue(&self, user_id: &UserId, session_id: &SessionId, now: u64) -> Result<IssuedToken, TokenError> {
        self.issue_within(user_id, session_id, now, u64::MAX)
    }

    /// [`Self::issue`], for a token that must not outlive `not_after`, the end of
    /// its session: near that end, the token says so rather than fail early.
    pub fn issue_within(
        &self,
        user_id: &UserId,
        session_id: &SessionId,
        now: u64,
        not_after: u64,
    ) -> Result<IssuedToken, TokenError> {
        let iat = now;
        let ttl = self.settings.ttl.as_secs().min(not_after.saturating_sub(now));
        let claims = Claims {
            iss: self.settings.issuer.clone(),
            aud: self.settings.audience.clone(),
            sub: user_id.to_string(),
            iat,
            exp: iat + ttl,
            jti: uuid::Uuid::new_v4().to_string(),
            sid: session_id.to_string(),
            nbf: None,
        };
        let access_token = jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &claims, &self.key)
            .map_err(|err| TokenError::Signing(err.to_string()))?;
        Ok(IssuedToken { access_token, expires_in: ttl })
    }
}

pub struct TokenVerifier {
    key: DecodingKey,
    validation: Validation,
}

impl TokenVerifier {
    pub fn from_pem(public_key_pem: &str, settings: &TokenSettings) -> Result<Self, KeyError> {
        ed25519::install().map_err(|err| KeyError(err.into()))?;
        let key = DecodingKey::from_ed_pem(public_key_pem.as_bytes()).map_err(|err| KeyError(err.to_string()))?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[&settings.issuer]);
        validation.set_audience(&[&settings.audience]);
        validation.required_spec_claims = HashSet::from(["exp", "iss", "aud", "sub"].map(String::from));
        // Times are judged below against the caller's clock, not the
        // library's reading of the system time.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        Ok(TokenVerifier { key, validation })
    }

    /// Checks signature, algorithm, issuer, audience, and expiry as of `now`
    /// (Unix seconds). Whether the token's session is still active is the
    /// caller's to check, against the session store.
    pub fn verify(&self, token: &str, now: u64) -> Result<Claims, TokenError> {
        if token.is_empty() || token.len() > MAX_TOKEN_LENGTH {
            return Err(TokenError::Invalid);
        }
        let data = jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation).map_err(|err| {
            tracing::info!(reason = %err, "token rejected");
            TokenError::Invalid
        })?;
        let claims = data.claims;
        // Lambda hosts keep their clocks in sync: a token is dead at `exp`, with
        // no leeway. Issued in the future (beyond a little clock skew) is as
        // bad as expired.
        let not_yet = claims.nbf.is_some_and(|nbf| nbf > now) || claims.iat > now + 5;
        if claims.exp <= now || not_yet || claims.iat > claims.exp || claims.jti.is_empty() || claims.sid.is_empty() {
            tracing::info!("token rejected: outside its lifetime");
            return Err(TokenError::Invalid);
        }
        Ok(claims)
    }
}

/// A new Ed25519 key pair, as PEM: PKCS#8 private key and SPKI public key.
pub struct SigningKeyPair {
    pub private_key_pem: String,
    pub public_key_pem: String,
}

impl SigningKeyPair {
    pub fn generate() -> Result<Self, KeyError> {
        let (private_der, public_key) = ed25519::generate().map_err(|_| KeyError("key generation failed".into()))?;
        Ok(SigningKeyPair {
            private_key_pem: pem("PRIVATE KEY", &private_der),
            public_key_pem: pem("PUBLIC KEY", &ed25519::public_key_spki(&public_key)),
        })
    }
}

fn pem(label: &str, der: &[u8]) -> String {
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, SystemClock};
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;

    fn now_unix() -> u64 {
        SystemClock.now()
    }

    fn settings() -> TokenSettings {
        TokenSettings { issuer: "issuer-a".into(), audience: "audience-a".into(), ttl: Duration::from_secs(900) }
    }

    fn pair() -> (TokenIssuer, TokenVerifier, SigningKeyPair) {
        let keys = SigningKeyPair::generate().unwrap();
        let issuer = TokenIssuer::from_pem(&keys.private_key_pem, settings()).unwrap();
        let verifier = TokenVerifier::from_pem(&keys.public_key_pem, &settings()).unwrap();
        (issuer, verifier, keys)
    }

    fn claims(overrides: impl FnOnce(&mut Claims)) -> Claims {
        let now = now_unix();
        let mut claims = Claims {
            iss: "issuer-a".into(),
            aud: "audience-a".into(),
            sub: UserId::new_random().to_string(),
            iat: now,
            exp: now + 900,
            jti: uuid::Uuid::new_v4().to_string(),
            sid: SessionId::new_random().to_string(),
            nbf: None,
        };
        overrides(&mut claims);
        claims
    }

    fn sign(keys: &SigningKeyPair, claims: &Claims) -> String {
        ed25519::install().unwrap();
        let key = EncodingKey::from_ed_pem(keys.private_key_pem.as_bytes()).unwrap();
        jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), claims, &key).unwrap()
    }

    fn rejected(verifier: &TokenVerifier, token: &str) -> bool {
        matches!(verifier.verify(token, now_unix()), Err(TokenError::Invalid))
    }

    #[test]
    fn round_trip() {
        let (issuer, verifier, _) = pair();
        let user = UserId::new_random();
        let token = issuer.issue(&user, &SessionId::new_random(), now_unix()).unwrap();
        assert_eq!(token.expires_in, 900);
        let claims = verifier.verify(&token.access_token, now_unix()).unwrap();
        assert_eq!(claims.sub, user.as_str());
        assert_eq!(claims.iss, "issuer-a");
        assert_eq!(claims.aud, "audience-a");
        assert_eq!(claims.exp - claims.iat, 900);
        let header = jsonwebtoken::decode_header(&token.access_token).unwrap();
        assert_eq!(header.alg, Algorithm::EdDSA);
    }

    #[test]
    fn every_token_has_a_unique_jti() {
        let (issuer, verifier, _) = pair();
        let user = UserId::new_random();
        let a = verifier
            .verify(&issuer.issue(&user, &SessionId::new_random(), now_unix()).unwrap().access_token, now_unix())
            .unwrap();
        let b = verifier
            .verify(&issuer.issue(&user, &SessionId::new_random(), now_unix()).unwrap().access_token, now_unix())
            .unwrap();
        assert_ne!(a.jti, b.jti);
    }

    #[test]
    fn rejects_a_token_signed_by_another_key() {
        let (_, verifier, _) = pair();
        let (other_issuer, _, _) = pair();
        let token = other_issuer.issue(&UserId::new_random(), &SessionId::new_random(), now_unix()).unwrap();
        assert!(rejected(&verifier, &token.access_token));
    }

    #[test]
    fn rejects_a_tampered_payload() {
        let (issuer, verifier, _) = pair();
        let token = issuer.issue(&UserId::new_random(), &SessionId::new_random(), now_unix()).unwrap().access_token;
        let parts: Vec<&str> = token.split('.').collect();
        let forged = B64.encode(serde_json::to_vec(&claims(|c| c.sub = "someone-else".into())).unwrap());
        assert!(rejected(&verifier, &format!("{}.{}.{}", parts[0], forged, parts[2])));
    }

    #[test]
    fn rejects_alg_none() {
        let (_, verifier, _) = pair();
        let header = B64.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let payload = B64.encode(serde_json::to_vec(&claims(|_| {})).unwrap());
        assert!(rejected(&verifier, &format!("{header}.{payload}.")));
        assert!(rejected(&verifier, &format!("{header}.{payload}")));
    }

    #[test]
    fn rejects_hs256_signed_with_the_public_key() {
        let (_, verifier, keys) = pair();
        // Signed by hand: the service's own cryptography signs nothing but EdDSA.
        let header = B64.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let payload = B64.encode(serde_json::to_vec(&claims(|_| {})).unwrap());
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, keys.public_key_pem.as_bytes());
        let signature = B64.encode(ring::hmac::sign(&key, format!("{header}.{payload}").as_bytes()));
        assert!(rejected(&verifier, &format!("{header}.{payload}.{signature}")));
    }

    #[test]
    fn rejects_expired_tokens() {
        let (_, verifier, keys) = pair();
        let now = now_unix();
        assert!(rejected(
            &verifier,
            &sign(
                &keys,
                &claims(|c| {
                    c.iat = now - 1000;
                    c.exp = now - 100
                })
            )
        ));
        assert!(rejected(&verifier, &sign(&keys, &claims(|c| c.exp = now))));
    }

    #[test]
    fn a_token_never_outlives_its_session() {
        let (issuer, verifier, _) = pair();
        let now = now_unix();
        let token = issuer.issue_within(&UserId::new_random(), &SessionId::new_random(), now, now + 100).unwrap();
        assert_eq!(token.expires_in, 100);
        assert_eq!(verifier.verify(&token.access_token, now).unwrap().exp, now + 100);
        let far = issuer.issue_within(&UserId::new_random(), &SessionId::new_random(), now, u64::MAX).unwrap();
        assert_eq!(far.expires_in, 900);
    }

    #[test]
    fn expiry_is_judged_by_the_callers_clock() {
        let (issuer, verifier, _) = pair();
        let issued_at = now_unix();
        let token = issuer.issue(&UserId::new_random(), &SessionId::new_random(), issued_at).unwrap().access_token;
        assert!(verifier.verify(&token, issued_at + 899).is_ok());
        assert!(matches!(verifier.verify(&token, issued_at + 900), Err(TokenError::Invalid)));
        assert!(matches!(verifier.verify(&token, issued_at - 6), Err(TokenError::Invalid)), "issued in the future");
    }

    #[test]
    fn rejects_wrong_issuer_or_audience() {
        let (_, verifier, keys) = pair();
        assert!(rejected(&verifier, &sign(&keys, &claims(|c| c.iss = "someone-else".into()))));
        assert!(rejected(&verifier, &sign(&keys, &claims(|c| c.aud = "another-api".into()))));
    }

    #[test]
    fn rejects_tokens_missing_required_claims() {
        let (_, verifier, keys) = pair();
        let key = EncodingKey::from_ed_pem(keys.private_key_pem.as_bytes()).unwrap();
        let full = serde_json::to_value(claims(|_| {})).unwrap();
        for missing in ["iss", "aud", "sub", "iat", "exp", "jti", "sid"] {
            let mut partial = full.clone();
            partial.as_object_mut().unwrap().remove(missing);
            let token = jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &partial, &key).unwrap();
            assert!(rejected(&verifier, &token), "token without {missing} was accepted");
        }
    }

    #[test]
    fn rejects_tokens_not_yet_valid() {
        let (_, verifier, keys) = pair();
        let now = now_unix();
        let key = EncodingKey::from_ed_pem(keys.private_key_pem.as_bytes()).unwrap();
        let mut with_nbf = serde_json::to_value(claims(|_| {})).unwrap();
        with_nbf["nbf"] = (now + 600).into();
        let token = jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &with_nbf, &key).unwrap();
        assert!(rejected(&verifier, &token));
        assert!(rejected(
            &verifier,
            &sign(
                &keys,
                &claims(|c| {
                    c.iat = now + 600;
                    c.exp = now + 1200
                })
            )
        ));
    }

    #[test]
    fn kid_and_header_tricks_change_nothing() {
        let (issuer, verifier, _) = pair();
        let (_, _, other_keys) = pair();
        let key = EncodingKey::from_ed_pem(other_keys.private_key_pem.as_bytes()).unwrap();
        // A `kid` or `jku` pointing anywhere does not select another key.
        for header in [
            r#"{"alg":"EdDSA","typ":"JWT","kid":"../../dev/null"}"#,
            r#"{"alg":"EdDSA","typ":"JWT","jku":"https://attacker.example/jwks.json"}"#,
            r#"{"alg":"EdDSA","typ":"JWT","kid":"' OR 1=1 --"}"#,
        ] {
            let header: Header = serde_json::from_str(header).unwrap();
            let token = jsonwebtoken::encode(&header, &claims(|_| {}), &key).unwrap();
            assert!(rejected(&verifier, &token), "{token}");
        }
        // A genuine token whose header gains a kid fails its signature.
        let good = issuer.issue(&UserId::new_random(), &SessionId::new_random(), now_unix()).unwrap().access_token;
        let mut parts: Vec<String> = good.split('.').map(String::from).collect();
        parts[0] = B64.encode(br#"{"typ":"JWT","alg":"EdDSA","kid":"x"}"#);
        assert!(rejected(&verifier, &parts.join(".")));
    }

    #[test]
    fn mangled_tokens_are_rejected() {
        let (issuer, verifier, _) = pair();
        let good = issuer.issue(&UserId::new_random(), &SessionId::new_random(), now_unix()).unwrap().access_token;
        let body_and_signature = good.split_once('.').unwrap().1;
        let huge_header =
            format!("{}.{body_and_signature}", B64.encode(format!(r#"{{"alg":"EdDSA","x":"{}"}}"#, "a".repeat(5000))));
        let mangled = [
            good[..good.len() / 2].to_owned(),
            format!("{good}\u{200b}"),
            good.replacen('.', "\u{ff0e}", 1),
            format!("{good}\n"),
            format!("{good} "),
            good.replacen('e', "\u{e9}", 1),
            good.to_uppercase(),
            format!("{good}.extra"),
            huge_header,
        ];
        for token in mangled {
            assert!(rejected(&verifier, &token), "{token:?}");
        }
        assert!(verifier.verify(&good, now_unix()).is_ok());
    }

    #[test]
    fn rejects_garbage() {
        let (issuer, verifier, _) = pair();
        let good = issuer.issue(&UserId::new_random(), &SessionId::new_random(), now_unix()).unwrap().access_token;
        let oversized = format!("{good}{}", "A".repeat(MAX_TOKEN_LENGTH));
        for garbage in ["", "abc", "a.b.c", "..", "Bearer x", &good[..good.len() - 3], &oversized, &format!(" {good}")]
        {
            assert!(rejected(&verifier, garbage), "{garbage:?} was accepted");
        }
    }

    #[test]
    fn generated_keys_are_pem() {
        let keys = SigningKeyPair::generate().unwrap();
        assert!(keys.private_key_pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert!(keys.public_key_pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        assert!(TokenIssuer::from_pem(&keys.public_key_pem, settings()).is_err());
    }

    #[test]
    fn a_bad_signing_key_fails_at_start_not_at_the_first_login() {
        let zeros = format!("-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n", "A".repeat(64));
        assert!(TokenIssuer::from_pem(&zeros, settings()).is_err());
        assert!(TokenIssuer::from_pem("not a key", settings()).is_err());
    }
}
