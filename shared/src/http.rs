//! The HTTP edge shared by the four functions: reading requests the same way
//! under API Gateway and `cargo lambda watch`, and turning results and errors
//! into JSON responses. This is the one place errors become responses.

use std::convert::Infallible;
use std::future::Future;

use lambda_http::http::header::{
    HeaderValue, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, LOCATION, RETRY_AFTER, WWW_AUTHENTICATE,
};
use lambda_http::http::StatusCode;
use lambda_http::{service_fn, Body, Request, RequestExt, Response};
use secrecy::SecretString;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tracing::Instrument;

use crate::ApiError;

/// Request bodies larger than this are refused with 413.
pub const MAX_BODY_BYTES: usize = 8 * 1024;

/// The body of `POST /users` and `POST /auth/login` (its `Debug` redacts the password).
#[derive(Debug, Deserialize)]
pub struct CredentialsBody {
    pub username: String,
    pub password: SecretString,
}

fn body_bytes(body: &Body) -> &[u8] {
    match body {
        Body::Empty => &[],
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    }
}

/// Parses a JSON body whatever its `Body` variant. Error messages never quote
/// the body: it may hold a password.
pub fn json_body<T: DeserializeOwned>(request: &Request) -> Result<T, ApiError> {
    let bytes = body_bytes(request.body());
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge { limit: MAX_BODY_BYTES });
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::InvalidRequest("the request body must be a JSON object"));
    }
    serde_json::from_slice(bytes).map_err(|err| {
        ApiError::InvalidRequest(match err.classify() {
            serde_json::error::Category::Data => {
                "the request body must be a JSON object with the string fields \"username\" and \"password\""
            }
            _ => "the request body is not valid JSON",
        })
    })
}

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer_token(request: &Request) -> Result<&str, ApiError> {
    let header = request.headers().get(AUTHORIZATION).ok_or(ApiError::InvalidToken)?;
    let value = header.to_str().map_err(|_| ApiError::InvalidToken)?;
    let (scheme, token) = value.split_once(' ').ok_or(ApiError::InvalidToken)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() || token.contains(' ') {
        return Err(ApiError::InvalidToken);
    }
    Ok(token)
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

fn base(status: StatusCode) -> lambda_http::http::response::Builder {
    Response::builder().status(status).header(CACHE_CONTROL, "no-store")
}

pub fn json_response(status: StatusCode, value: &impl Serialize) -> Response<Body> {
    match serde_json::to_string(value) {
        Ok(json) => base(status)
            .header(CONTENT_TYPE, "application/json")
            .body(Body::Text(json))
            .unwrap_or_else(|_| fallback_500()),
        Err(err) => error_response(&ApiError::internal(err)),
    }
}

pub fn created(location: &str, value: &impl Serialize) -> Response<Body> {
    let mut response = json_response(StatusCode::CREATED, value);
    if let Ok(location) = HeaderValue::from_str(location) {
        response.headers_mut().insert(LOCATION, location);
    }
    response
}

pub fn no_content() -> Response<Body> {
    base(StatusCode::NO_CONTENT).body(Body::Empty).unwrap_or_else(|_| fallback_500())
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: &'a str,
    message: String,
}

/// The cause of a failure as one line: each error's message, outermost first.
fn cause_chain(err: &dyn std::error::Error) -> String {
    let mut line = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        line.push_str(": ");
        line.push_str(&cause.to_string());
        source = cause.source();
    }
    line
}

pub fn error_response(err: &ApiError) -> Response<Body> {
    let status = err.status();
    if status.is_server_error() {
        tracing::error!(code = err.code(), cause = %cause_chain(err), "request failed");
    } else {
        tracing::info!(code = err.code(), status = status.as_u16(), "request refused");
    }
    let body = ErrorBody { error: ErrorDetail { code: err.code(), message: err.to_string() } };
    let json = serde_json::to_string(&body).unwrap_or_default();
    let mut builder = base(status).header(CONTENT_TYPE, "application/json");
    match err {
        ApiError::InvalidToken => builder = builder.header(WWW_AUTHENTICATE, "Bearer error=\"invalid_token\""),
        ApiError::ServiceUnavailable(_) => builder = builder.header(RETRY_AFTER, "1"),
        ApiError::TooManyRequests { retry_after } => builder = builder.header(RETRY_AFTER, retry_after.to_string()),
        _ => {}
    }
    builder.body(Body::Text(json)).unwrap_or_else(|_| fallback_500())
}

