//! Tokens of both algorithms verified by a JOSE library this project did not
//! write (PyJWT, `tests/interop/verify_token.py`) from the key set the jwks
//! function publishes: login and jwks built as a deploy with an Ed25519 or a
//! P-256 key builds them, on DynamoDB Local. The running service's own check
//! with PyJWKClient is in `scripts/api-conformance`.

use std::process::Command;

use user_auth_core::config::vars;
use user_auth_core::tokens::{Algorithm, SigningKeyPair};

use crate::helpers::{scratch_dir, TestApp, PASSWORD};

/// Whether PyJWT accepts `token` against `set`; panics if it cannot run.
fn pyjwt_accepts(set: &serde_json::Value, token: &str, issuer: &str, audience: &str) -> bool {
    let file = scratch_dir("jwks").join("jwks.json");
    std::fs::write(&file, set.to_string()).unwrap();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("interop/verify_token.py");
    let output = Command::new("python3")
        .arg(script)
        .args([file.to_str().unwrap(), token, issuer, audience])
        .output()
        .expect("python3 with PyJWT (scripts/setup.sh installs it)");
    let said = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    match output.status.code() {
        Some(0) => true,
        Some(3) => false,
        _ => panic!("PyJWT could not run: {said}"),
    }
}

#[tokio::test]
async fn pyjwt_verifies_tokens_of_either_algorithm_from_the_published_set_and_nothing_else() {
    let app = TestApp::spawn().await;
    app.signed_in_user("ivan").await;
    let (issuer, audience) = (app.keys.settings.issuer.clone(), app.keys.settings.audience.clone());
    for algorithm in [Algorithm::EdDSA, Algorithm::ES256] {
        let keys = SigningKeyPair::generate_for(algorithm).unwrap();
        let key_file = scratch_dir("interop-key").join("signing-key.pem");
        std::fs::write(&key_file, &keys.private_key_pem).unwrap();
        let env = app.env_with(&[
            (vars::TOKEN_SIGNING_KEY_FILE, key_file.to_str().unwrap()),
            (vars::TOKEN_VERIFYING_KEY, &keys.public_key_pem),
        ]);
        let login = login::build(&env).await.unwrap();
        let set = serde_json::to_value(&jwks::build(&env).await.unwrap().set).unwrap();
        let answer = app.login_with(&login, "ivan", PASSWORD).await;
        let token = answer.json["access_token"].as_str().unwrap().to_owned();
        assert_eq!(jsonwebtoken::decode_header(&token).unwrap().alg, algorithm);
        assert!(pyjwt_accepts(&set, &token, &issuer, &audience), "{algorithm:?}: PyJWT refused a genuine token");
        assert!(!pyjwt_accepts(&set, &token, &issuer, "another-audience"), "{algorithm:?}: the audience is checked");
        // A token of the app's own key, which is not in this set.
        let (_, stranger) = app.signed_in_user(&format!("s{}", algorithm_name(algorithm))).await;
        assert!(!pyjwt_accepts(&set, &stranger, &issuer, &audience), "{algorithm:?}: a key outside the set");
        // The same claims signed by another key of the same type under the set's own kid:
        // refused by PyJWT's signature check, not by a lookup.
        let forged = forge(&token, algorithm);
        assert!(!pyjwt_accepts(&set, &forged, &issuer, &audience), "{algorithm:?}: another key under the set's kid");
    }
}

/// `token`'s header and claims, signed by a new key of `algorithm`.
fn forge(token: &str, algorithm: Algorithm) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let header = jsonwebtoken::decode_header(token).unwrap();
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').nth(1).unwrap()).unwrap()).unwrap();
    let stranger = SigningKeyPair::generate_for(algorithm).unwrap();
    let key = match algorithm {
        Algorithm::ES256 => jsonwebtoken::EncodingKey::from_ec_pem(stranger.private_key_pem.as_bytes()),
        _ => jsonwebtoken::EncodingKey::from_ed_pem(stranger.private_key_pem.as_bytes()),
    };
    jsonwebtoken::encode(&header, &claims, &key.unwrap()).unwrap()
}

fn algorithm_name(algorithm: Algorithm) -> &'static str {
    if algorithm == Algorithm::ES256 {
        "es256"
    } else {
        "eddsa"
    }
}
