//! Property tests: arbitrary bodies, headers, usernames and tokens never
//! panic, and every refusal is a JSON error. (`cargo fuzz` needs a nightly
//! compiler; these run on stable, bounded, in every test run.)

use lambda_http::http::header::AUTHORIZATION;
use lambda_http::http::Request as HttpRequest;
use lambda_http::{Body, Request};
use proptest::prelude::*;

use crate::domain::{Password, Username};
use crate::edge::{bearer_token, error_response, json_body, CredentialsBody};
use crate::test_support::{now, TestKeys, MIN_LENGTH};
use crate::tokens::{TokenError, TokenIssuer, TokenVerifier};
use crate::ApiError;

fn assert_json_error(err: &ApiError) {
    let response = error_response(err);
    assert!(response.status().is_client_error(), "{err:?}");
    let Body::Text(text) = response.body() else { panic!("not a text body") };
    let json: serde_json::Value = serde_json::from_str(text).expect("the error body is JSON");
    assert_eq!(json["error"]["code"], err.code());
}

fn keys() -> &'static (TokenIssuer, TokenVerifier) {
    static KEYS: std::sync::OnceLock<(TokenIssuer, TokenVerifier)> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        let keys = TestKeys::generate();
        (keys.issuer(), keys.verifier())
    })
}

fn json_like() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "\\{\"username\": ?\"[a-zA-Z0-9._\\-]{0,40}\", ?\"password\": ?\"[^\"\\\\]{0,300}\"\\}",
        "\\{\"username\": ?[0-9tfn\\[\\{\"]{0,5}, ?\"password\": ?[0-9tfn\\[\\{\"]{0,5}\\}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_body_parses_or_is_a_json_error(bytes in proptest::collection::vec(any::<u8>(), 0..10_000), text in json_like()) {
        for body in [Body::Binary(bytes.clone()), Body::Text(text.clone())] {
            let request: Request =
                HttpRequest::builder().method("POST").uri("/users").header("content-type", "application/json").body(body).unwrap();
            if let Err(err) = json_body::<CredentialsBody>(&request) {
                let expected = matches!(err, ApiError::InvalidRequest(_) | ApiError::PayloadTooLarge { .. });
                prop_assert!(expected, "unexpected {:?}", err);
                assert_json_error(&err);
            }
        }
    }

    #[test]
    fn any_authorization_header_is_a_token_or_a_json_error(value in any::<String>(), raw in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut requests = vec![];
        if let Ok(header) = lambda_http::http::HeaderValue::from_str(&value) {
            requests.push(HttpRequest::builder().uri("/").header(AUTHORIZATION, header).body(Body::Empty).unwrap());
        }
        if let Ok(header) = lambda_http::http::HeaderValue::from_bytes(&raw) {
            requests.push(HttpRequest::builder().uri("/").header(AUTHORIZATION, header).body(Body::Empty).unwrap());
        }
        for request in requests {
            let request: Request = request;
            match bearer_token(&request) {
                Ok(token) => prop_assert!(!token.is_empty() && !token.contains(' ')),
                Err(err) => assert_json_error(&err),
            }
        }
    }

    #[test]
    fn any_token_string_is_refused(token in any::<String>(), parts in proptest::collection::vec("[A-Za-z0-9_\\-]{0,60}", 0..5)) {
        let (_, verifier) = keys();
        for candidate in [token.clone(), parts.join(".")] {
            let err = verifier.verify(&candidate, now()).unwrap_err();
            prop_assert!(matches!(err, TokenError::Invalid), "unexpected {:?}", err);
        }
    }

    #[test]
    fn a_mutated_token_is_refused(position in any::<prop::sample::Index>(), byte in 0x21u8..0x7f) {
        let (issuer, verifier) = keys();
        let (user, session) = (crate::domain::UserId::new_random(), crate::domain::SessionId::new_random());
        let token = issuer.issue(&user, &session, now()).unwrap().access_token;
        let at = position.index(token.len());
        let mut bytes = token.clone().into_bytes();
        prop_assume!(bytes[at] != byte);
        bytes[at] = byte;
        let mutated = String::from_utf8(bytes).unwrap();
        // Base64url has a few spare bits in its last character; those changes
        // decode to the same bytes and are the same token.
        if let Ok(claims) = verifier.verify(&mutated, now()) {
            prop_assert_eq!(claims, verifier.verify(&token, now()).unwrap());
        }
    }

    #[test]
    fn any_username_or_password_is_valid_or_a_json_error(name in any::<String>(), password in any::<String>()) {
        match Username::parse(&name) {
            Ok(username) => prop_assert_eq!(username.as_str(), name.to_ascii_lowercase()),
            Err(err) => assert_json_error(&err.into()),
        }
        if let Err(err) = Password::parse(password.into(), MIN_LENGTH) {
            assert_json_error(&err.into());
        }
    }
}
