//! Access tokens: JWTs signed with Ed25519 (EdDSA), or with P-256 (ES256)
//! where a deployment's key is one, so that any service can verify them with
//! the public key alone.
//!
//! Each token's header names its type, `at+jwt` (RFC 9068), and its key,
//! `kid`: the key's RFC 7638 thumbprint. Verifiers hold a set of public keys
//! and pick the one the `kid` names, never a key the token brings (`jku`,
//! `jwk`, `x5u` are ignored), so that a next key can be published before it
//! signs anything and an old one kept until its last token expires: keys
//! rotate without logging anyone out. Each key has one algorithm, its type's,
//! and verification pins it: a token whose header names another algorithm
//! than its key's is refused, as are `none`, HMAC and every algorithm but
//! EdDSA and ES256. It refuses any other
//! type, and requires `iss`, `aud`, `sub`, `iat`, `exp`, `jti` and `sid`, the
//! session the token belongs to.
//! Time comes from the caller (a [`crate::clock::Clock`] reading), so expiry
//! is judged by the same clock as everything else.

use std::collections::HashSet;
use std::time::Duration;

use base64::Engine;
pub use jsonwebtoken::Algorithm;
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::domain::{Session, SessionId, SignIn, UserId};

mod crypto;
pub mod refresh;

/// Tokens longer than this are refused before any parsing.
pub const MAX_TOKEN_LENGTH: usize = 4096;

/// The header type of access tokens (RFC 9068, section 2.1).
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";

/// The header of every access token signed with the key `kid` of `algorithm`.
fn access_token_header(algorithm: Algorithm, kid: &str) -> Header {
    let mut header = Header::new(algorithm);
    header.typ = Some(ACCESS_TOKEN_TYPE.to_owned());
    header.kid = Some(kid.to_owned());
    header
}

/// Whether a header's `typ` says access token: `at+jwt`, or the full media
/// type, compared without regard to case as media types are (RFC 9068, 4).
fn is_access_token_type(typ: Option<&str>) -> bool {
    typ.is_some_and(|typ| typ.eq_ignore_ascii_case(ACCESS_TOKEN_TYPE) || typ.eq_ignore_ascii_case("application/at+jwt"))
}

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
    /// How the session was signed in (RFC 8176): `["pwd"]`, or with a
    /// second factor `["pwd", "otp"]` or `["pwd", "mfa"]`. Absent from
    /// tokens issued before it was, which read as none.
    #[serde(default)]
    pub amr: Vec<String>,
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
#[error("invalid token key: {what}")]
pub struct KeyError {
    what: String,
    #[source]
    source: Option<crate::BoxError>,
}

impl KeyError {
    pub(crate) fn new(what: impl Into<String>) -> Self {
        KeyError { what: what.into(), source: None }
    }

