//! A signing key rotated as docs/deployment.md's three steps rotate it, through the
//! functions' own wiring over DynamoDB Local: a token is accepted by
//! get-user and the authorizer until its key leaves the verifying set, and
//! the key set publishes what the verifiers accept at each step.

use serde_json::Value;
use user_auth_core::config::vars;
use user_auth_core::store::dynamodb::DynamoStore;
use user_auth_core::tokens::SigningKeyPair;

use crate::helpers::{authorize_with, get_user_with, scratch_dir, TestApp, PASSWORD};

/// The functions that verify tokens, as a deploy with the verifying set `pems` starts them.
struct Verifiers {
    get_user: get_user::GetUser<DynamoStore>,
    authorize: authorize::Authorize<DynamoStore>,
    jwks: jwks::Jwks,
}

impl Verifiers {
    async fn deployed(app: &TestApp, pems: &str) -> Self {
        let env = app.env_with(&[(vars::TOKEN_VERIFYING_KEY, pems)]);
        Verifiers {
            get_user: get_user::build(&env).await.unwrap(),
            authorize: authorize::build(&env).await.unwrap(),
            jwks: jwks::build(&env).await.unwrap(),
        }
    }

    /// Whether get-user and the authorizer both accept `token`; they must agree.
    async fn accept(&self, id: &str, token: &str) -> bool {
        let by_get_user = get_user_with(&self.get_user, id, token).await.status == 200;
        let by_authorizer = authorize_with(&self.authorize, token).await.unwrap()["isAuthorized"] == true;
        assert_eq!(by_get_user, by_authorizer, "get-user and the authorizer disagree");
        by_get_user
    }

    fn published(&self) -> Vec<String> {
        let set = serde_json::to_value(&self.jwks.set).unwrap();
        set["keys"].as_array().unwrap().iter().map(|key| key["kid"].as_str().unwrap().to_owned()).collect()
    }
}

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

fn access_token(answer: &Value) -> String {
    answer["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_key_rotation_logs_nobody_out_and_a_dropped_key_opens_nothing() {
    let app = TestApp::spawn().await;
    let (id, _) = app.signed_in_user("heidi").await;
    let current = app.keys.pair.public_key_pem.clone();
    let next = SigningKeyPair::generate().unwrap();
    let next_key_file = scratch_dir("next-key").join("signing-key.pem");
    std::fs::write(&next_key_file, &next.private_key_pem).unwrap();

    let before = access_token(&app.login("heidi", PASSWORD).await.json);
    let old_kid = kid_of(&before);
    let today = Verifiers::deployed(&app, &current).await;
    assert!(today.accept(&id, &before).await);

    // 1. The next key is published beside the current one.
    let both = Verifiers::deployed(&app, &format!("{current}{}", next.public_key_pem)).await;
    assert_eq!(both.published().len(), 2);
    assert_eq!(both.published()[0], old_kid);
    assert!(both.accept(&id, &before).await);

    // 2. Login signs with the next key; tokens of either key are accepted.
    let file = next_key_file.display().to_string();
    let next_login = login::build(&app.env_with(&[(vars::TOKEN_SIGNING_KEY_FILE, &file)])).await.unwrap();
    let after = access_token(&app.login_with(&next_login, "heidi", PASSWORD).await.json);
    assert_eq!(kid_of(&after), both.published()[1]);
    assert!(both.accept(&id, &after).await && both.accept(&id, &before).await);
    // Had the next key signed before it was published, its tokens would have been refused.
    assert!(!today.accept(&id, &after).await);

    // 3. Once the old key's tokens have expired, it is dropped: what it signed opens nothing.
    let only_next = Verifiers::deployed(&app, &next.public_key_pem).await;
    assert_eq!(only_next.published(), [kid_of(&after)]);
    assert!(only_next.accept(&id, &after).await);
    assert!(!only_next.accept(&id, &before).await);
}
