//! Reading requests the same way under API Gateway and `cargo lambda watch`.
//! Error messages never quote the request: it may hold a password.

use lambda_http::http::header::{AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt};
use secrecy::SecretString;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::domain::Client;
use crate::ApiError;

/// Request bodies larger than this are refused with 413.
pub const MAX_BODY_BYTES: usize = 8 * 1024;

/// A JSON request body, and what to tell a client whose body is not one.
pub trait JsonBody: DeserializeOwned {
    const EXPECTED: &'static str;
}

/// The body of `POST /auth/login` (its `Debug` redacts the password);
/// `POST /users` adds an optional address to it (create-user's `SignUpBody`).
#[derive(Debug, Deserialize)]
pub struct CredentialsBody {
    pub username: String,
    pub password: SecretString,
}

impl JsonBody for CredentialsBody {
    const EXPECTED: &'static str =
        "the request body must be a JSON object with the string fields \"username\" and \"password\"";
}

/// The body of the second-factor routes that take a code alone (confirm-totp,
/// new-recovery-codes).
#[derive(Debug, Deserialize)]
pub struct FactorCodeBody {
    pub code: String,
}

impl JsonBody for FactorCodeBody {
    const EXPECTED: &'static str = "the request body must be a JSON object with the string field \"code\"";
}

fn body_bytes(body: &Body) -> &[u8] {
    match body {
        Body::Empty => &[],
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    }
}

/// Parses a JSON body whatever its `Body` variant.
pub fn json_body<T: JsonBody>(request: &Request) -> Result<T, ApiError> {
    optional_json_body(request)?.ok_or(ApiError::InvalidRequest("the request body must be a JSON object"))
}

/// [`json_body`], for a body that may be left out: `None` when it is.
pub fn optional_json_body<T: JsonBody>(request: &Request) -> Result<Option<T>, ApiError> {
    let bytes = body_bytes(request.body());
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge { limit: MAX_BODY_BYTES });
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    if !is_json(request) {
        return Err(ApiError::UnsupportedMediaType);
    }
    // serde reads a struct from an array too, field by field in order
    // (`["alice", "a password"]` as credentials): only an object is a body.
    if bytes.iter().find(|byte| !byte.is_ascii_whitespace()) == Some(&b'[') {
        return Err(ApiError::InvalidRequest(T::EXPECTED));
    }
    serde_json::from_slice(bytes).map(Some).map_err(|err| {
        ApiError::InvalidRequest(match err.classify() {
            serde_json::error::Category::Data => T::EXPECTED,
            _ => "the request body is not valid JSON",
        })
    })
}

/// Whether the body is declared JSON: `application/json`, with parameters
/// such as `charset=utf-8` allowed.
fn is_json(request: &Request) -> bool {
    let Some(value) = request.headers().get(CONTENT_TYPE).and_then(|value| value.to_str().ok()) else {
        return false;
    };
    let media_type = value.split(';').next().unwrap_or_default().trim();
    media_type.eq_ignore_ascii_case("application/json")
}

/// Who sends the request, as API Gateway saw it; empty where it does not say.
pub fn client(request: &Request) -> Client {
    let user_agent = request.headers().get(USER_AGENT).and_then(|value| value.to_str().ok()).unwrap_or_default();
    let source_ip = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.http.source_ip.clone(),
        _ => None,
    };
    Client { user_agent: user_agent.chars().take(256).collect(), source_ip: source_ip.unwrap_or_default() }
}

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer_token(request: &Request) -> Result<&str, ApiError> {
    let header = request.headers().get(AUTHORIZATION).ok_or(ApiError::InvalidToken)?;
    let value = header.to_str().map_err(|_| ApiError::InvalidToken)?;
    bearer_in(value).ok_or(ApiError::InvalidToken)
}

/// The token of an `Authorization` value `Bearer <token>`: the scheme in any
/// case, one space, and a token with none.
pub fn bearer_in(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && !token.contains(' ')).then_some(token)
}

