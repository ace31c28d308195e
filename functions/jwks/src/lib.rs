//! `GET /.well-known/jwks.json`: the public keys that verify access tokens,
//! as a JWK set (RFC 7517), for services that check tokens themselves.
//! `GET /.well-known/openid-configuration`: the document that points to it,
//! for verifiers given only the issuer, when the issuer is a URL.

use lambda_http::{Body, Request, Response};
use user_auth_core::config::{self, Env};
use user_auth_core::edge::ok_cacheable;
use user_auth_core::tokens::{self, Discovery, JwkSet};
use user_auth_core::{ApiError, BoxError};

/// How long a verifier or a cache may keep the set, in seconds. A rotation
/// publishes the next key this long before it signs anything (docs/deployment.md, "Key
/// rotation"), so the age is the wait at that step: 5 minutes keeps a
/// rotation short, and costs a verifier one fetch per 5 minutes at most.
/// Verifiers that meet an unknown `kid` fetch the set again anyway.
pub const MAX_AGE_SECONDS: u32 = 300;

/// What every request uses, built once per process: the set, as published,
/// and the discovery document, when the issuer is a URL.
pub struct Jwks {
    pub set: JwkSet,
    pub discovery: Option<Discovery>,
}

/// The production wiring: `main` serves what this builds, and the tests build it the same way.
pub async fn build(env: &Env) -> Result<Jwks, BoxError> {
    let keys = tokens::verifying_keys(&config::verifying_key_pem(env)?)?;
    Ok(Jwks { set: JwkSet::of(&keys), discovery: Discovery::of(&config::token_issuer(env)) })
}

pub async fn handle(app: &Jwks, request: Request) -> Result<Response<Body>, ApiError> {
    if !request.uri().path().ends_with("/openid-configuration") {
        return Ok(ok_cacheable(&app.set, MAX_AGE_SECONDS));
    }
    // No document where the issuer is not a URL: there is nowhere it could be found.
    let discovery = app.discovery.as_ref().ok_or(ApiError::NotFound)?;
    Ok(ok_cacheable(discovery, MAX_AGE_SECONDS))
}

#[cfg(test)]
mod tests {
    use serde_json::Value;
    use user_auth_core::config::vars;
    use user_auth_core::test_support::{call_json, Fixture, TestKeys};
    use user_auth_core::tokens::SigningKeyPair;

    use super::*;

    fn event() -> Fixture {
        Fixture::parse(include_str!("../fixtures/jwks.json"))
    }

    async fn app(pems: &str) -> Jwks {
        build(&Env::from_pairs([(vars::TOKEN_VERIFYING_KEY, pems)])).await.unwrap()
    }

    fn discovery_event() -> Fixture {
        Fixture::parse(include_str!("../fixtures/openid-configuration.json"))
    }

    #[tokio::test]
    async fn the_discovery_document_names_the_issuer_and_the_key_set_and_nothing_else() {
        let keys = TestKeys::generate();
        let issuer = "https://abc123defg.execute-api.eu-west-1.amazonaws.com";
        let env = Env::from_pairs([
            (vars::TOKEN_VERIFYING_KEY, keys.pair.public_key_pem.as_str()),
            (vars::TOKEN_ISSUER, issuer),
        ]);
        let app = build(&env).await.unwrap();
        let response = call_json(handle(&app, discovery_event().request())).await;
        assert_eq!(response.status, 200);
        assert_eq!(response.headers["cache-control"], "public, max-age=300");
        let expected = serde_json::json!({ "issuer": issuer, "jwks_uri": format!("{issuer}/.well-known/jwks.json") });
        assert_eq!(response.json, expected);
        // The key set is still the key set.
        assert!(call_json(handle(&app, event().request())).await.json["keys"].is_array());
    }

    #[tokio::test]
    async fn without_a_url_issuer_there_is_no_discovery_document() {
        let app = app(&TestKeys::generate().pair.public_key_pem).await;
        let response = call_json(handle(&app, discovery_event().request())).await;
        assert_eq!((response.status, response.error_code()), (404, Some("not_found")));
    }

    #[tokio::test]
    async fn publishes_each_verifying_key_as_a_public_jwk() {
        let (current, next) = (TestKeys::generate(), SigningKeyPair::generate().unwrap());
        let app = app(&format!("{}{}", current.pair.public_key_pem, next.public_key_pem)).await;
        let response = call_json(handle(&app, event().request())).await;
        assert_eq!(response.status, 200);
        assert_eq!(response.headers["cache-control"], "public, max-age=300");
        let keys = response.json["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 2);
        let issuer = current.issuer();
        assert_eq!(keys[0]["kid"], issuer.key_id(), "the kid login's tokens carry");
        for key in keys {
            let members: Vec<&str> = key.as_object().unwrap().keys().map(String::as_str).collect();
            assert_eq!(members, ["alg", "crv", "kid", "kty", "use", "x"], "{key}");
            assert_eq!(
                (&key["kty"], &key["crv"], &key["alg"], &key["use"]),
                (&Value::from("OKP"), &Value::from("Ed25519"), &Value::from("EdDSA"), &Value::from("sig"))
            );
            assert_eq!(key["x"].as_str().unwrap().len(), 43, "32 bytes, base64url");
        }
    }

    #[tokio::test]
    async fn publishes_a_p256_key_with_both_coordinates() {
        use user_auth_core::tokens::Algorithm;
        let (ed, ec) = (SigningKeyPair::generate().unwrap(), SigningKeyPair::generate_for(Algorithm::ES256).unwrap());
        let app = app(&format!("{}{}", ed.public_key_pem, ec.public_key_pem)).await;
        let response = call_json(handle(&app, event().request())).await;
        let key = &response.json["keys"][1];
        let members: Vec<&str> = key.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(members, ["alg", "crv", "kid", "kty", "use", "x", "y"], "{key}");
        assert_eq!(
            (&key["kty"], &key["crv"], &key["alg"]),
            (&Value::from("EC"), &Value::from("P-256"), &Value::from("ES256"))
        );
        // A private EC key would carry `d`.
        assert!(key.get("d").is_none());
    }

    #[tokio::test]
    async fn no_private_part_is_ever_published() {
        let keys = TestKeys::generate();
        let app = app(&keys.pair.public_key_pem).await;
        let response = call_json(handle(&app, event().request())).await;
        let body = response.json.to_string();
        // A private OKP key would carry `d`; the private PEM's bytes are not there either.
        assert!(response.json["keys"][0].get("d").is_none(), "{body}");
        let private_body = keys.pair.private_key_pem.lines().nth(1).unwrap();
        assert!(!body.contains(&private_body[16..40]), "{body}");
    }

    #[tokio::test]
    async fn a_private_key_in_place_of_the_public_set_stops_the_start() {
        let keys = SigningKeyPair::generate().unwrap();
        let env = Env::from_pairs([(vars::TOKEN_VERIFYING_KEY, keys.private_key_pem.as_str())]);
        assert!(build(&env).await.is_err());
    }
}
