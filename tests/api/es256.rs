//! The service on a P-256 signing key (ES256), a deployment's choice: login,
//! refresh, reuse detection and the authorizer, and refresh tokens that live
//! through a rotation from an Ed25519 key to a P-256 one.

use jsonwebtoken::Algorithm;
use serde_json::Value;
use user_auth_core::config::vars;
use user_auth_core::test_support::TestKeys;
use user_auth_core::tokens::SigningKeyPair;

use crate::helpers::{authorize_with, get_user_with, scratch_dir, DynamoDbLocal, TestApp, PASSWORD};

fn algorithm_of(token: &str) -> Algorithm {
    jsonwebtoken::decode_header(token).unwrap().alg
}

fn tokens(answer: &Value) -> (String, String) {
    let token = |name: &str| answer[name].as_str().unwrap_or_else(|| panic!("no {name}: {answer}")).to_owned();
    (token("access_token"), token("refresh_token"))
}

#[tokio::test]
async fn login_refresh_reuse_detection_and_the_authorizer_under_es256() {
    let app = TestApp::spawn_with_keys(DynamoDbLocal::start().await, TestKeys::generate_for(Algorithm::ES256)).await;
    let (id, access) = app.signed_in_user("pia").await;
    assert_eq!(algorithm_of(&access), Algorithm::ES256);
    assert_eq!(app.get_user(&id, &access).await.status, 200);
    assert_eq!(app.authorize(&access).await.unwrap()["isAuthorized"], true);

    let (_, first) = tokens(&app.login("pia", PASSWORD).await.json);
    let renewed = app.refresh(&first).await;
    assert_eq!(renewed.status, 200, "{renewed:?}");
    let (access, second) = tokens(&renewed.json);
    assert_eq!(algorithm_of(&access), Algorithm::ES256);
    // A retry within the grace interval gets the very token the refresh gave.
    let retried = app.refresh(&first).await;
    assert_eq!(tokens(&retried.json).1, second, "{retried:?}");

    // The spent token after the grace interval: theft, and the session ends.
    app.clock.advance(11);
    let replayed = app.refresh(&first).await;
    assert_eq!((replayed.status, replayed.error_code()), (401, Some("invalid_refresh_token")));
    assert_eq!(app.me(&access).await.status, 401, "the session ended with the replay");
    assert_eq!(app.refresh(&second).await.status, 401);
    assert_eq!(app.authorize(&access).await.unwrap()["isAuthorized"], false);
}

#[tokio::test]
async fn refresh_tokens_live_through_a_rotation_from_ed25519_to_p256() {
    let app = TestApp::spawn().await;
    let (id, _) = app.signed_in_user("quinn").await;
    let (old_access, old_refresh) = tokens(&app.login("quinn", PASSWORD).await.json);
    assert_eq!(algorithm_of(&old_access), Algorithm::EdDSA);

    // Steps 1 and 2 of a rotation, to a key of the other type: both keys
    // verify, the P-256 one signs.
    let next = SigningKeyPair::generate_for(Algorithm::ES256).unwrap();
    let next_key_file = scratch_dir("es256-key").join("signing-key.pem");
    std::fs::write(&next_key_file, &next.private_key_pem).unwrap();
    let both = format!("{}{}", app.keys.pair.public_key_pem, next.public_key_pem);
    let key_file = next_key_file.display().to_string();
    let env = app.env_with(&[(vars::TOKEN_VERIFYING_KEY, &both), (vars::TOKEN_SIGNING_KEY_FILE, &key_file)]);
    let mut refresh = refresh::build(&env).await.expect("refresh starts on a P-256 key");
    refresh.clock = app.clock.clone();
    let mut get_user = get_user::build(&env).await.unwrap();
    get_user.clock = app.clock.clone();
    let authorize = authorize::build(&env).await.unwrap();

    let renewed = app.refresh_with(&refresh, &old_refresh).await;
    assert_eq!(renewed.status, 200, "a refresh token from before the rotation: {renewed:?}");
    let (new_access, new_refresh) = tokens(&renewed.json);
    assert_eq!(algorithm_of(&new_access), Algorithm::ES256);
    for access in [&old_access, &new_access] {
        assert_eq!(get_user_with(&get_user, &id, access).await.status, 200);
        assert_eq!(authorize_with(&authorize, access).await.unwrap()["isAuthorized"], true);
    }
    assert_eq!(tokens(&app.refresh_with(&refresh, &old_refresh).await.json).1, new_refresh, "a retry");
    let (_, newest) = tokens(&app.refresh_with(&refresh, &new_refresh).await.json);

    // Reuse is still seen on the new key: the session ends.
    app.clock.advance(11);
    assert_eq!(app.refresh_with(&refresh, &new_refresh).await.status, 401);
    assert_eq!(app.refresh_with(&refresh, &newest).await.status, 401, "the session ended");
    assert_eq!(get_user_with(&get_user, &id, &new_access).await.status, 401);
}