/// A query string parameter, as the router parsed it; failing that, as the
/// request's URI carries it (unescaped: the values the service gives, such
/// as cursors, need no escaping). The first, when it is repeated.
pub fn query_parameter(request: &Request, name: &str) -> Option<String> {
    if let Some(value) = request.query_string_parameters_ref().and_then(|query| query.first(name)) {
        return Some(value.to_owned());
    }
    let query = request.uri().query()?;
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

/// A path parameter from the router; failing that, the path segment after
/// `prefix` (the form some local routers give).
pub fn path_parameter(request: &Request, name: &str, prefix: &str) -> Option<String> {
    if let Some(value) = request.path_parameters().first(name) {
        return Some(value.to_owned());
    }
    let path = request.uri().path();
    let rest = path.find(prefix).map(|at| &path[at + prefix.len()..])?;
    let segment = rest.trim_end_matches('/');
    (!segment.is_empty() && !segment.contains('/')).then(|| segment.to_owned())
}

#[cfg(test)]
mod tests {
    use lambda_http::http::Request as HttpRequest;

    use super::*;

    /// A body whose every field is optional, as logout's is.
    #[derive(Debug, Default, Deserialize)]
    struct OptionalBody {
        #[serde(default)]
        flag: bool,
    }

    impl JsonBody for OptionalBody {
        const EXPECTED: &'static str = "the request body, if any, must be a JSON object whose \"flag\" is a boolean";
    }

    fn request_with_body(body: Body) -> Request {
        request_of_type(Some("application/json"), body)
    }

    fn request_of_type(content_type: Option<&str>, body: Body) -> Request {
        let mut builder = HttpRequest::builder().method("POST").uri("/users");
        if let Some(content_type) = content_type {
            builder = builder.header(CONTENT_TYPE, content_type);
        }
        builder.body(body).unwrap()
    }

    #[test]
    fn a_body_must_be_declared_json() {
        let json = r#"{"username":"alice","password":"p"}"#;
        for accepted in ["application/json", "application/json; charset=utf-8", "Application/JSON;charset=UTF-8"] {
            let request = request_of_type(Some(accepted), Body::Text(json.into()));
            assert!(json_body::<CredentialsBody>(&request).is_ok(), "{accepted}");
        }
        for refused in [None, Some("text/plain"), Some("application/x-www-form-urlencoded"), Some("application/jsonx")]
        {
            let err = json_body::<CredentialsBody>(&request_of_type(refused, Body::Text(json.into()))).unwrap_err();
            assert_eq!(err.code(), "unsupported_media_type", "{refused:?}");
            assert_eq!(super::super::response::status_of(&err), lambda_http::http::StatusCode::UNSUPPORTED_MEDIA_TYPE);
        }
        // A request without a body needs no type.
        assert!(optional_json_body::<OptionalBody>(&request_of_type(None, Body::Empty)).unwrap().is_none());
    }

    #[test]
    fn reads_text_and_binary_bodies_alike() {
        let json = r#"{"username":"alice","password":"p"}"#;
        for body in [Body::Text(json.into()), Body::Binary(json.as_bytes().to_vec())] {
            let parsed: CredentialsBody = json_body(&request_with_body(body)).unwrap();
            assert_eq!(parsed.username, "alice");
        }
    }

    #[test]
    fn bad_bodies_are_invalid_requests_that_do_not_echo_the_body() {
        for body in [
            "",
            "not json",
            "[]",
            r#"{"username":"a"}"#,
            r#"{"username":1,"password":"secret-1234"}"#,
            r#"{"username":"a","password":12345678}"#,
        ] {
            let err = json_body::<CredentialsBody>(&request_with_body(Body::Text(body.into()))).unwrap_err();
            assert_eq!(err.code(), "invalid_request", "{body}");
            assert!(!err.to_string().contains("secret-1234") && !err.to_string().contains("12345678"));
        }
    }

    #[test]
    fn an_array_is_no_body_even_where_serde_would_read_it_as_the_fields() {
        let credentials = Body::Text(r#" ["alice", "a long enough password"]"#.into());
        let err = json_body::<CredentialsBody>(&request_with_body(credentials)).unwrap_err();
        assert_eq!(err.code(), "invalid_request");
        for body in ["[]", "[true]"] {
            let err = optional_json_body::<OptionalBody>(&request_with_body(Body::Text(body.into()))).unwrap_err();
            assert_eq!(err.code(), "invalid_request", "{body}");
        }
    }

    #[test]
    fn a_body_says_what_it_expects_and_an_optional_one_may_be_absent() {
        let err = json_body::<OptionalBody>(&request_with_body(Body::Text(r#"{"flag":"x"}"#.into()))).unwrap_err();
        assert_eq!(err.to_string(), OptionalBody::EXPECTED);
        assert!(optional_json_body::<OptionalBody>(&request_with_body(Body::Empty)).unwrap().is_none());
        let body = Body::Text(r#"{"flag":true}"#.into());
        assert!(optional_json_body::<OptionalBody>(&request_with_body(body)).unwrap().unwrap().flag);
        let parsed = optional_json_body::<OptionalBody>(&request_with_body(Body::Text("{}".into()))).unwrap().unwrap();
        assert!(!parsed.flag);
    }

    #[test]
    fn oversized_bodies_are_refused() {
        let body = format!(r#"{{"username":"alice","password":"{}"}}"#, "x".repeat(MAX_BODY_BYTES));
        let err = json_body::<CredentialsBody>(&request_with_body(Body::Text(body))).unwrap_err();
        assert_eq!(err.code(), "payload_too_large");
        assert_eq!(super::super::response::status_of(&err), lambda_http::http::StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[test]
    fn bearer_tokens_are_parsed_strictly() {
        let with_auth = |value: &str| -> Request {
            HttpRequest::builder().uri("/").header(AUTHORIZATION, value).body(Body::Empty).unwrap()
        };
        assert_eq!(bearer_token(&with_auth("Bearer abc.def.ghi")).unwrap(), "abc.def.ghi");
        assert_eq!(bearer_token(&with_auth("bearer abc")).unwrap(), "abc");
        for bad in ["", "Bearer", "Bearer ", "Basic abc", "Bearer a b", "abc"] {
            assert!(bearer_token(&with_auth(bad)).is_err(), "{bad:?}");
        }
        let none = HttpRequest::builder().uri("/").body(Body::Empty).unwrap();
        assert!(bearer_token(&none).is_err());
    }

    #[test]
    fn path_parameter_falls_back_to_the_path() {
        let request: Request = HttpRequest::builder().uri("/users/abc").body(Body::Empty).unwrap();
        assert_eq!(path_parameter(&request, "id", "/users/").as_deref(), Some("abc"));
        let request: Request = HttpRequest::builder().uri("/lambda-url/get-user/users/abc/").body(Body::Empty).unwrap();
        assert_eq!(path_parameter(&request, "id", "/users/").as_deref(), Some("abc"));
        let request: Request = HttpRequest::builder().uri("/users/").body(Body::Empty).unwrap();
        assert_eq!(path_parameter(&request, "id", "/users/"), None);
        let request = HttpRequest::builder().uri("/somewhere").body(Body::Empty).unwrap().with_path_parameters(
            [("id".to_owned(), "xyz".to_owned())].into_iter().collect::<std::collections::HashMap<_, _>>(),
        );
        assert_eq!(path_parameter(&request, "id", "/users/").as_deref(), Some("xyz"));
    }
}