    /// `what` failed, caused by the error it is given.
    pub(crate) fn of<E: Into<crate::BoxError>>(what: impl Into<String>) -> impl FnOnce(E) -> Self {
        let what = what.into();
        move |err| KeyError { what, source: Some(err.into()) }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Any refusal: bad signature, algorithm, claims, expiry. Which one is
    /// logged, never told to the client.
    #[error("the token is invalid or expired")]
    Invalid,
    #[error("token signing failed")]
    Signing(#[source] jsonwebtoken::errors::Error),
}

pub struct TokenIssuer {
    key: EncodingKey,
    /// The key's algorithm, the one its type allows.
    algorithm: Algorithm,
    /// The key's id, in the header of every token it signs.
    kid: String,
    settings: TokenSettings,
}

impl TokenIssuer {
    /// An issuer signing with an Ed25519 or P-256 private key (PKCS#8 PEM).
    pub fn from_pem(private_key_pem: &str, settings: TokenSettings) -> Result<Self, KeyError> {
        crypto::install().map_err(KeyError::new)?;
        let (algorithm, key, public) = crypto::signing_key(private_key_pem).map_err(KeyError::of("the signing key"))?;
        let kid = crypto::thumbprint(algorithm, &public);
        Ok(TokenIssuer { key, algorithm, kid, settings })
    }

    /// The algorithm this issuer signs with.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The id of the key this issuer signs with.
    pub fn key_id(&self) -> &str {
        &self.kid
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
        self.sign(user_id, session_id, SignIn::Password, now, not_after)
    }

    /// A token of `session` at `now`: its user, its id, how it was signed
    /// in, and no later end than the session's own.
    pub fn issue_for(&self, session: &Session, now: u64) -> Result<IssuedToken, TokenError> {
        self.sign(&session.user_id, &session.id, session.sign_in, now, session.ends_at())
    }

    fn sign(
        &self,
        user_id: &UserId,
        session_id: &SessionId,
        sign_in: SignIn,
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
            amr: sign_in.amr().iter().map(|method| method.to_string()).collect(),
        };
        let access_token = jsonwebtoken::encode(&access_token_header(self.algorithm, &self.kid), &claims, &self.key)
            .map_err(TokenError::Signing)?;
        Ok(IssuedToken { access_token, expires_in: ttl })
    }
}

/// A public key that verifies access tokens, its algorithm and its id.
#[derive(Clone)]
pub struct VerifyingKey {
    pub kid: String,
    pub algorithm: Algorithm,
    /// The raw public key: Ed25519's 32 bytes, or P-256's uncompressed point.
    pub public_key: Vec<u8>,
    key: DecodingKey,
}

/// The public keys of one or more SPKI PEM blocks, one after the other: the
/// keys verifiers accept. Refuses an empty set, a block that is not an
/// Ed25519 or P-256 public key, and the same key twice.
pub fn verifying_keys(pems: &str) -> Result<Vec<VerifyingKey>, KeyError> {
    const END: &str = "-----END PUBLIC KEY-----";
    let mut keys: Vec<VerifyingKey> = Vec::new();
    let mut rest = pems.trim();
    while !rest.is_empty() {
        let end = rest.find(END).ok_or_else(|| KeyError::new("a PEM block has no END PUBLIC KEY line"))?;
        let block = &rest[..end + END.len()];
        rest = rest[end + END.len()..].trim_start();
        let (algorithm, key, public_key) = crypto::verifying_key(block).map_err(KeyError::of("a verifying key"))?;
        let kid = crypto::thumbprint(algorithm, &public_key);
        if keys.iter().any(|known| known.kid == kid) {
            return Err(KeyError::new(format!("the key {kid} is listed twice")));
        }
        keys.push(VerifyingKey { kid, algorithm, public_key, key });
    }
    if keys.is_empty() {
        return Err(KeyError::new("no public key is given"));
    }
    Ok(keys)
}

/// A key set as RFC 7517 publishes it: `{"keys": [...]}`.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct JwkSet {
    pub keys: Vec<Jwk>,
}

/// A public key as a JWK: Ed25519 as an octet key pair (RFC 8037), P-256 as
/// an elliptic curve key (RFC 7518, 6.2), with its id, algorithm and use.
/// Nothing private is in this type.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Jwk {
    pub kty: String,
    pub crv: String,
    pub x: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    pub kid: String,
    pub alg: String,
    #[serde(rename = "use")]
    pub use_: String,
}

impl From<&VerifyingKey> for Jwk {
    fn from(key: &VerifyingKey) -> Self {
        let (kty, crv, x, y) = crypto::jwk_members(key.algorithm, &key.public_key);
        let alg = if key.algorithm == Algorithm::ES256 { "ES256" } else { "EdDSA" };
        Jwk { kty: kty.into(), crv: crv.into(), x, y, kid: key.kid.clone(), alg: alg.into(), use_: "sig".into() }
    }
}

impl JwkSet {
    pub fn of(keys: &[VerifyingKey]) -> Self {
        JwkSet { keys: keys.iter().map(Jwk::from).collect() }
    }
}

/// The document at `<issuer>/.well-known/openid-configuration` that a
/// verifier configured with only the issuer (API Gateway's JWT authorizers)
/// reads to find the key set. It names the issuer and the key set and claims
/// nothing else: this service issues no ID tokens and has none of an OpenID
/// provider's endpoints.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Discovery {
    pub issuer: String,
    pub jwks_uri: String,
}