fn fallback_500() -> Response<Body> {
    let mut response =
        Response::new(Body::Text(r#"{"error":{"code":"internal","message":"internal error"}}"#.to_owned()));
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// Runs a handler and turns its outcome, a panic included, into a response.
/// The handler runs as its own task, so a panic is caught at the join and
/// becomes an opaque JSON 500 instead of a runtime error.
pub async fn respond<Fut>(handler: Fut) -> Response<Body>
where
    Fut: Future<Output = Result<Response<Body>, ApiError>> + Send + 'static,
{
    // The task carries the invocation's span, so its log lines keep the request id.
    match tokio::spawn(handler.instrument(tracing::Span::current())).await {
        Ok(Ok(response)) => response,
        Ok(Err(err)) => error_response(&err),
        Err(join_error) => error_response(&ApiError::internal(format!("handler task failed: {join_error}"))),
    }
}

/// Serves a handler on the Lambda runtime until the process ends.
pub async fn serve<F, Fut>(handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(Request) -> Fut,
    Fut: Future<Output = Result<Response<Body>, ApiError>> + Send + 'static,
{
    lambda_http::run(service_fn(|request| {
        let response = respond(handler(request));
        async move { Ok::<_, Infallible>(response.await) }
    }))
    .await
}

/// Logs as Lambda's logging controls ask: JSON lines when
/// `AWS_LAMBDA_LOG_FORMAT` is `JSON`, at the level `AWS_LAMBDA_LOG_LEVEL`
/// names (else `RUST_LOG`, else INFO). Either holds a plain level: per-module
/// filters would cost every binary a regex engine.
pub fn init_logging() {
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|format| format.eq_ignore_ascii_case("json"));
    let level = log_level(std::env::var("AWS_LAMBDA_LOG_LEVEL").or_else(|_| std::env::var("RUST_LOG")).ok());
    let subscriber = tracing_subscriber::fmt().with_target(false).with_max_level(level);
    if json {
        // Lambda reads a JSON line's level only if it has an RFC 3339
        // `timestamp`; without one, every line would count as INFO.
        subscriber.json().init();
    } else {
        // Lambda stamps text lines itself.
        subscriber.without_time().init();
    }
}

fn log_level(name: Option<String>) -> tracing_subscriber::filter::LevelFilter {
    use tracing_subscriber::filter::LevelFilter;
    let name = name.map(|name| name.trim().to_ascii_uppercase());
    match name.as_deref() {
        // Lambda's levels include FATAL; tracing's most severe is ERROR.
        Some("FATAL") => LevelFilter::ERROR,
        Some(name) => name.parse().unwrap_or(LevelFilter::INFO),
        None => LevelFilter::INFO,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::http::Request as HttpRequest;

    fn request_with_body(body: Body) -> Request {
        HttpRequest::builder().method("POST").uri("/users").body(body).unwrap()
    }

    #[test]
    fn the_log_level_is_a_plain_level_or_info() {
        use tracing_subscriber::filter::LevelFilter;
        let level = |name: &str| log_level(Some(name.to_owned()));
        assert_eq!(level("WARN"), LevelFilter::WARN);
        assert_eq!(level(" debug "), LevelFilter::DEBUG);
        assert_eq!(level("error"), LevelFilter::ERROR);
        assert_eq!(level("FATAL"), LevelFilter::ERROR);
        assert_eq!(level("info,aws_smithy_runtime=trace"), LevelFilter::INFO, "filters are not levels");
        assert_eq!(log_level(None), LevelFilter::INFO);
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
    fn oversized_bodies_are_refused() {
        let body = format!(r#"{{"username":"alice","password":"{}"}}"#, "x".repeat(MAX_BODY_BYTES));
        let err = json_body::<CredentialsBody>(&request_with_body(Body::Text(body))).unwrap_err();
        assert_eq!(err.code(), "payload_too_large");
        assert_eq!(err.status(), StatusCode::PAYLOAD_TOO_LARGE);
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

    #[test]
    fn errors_are_json_with_the_right_status_and_headers() {
        let response = error_response(&ApiError::InvalidToken);
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response.headers()[WWW_AUTHENTICATE].to_str().unwrap().starts_with("Bearer"));
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
        let Body::Text(text) = response.body() else { panic!("not text") };
        let json: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(json["error"]["code"], "invalid_token");

        let response = error_response(&ApiError::ServiceUnavailable("down".into()));
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[RETRY_AFTER], "1");
    }

    #[test]
    fn internal_errors_are_opaque() {
        let response = error_response(&ApiError::internal("secret detail"));
        let Body::Text(text) = response.body() else { panic!("not text") };
        assert!(!text.contains("secret detail"));
        assert!(text.contains("\"internal\""));
    }

    #[tokio::test]
    async fn a_panicking_handler_gives_a_json_500() {
        let response = respond(async {
            if true {
                panic!("boom");
            }
            Ok(no_content())
        })
        .await;
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
    }
}
