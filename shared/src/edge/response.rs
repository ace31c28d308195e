//! Results and errors as JSON responses. This is the one place an
//! [`ApiError`] becomes a status, a code, a message and headers.

use lambda_http::http::header::{
    HeaderName, HeaderValue, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, LOCATION, REFERRER_POLICY,
    RETRY_AFTER, WWW_AUTHENTICATE,
};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use serde::Serialize;

use crate::domain::RecoveryCode;
use crate::operations::{IssuedSession, SecondFactorChallenge};
use crate::ApiError;

/// The status each error is answered with.
pub fn status_of(err: &ApiError) -> StatusCode {
    match err {
        ApiError::InvalidRequest(_)
        | ApiError::InvalidUsername(_)
        | ApiError::InvalidPassword(_)
        | ApiError::InvalidEmail(_)
        | ApiError::InvalidCode
        | ApiError::InvalidPasskey => StatusCode::BAD_REQUEST,
        ApiError::InvalidCredentials
        | ApiError::InvalidToken
        | ApiError::InvalidRefreshToken
        | ApiError::InvalidFactorCode => StatusCode::UNAUTHORIZED,
        ApiError::Forbidden | ApiError::MfaRequired | ApiError::AccountDisabled => StatusCode::FORBIDDEN,
        ApiError::NotFound | ApiError::SessionNotFound | ApiError::PasskeysOff => StatusCode::NOT_FOUND,
        ApiError::TooManyRequests { .. } | ApiError::TooManySignUps { .. } | ApiError::TooManyRecoveries { .. } => {
            StatusCode::TOO_MANY_REQUESTS
        }
        ApiError::UsernameTaken
        | ApiError::EmailTaken
        | ApiError::MfaAlreadyEnabled
        | ApiError::MfaNotEnabled
        | ApiError::TooManyPasskeys { .. } => StatusCode::CONFLICT,
        ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ApiError::ServiceUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The headers of every response (OWASP ASVS 4.0.3, 14.4): never cached,
/// never sniffed as another type, HTTPS only, never framed.
const SECURITY_HEADERS: [(&str, &str); 4] = [
    ("cache-control", "no-store"),
    ("x-content-type-options", "nosniff"),
    ("strict-transport-security", "max-age=31536000"),
    ("content-security-policy", "default-src 'none'; frame-ancestors 'none'"),
];

fn base(status: StatusCode) -> lambda_http::http::response::Builder {
    SECURITY_HEADERS
        .iter()
        .fold(Response::builder().status(status), |builder, (name, value)| builder.header(*name, *value))
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

/// The answer of login and refresh, shaped like OAuth 2.0's (RFC 6749, 5.1).
#[derive(Serialize)]
pub struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
    refresh_token: String,
}

impl From<IssuedSession> for TokenResponse {
    fn from(issued: IssuedSession) -> Self {
        TokenResponse {
            access_token: issued.access.access_token,
            token_type: "Bearer",
            expires_in: issued.access.expires_in,
            refresh_token: issued.refresh_token,
        }
    }
}

/// The answer of a login that waits for a second factor: no token of a
/// session, but one to send with a code to `POST /auth/mfa/verify`.
#[derive(Serialize)]
pub struct SecondFactorResponse {
    mfa_required: bool,
    mfa_token: String,
    expires_in: u64,
}

impl From<SecondFactorChallenge> for SecondFactorResponse {
    fn from(challenge: SecondFactorChallenge) -> Self {
        SecondFactorResponse { mfa_required: true, mfa_token: challenge.token, expires_in: challenge.expires_in }
    }
}

/// The answer of enrolment and of new recovery codes: the codes as their
/// owner keeps them, shown once.
#[derive(Serialize)]
pub struct RecoveryCodesResponse {
    recovery_codes: Vec<String>,
}

impl From<Vec<RecoveryCode>> for RecoveryCodesResponse {
    fn from(codes: Vec<RecoveryCode>) -> Self {
        RecoveryCodesResponse { recovery_codes: codes.iter().map(RecoveryCode::grouped).collect() }
    }
}

pub fn ok(value: &impl Serialize) -> Response<Body> {
    json_response(StatusCode::OK, value)
}

/// [`ok`], for a public document any cache may keep `max_age_seconds`.
pub fn ok_cacheable(value: &impl Serialize, max_age_seconds: u32) -> Response<Body> {
    let mut response = ok(value);
    if response.status() == StatusCode::OK {
        let cache_control = format!("public, max-age={max_age_seconds}");
        if let Ok(value) = HeaderValue::from_str(&cache_control) {
            response.headers_mut().insert(CACHE_CONTROL, value);
        }
    }
    response
}

pub fn created(location: &str, value: &impl Serialize) -> Response<Body> {
    let mut response = json_response(StatusCode::CREATED, value);
    if let Ok(location) = HeaderValue::from_str(location) {
        response.headers_mut().insert(LOCATION, location);
    }
    response
}

/// 202: the request is taken, and what it sets off (a mail) may still be under way.
pub fn accepted(value: &impl Serialize) -> Response<Body> {
    json_response(StatusCode::ACCEPTED, value)
}

/// What a page of the hosted pages may load and do: its own scripts, styles
/// and images (and `data:` images, the QR code of a second factor), calls to
/// its own origin only; no inline script, no plugin, never framed, no form
/// sent anywhere but its own origin.
pub const PAGE_CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// A file of the hosted pages, or 304 when `if_none_match` names its
/// `etag`; any cache may keep it as `cache_control` says. The headers of
/// every response but the content security policy, which lets the page run
/// its own scripts.
pub fn static_file(
    content_type: &'static str,
    body: &'static [u8],
    etag: &str,
    cache_control: &'static str,
    if_none_match: Option<&str>,
) -> Response<Body> {
    let not_modified = if_none_match.is_some_and(|presented| presented.split(',').any(|tag| tag.trim() == etag));
    let (status, body) = match not_modified {
        true => (StatusCode::NOT_MODIFIED, Body::Empty),
        false => (StatusCode::OK, Body::Binary(body.to_vec())),
    };
    let Ok(mut response) = base(status).body(body) else { return fallback_500() };
    let headers = response.headers_mut();
    // Inserted, not appended: they replace those of every response.
    headers.insert(CACHE_CONTROL, HeaderValue::from_static(cache_control));
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(PAGE_CONTENT_SECURITY_POLICY));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if !not_modified {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    match HeaderValue::from_str(etag) {
        Ok(etag) => drop(headers.insert(ETAG, etag)),
        Err(_) => return fallback_500(),
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
    let status = status_of(err);
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
        ApiError::TooManyRequests { retry_after }
        | ApiError::TooManySignUps { retry_after }
        | ApiError::TooManyRecoveries { retry_after } => builder = builder.header(RETRY_AFTER, retry_after.to_string()),
        _ => {}
    }
    builder.body(Body::Text(json)).unwrap_or_else(|_| fallback_500())
}

fn fallback_500() -> Response<Body> {
    let mut response =
        Response::new(Body::Text(r#"{"error":{"code":"internal","message":"internal error"}}"#.to_owned()));
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    for (name, value) in SECURITY_HEADERS {
        headers.insert(HeaderName::from_static(name), HeaderValue::from_static(value));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

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

        let response = error_response(&ApiError::TooManyRequests { retry_after: 7 });
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[RETRY_AFTER], "7");
    }

    #[test]
    fn every_response_has_the_security_headers() {
        let responses = [
            ok(&serde_json::json!({})),
            no_content(),
            created("/users/x", &serde_json::json!({})),
            error_response(&ApiError::InvalidToken),
            error_response(&ApiError::internal("x")),
            fallback_500(),
        ];
        for response in responses {
            for (name, value) in SECURITY_HEADERS {
                assert_eq!(response.headers()[name], value, "{name} of a {}", response.status());
            }
        }
    }

    #[test]
    fn domain_refusals_are_400s_with_their_own_message() {
        let err = ApiError::from(crate::domain::Username::parse("a").unwrap_err());
        let response = error_response(&err);
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let Body::Text(text) = response.body() else { panic!("not text") };
        assert!(text.contains("invalid_username") && text.contains("3 to 32 characters"), "{text}");
    }

    #[test]
    fn internal_errors_are_opaque() {
        let response = error_response(&ApiError::internal("secret detail"));
        let Body::Text(text) = response.body() else { panic!("not text") };
        assert!(!text.contains("secret detail"));
        assert!(text.contains("\"internal\""));
    }
}