impl Discovery {
    /// The document of `issuer`, when it is a URL the document can live
    /// under: HTTPS, or HTTP on the loopback interface (local runs).
    pub fn of(issuer: &str) -> Option<Discovery> {
        let uri: http::Uri = issuer.parse().ok()?;
        let authority = uri.authority()?;
        let loopback = matches!(authority.host(), "127.0.0.1" | "localhost" | "[::1]");
        let scheme_fits = match uri.scheme_str()? {
            "https" => true,
            "http" => loopback,
            _ => false,
        };
        // No user part (`http://localhost:@elsewhere`), no query, no fragment.
        if !scheme_fits || authority.as_str().contains('@') || uri.query().is_some() || issuer.contains('#') {
            return None;
        }
        let base = issuer.trim_end_matches('/');
        Some(Discovery { issuer: issuer.to_owned(), jwks_uri: format!("{base}/.well-known/jwks.json") })
    }
}

pub struct TokenVerifier {
    keys: Vec<VerifyingKey>,
    /// The claims' checks, for each algorithm of the keys: a key's tokens are
    /// decoded with its algorithm's alone.
    validations: Vec<(Algorithm, Validation)>,
}

impl TokenVerifier {
    /// A verifier of the keys in `public_key_pems`: one or more SPKI PEM
    /// blocks ([`verifying_keys`]).
    pub fn from_pem(public_key_pems: &str, settings: &TokenSettings) -> Result<Self, KeyError> {
        crypto::install().map_err(KeyError::new)?;
        let keys = verifying_keys(public_key_pems)?;
        let validation_of = |algorithm| {
            let mut validation = Validation::new(algorithm);
            validation.set_issuer(&[&settings.issuer]);
            validation.set_audience(&[&settings.audience]);
            validation.required_spec_claims = HashSet::from(["exp", "iss", "aud", "sub"].map(String::from));
            // Times are judged below against the caller's clock, not the
            // library's reading of the system time.
            validation.validate_exp = false;
            validation.validate_nbf = false;
            (algorithm, validation)
        };
        let validations = crypto::ALGORITHMS.into_iter().map(validation_of).collect();
        Ok(TokenVerifier { keys, validations })
    }

    /// The keys this verifier accepts, in the order given.
    pub fn keys(&self) -> &[VerifyingKey] {
        &self.keys
    }

    /// Checks signature, algorithm, issuer, audience, and expiry as of `now`
    /// (Unix seconds). Whether the token's session is still active is the
    /// caller's to check, against the session store.
    pub fn verify(&self, token: &str, now: u64) -> Result<Claims, TokenError> {
        if token.is_empty() || token.len() > MAX_TOKEN_LENGTH {
            return Err(TokenError::Invalid);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|err| {
            tracing::info!(reason = %err, "token rejected");
            TokenError::Invalid
        })?;
        if !is_access_token_type(header.typ.as_deref()) {
            tracing::info!("token rejected: not an access token (typ)");
            return Err(TokenError::Invalid);
        }
        let Some(key) = header.kid.as_deref().and_then(|kid| self.keys.iter().find(|key| key.kid == kid)) else {
            tracing::info!("token rejected: no key of the set has its kid");
            return Err(TokenError::Invalid);
        };
        // The key's algorithm, never the header's: a header naming another is refused.
        let Some((_, validation)) = self.validations.iter().find(|(algorithm, _)| *algorithm == key.algorithm) else {
            return Err(TokenError::Invalid);
        };
        if header.alg != key.algorithm {
            tracing::info!("token rejected: its algorithm is not its key's");
            return Err(TokenError::Invalid);
        }
        let data = jsonwebtoken::decode::<Claims>(token, &key.key, validation).map_err(|err| {
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

/// A new key pair, as PEM: PKCS#8 private key and SPKI public key.
pub struct SigningKeyPair {
    pub private_key_pem: String,
    pub public_key_pem: String,
}

impl SigningKeyPair {
    /// An Ed25519 pair: the default.
    pub fn generate() -> Result<Self, KeyError> {
        Self::generate_for(Algorithm::EdDSA)
    }

    /// A pair for `algorithm`: EdDSA (Ed25519) or ES256 (P-256).
    pub fn generate_for(algorithm: Algorithm) -> Result<Self, KeyError> {
        let (private_der, public_key) =
            crypto::generate(algorithm).map_err(|_| KeyError::new(format!("cannot make a {algorithm:?} key")))?;
        Ok(SigningKeyPair {
            private_key_pem: pem("PRIVATE KEY", &private_der),
            public_key_pem: pem("PUBLIC KEY", &crypto::public_key_spki(algorithm, &public_key)),
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
            amr: vec!["pwd".into()],
        };
        overrides(&mut claims);
        claims
    }

    /// Signs any claims as the service would: `at+jwt`, the key's `kid`.
    fn sign(keys: &SigningKeyPair, claims: &impl Serialize) -> String {
        crypto::install().unwrap();
        let (algorithm, key, public) = crypto::signing_key(&keys.private_key_pem).unwrap();
        jsonwebtoken::encode(&access_token_header(algorithm, &crypto::thumbprint(algorithm, &public)), claims, &key)
            .unwrap()
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
        let header = B64.encode(format!(r#"{{"alg":"none","typ":"at+jwt","kid":"{}"}}"#, verifier.keys()[0].kid));
        let payload = B64.encode(serde_json::to_vec(&claims(|_| {})).unwrap());
        assert!(rejected(&verifier, &format!("{header}.{payload}.")));
        assert!(rejected(&verifier, &format!("{header}.{payload}")));
    }

    #[test]
    fn rejects_hs256_signed_with_the_public_key() {
        let (_, verifier, keys) = pair();
        // Signed by hand: the service's own cryptography signs nothing but EdDSA.
        let header = B64.encode(format!(r#"{{"alg":"HS256","typ":"at+jwt","kid":"{}"}}"#, verifier.keys()[0].kid));
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
        let full = serde_json::to_value(claims(|_| {})).unwrap();
        for missing in ["iss", "aud", "sub", "iat", "exp", "jti", "sid"] {
            let mut partial = full.clone();
            partial.as_object_mut().unwrap().remove(missing);
            assert!(rejected(&verifier, &sign(&keys, &partial)), "token without {missing} was accepted");
        }
    }

    #[test]
    fn rejects_tokens_not_yet_valid() {
        let (_, verifier, keys) = pair();
        let now = now_unix();
        let mut with_nbf = serde_json::to_value(claims(|_| {})).unwrap();
        with_nbf["nbf"] = (now + 600).into();
        assert!(rejected(&verifier, &sign(&keys, &with_nbf)));
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
    fn a_token_of_the_services_own_is_what_the_tests_sign() {
        let (issuer, verifier, keys) = pair();
        let token = issuer.issue(&UserId::new_random(), &SessionId::new_random(), now_unix()).unwrap().access_token;
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        assert_eq!(header.kid.as_deref(), Some(issuer.key_id()));
        assert_eq!(verifier.keys()[0].kid, issuer.key_id());
        // What the refusal tests sign passes when nothing is wrong with it.
        assert!(verifier.verify(&sign(&keys, &claims(|_| {})), now_unix()).is_ok());
    }

    #[test]
    fn only_access_tokens_are_accepted() {
        let (_, verifier, keys) = pair();
        let key = EncodingKey::from_ed_pem(keys.private_key_pem.as_bytes()).unwrap();
        let kid = verifier.keys()[0].kid.clone();
        for typ in [None, Some("JWT"), Some("jwt"), Some("id_token+jwt"), Some("at+jwt2")] {
            let mut header = access_token_header(Algorithm::EdDSA, &kid);
            header.typ = typ.map(String::from);
            let token = jsonwebtoken::encode(&header, &claims(|_| {}), &key).unwrap();
            assert!(rejected(&verifier, &token), "typ {typ:?} was accepted");
        }
        for typ in ["AT+JWT", "application/at+jwt"] {
            let mut header = access_token_header(Algorithm::EdDSA, &kid);
            header.typ = Some(typ.to_owned());
            let token = jsonwebtoken::encode(&header, &claims(|_| {}), &key).unwrap();
            assert!(verifier.verify(&token, now_unix()).is_ok(), "typ {typ} was refused");
        }
    }

    #[test]
    fn the_kid_selects_a_key_of_the_set_and_nothing_else() {
        let (_, verifier, keys) = pair();
        let key = EncodingKey::from_ed_pem(keys.private_key_pem.as_bytes()).unwrap();
        for kid in [None, Some("".to_owned()), Some("not-a-key-of-the-set".to_owned())] {
            let mut header = access_token_header(Algorithm::EdDSA, "unused");
            header.kid = kid.clone();
            let token = jsonwebtoken::encode(&header, &claims(|_| {}), &key).unwrap();
            assert!(rejected(&verifier, &token), "kid {kid:?} was accepted");
        }
        // Another key's token, even under this key's kid, fails its signature.
        let (_, _, other) = pair();
        let other_key = EncodingKey::from_ed_pem(other.private_key_pem.as_bytes()).unwrap();
        let token = jsonwebtoken::encode(
            &access_token_header(Algorithm::EdDSA, &verifier.keys()[0].kid),
            &claims(|_| {}),
            &other_key,
        );
        assert!(rejected(&verifier, &token.unwrap()));
    }

    #[test]
    fn keys_rotate_without_refusing_a_token_before_it_expires() {
        let (old, new) = (SigningKeyPair::generate().unwrap(), SigningKeyPair::generate().unwrap());
        let issuer = |keys: &SigningKeyPair| TokenIssuer::from_pem(&keys.private_key_pem, settings()).unwrap();
        let verifier = |pems: &str| TokenVerifier::from_pem(pems, &settings()).unwrap();
        let issue = |issuer: &TokenIssuer| {
            issuer.issue(&UserId::new_random(), &SessionId::new_random(), now_unix()).unwrap().access_token
        };
        let before = issue(&issuer(&old));
        // 1. The next key is published: both are accepted, the old one signs.
        let both = verifier(&format!("{}{}", old.public_key_pem, new.public_key_pem));
        assert!(both.verify(&before, now_unix()).is_ok());
        // 2. The next key signs; tokens of either key are accepted.
        let after = issue(&issuer(&new));
        assert!(both.verify(&before, now_unix()).is_ok() && both.verify(&after, now_unix()).is_ok());
        // 3. Once the old key's last token has expired, it is dropped.
        let only_new = verifier(&new.public_key_pem);
        assert!(only_new.verify(&after, now_unix()).is_ok());
        assert!(rejected(&only_new, &before));
    }

    #[test]
    fn a_key_set_is_one_or_more_distinct_public_keys() {
        let (a, b) = (SigningKeyPair::generate().unwrap(), SigningKeyPair::generate().unwrap());
        let set = verifying_keys(&format!("{}\n{}", a.public_key_pem, b.public_key_pem)).unwrap();
        assert_eq!(set.len(), 2);
        assert_ne!(set[0].kid, set[1].kid);
        assert!(verifying_keys("").is_err());
        assert!(verifying_keys(&format!("{}{}", a.public_key_pem, a.public_key_pem)).is_err(), "the same key twice");
        assert!(verifying_keys(&a.private_key_pem).is_err(), "a private key is no public key");
        assert!(verifying_keys(&format!("{}garbage", a.public_key_pem)).is_err());
    }

    #[test]
    fn an_es256_deployment_issues_and_verifies_its_own_tokens() {
        let keys = SigningKeyPair::generate_for(Algorithm::ES256).unwrap();
        let issuer = TokenIssuer::from_pem(&keys.private_key_pem, settings()).unwrap();
        let verifier = TokenVerifier::from_pem(&keys.public_key_pem, &settings()).unwrap();
        assert_eq!(issuer.algorithm(), Algorithm::ES256);
        let token = issuer.issue(&UserId::new_random(), &SessionId::new_random(), now_unix()).unwrap().access_token;
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!((header.alg, header.kid.as_deref()), (Algorithm::ES256, Some(issuer.key_id())));
        assert!(verifier.verify(&token, now_unix()).is_ok());
        let jwk = &JwkSet::of(verifier.keys()).keys[0];
        assert_eq!((jwk.kty.as_str(), jwk.crv.as_str(), jwk.alg.as_str()), ("EC", "P-256", "ES256"));
        assert_eq!((jwk.x.len(), jwk.y.as_ref().map(String::len)), (43, Some(43)));
        assert_eq!(jwk.kid, issuer.key_id());
    }

    #[test]
    fn a_token_is_accepted_only_under_its_keys_algorithm() {
        let (ed, ec) = (SigningKeyPair::generate().unwrap(), SigningKeyPair::generate_for(Algorithm::ES256).unwrap());
        let issue = |keys: &SigningKeyPair| {
            let issuer = TokenIssuer::from_pem(&keys.private_key_pem, settings()).unwrap();
            issuer.issue(&UserId::new_random(), &SessionId::new_random(), now_unix()).unwrap().access_token
        };
        let (ed_token, ec_token) = (issue(&ed), issue(&ec));
        let both =
            TokenVerifier::from_pem(&format!("{}{}", ed.public_key_pem, ec.public_key_pem), &settings()).unwrap();
        assert!(both.verify(&ed_token, now_unix()).is_ok() && both.verify(&ec_token, now_unix()).is_ok());
        // Each presented to a deployment of the other algorithm alone.
        let ed_only = TokenVerifier::from_pem(&ed.public_key_pem, &settings()).unwrap();
        let ec_only = TokenVerifier::from_pem(&ec.public_key_pem, &settings()).unwrap();
        assert!(rejected(&ed_only, &ec_token) && rejected(&ec_only, &ed_token));
        // A header naming the other algorithm, under the token's own kid.
        for (token, other) in [(&ed_token, "ES256"), (&ec_token, "EdDSA")] {
            let header = jsonwebtoken::decode_header(token).unwrap();
            let kid = header.kid.unwrap();
            let relabelled = B64.encode(format!(r#"{{"alg":"{other}","typ":"at+jwt","kid":"{kid}"}}"#));
            let rest = token.split_once('.').unwrap().1;
            assert!(rejected(&both, &format!("{relabelled}.{rest}")), "{other}");
        }
    }

    #[test]
    fn a_discovery_document_lives_only_under_a_url_issuer() {
        let document = Discovery::of("https://auth.example.com").unwrap();
        assert_eq!(document.jwks_uri, "https://auth.example.com/.well-known/jwks.json");
        assert_eq!(document.issuer, "https://auth.example.com", "the issuer as tokens carry it");
        let with_slash = Discovery::of("https://abc.execute-api.eu-west-1.amazonaws.com/").unwrap();
        assert_eq!(with_slash.jwks_uri, "https://abc.execute-api.eu-west-1.amazonaws.com/.well-known/jwks.json");
        assert!(Discovery::of("http://127.0.0.1:9000").is_some(), "a local run");
        assert!(Discovery::of("http://[::1]:9000").is_some(), "a local run");
        let refused = [
            "user-auth-service",
            "http://auth.example.com",
            "https://",
            "https://x?y",
            "https://x#y",
            "ftp://x",
            "http://localhost:@evil.example",
            "https://user@auth.example.com",
        ];
        for issuer in refused {
            assert!(Discovery::of(issuer).is_none(), "{issuer}");
        }
    }

    #[test]
    fn kid_and_header_tricks_change_nothing() {
        let (issuer, verifier, _) = pair();
        let (_, _, other_keys) = pair();
        let key = EncodingKey::from_ed_pem(other_keys.private_key_pem.as_bytes()).unwrap();
        // A `kid` pointing anywhere, or a key brought by `jku`, `jwk` or
        // `x5u` next to the set's own `kid`, selects no other key.
        let own = &verifier.keys()[0].kid;
        let other_jwk =
            format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{}"}}"#, B64.encode(&pair().1.keys()[0].public_key));
        for header in [
            r#"{"alg":"EdDSA","typ":"at+jwt","kid":"../../dev/null"}"#.to_owned(),
            r#"{"alg":"EdDSA","typ":"at+jwt","kid":"' OR 1=1 --"}"#.to_owned(),
            format!(r#"{{"alg":"EdDSA","typ":"at+jwt","kid":"{own}","jku":"https://attacker.example/jwks.json"}}"#),
            format!(r#"{{"alg":"EdDSA","typ":"at+jwt","kid":"{own}","x5u":"https://attacker.example/cert.pem"}}"#),
            format!(r#"{{"alg":"EdDSA","typ":"at+jwt","kid":"{own}","jwk":{other_jwk}}}"#),
        ] {
            let header: Header = serde_json::from_str(&header).unwrap();
            let token = jsonwebtoken::encode(&header, &claims(|_| {}), &key).unwrap();
            assert!(rejected(&verifier, &token), "{token}");
        }
        // A genuine token whose header is rewritten fails its signature.
        let good = issuer.issue(&UserId::new_random(), &SessionId::new_random(), now_unix()).unwrap().access_token;
        let mut parts: Vec<String> = good.split('.').map(String::from).collect();
        parts[0] = B64.encode(format!(r#"{{"typ":"at+jwt","alg":"EdDSA","kid":"{own}","x":1}}"#));
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
