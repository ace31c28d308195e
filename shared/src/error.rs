//! Every failure an operation can end in, and how each maps to HTTP.
//!
//! The mapping to status codes and error codes lives here and nowhere else.

use lambda_http::http::StatusCode;

use crate::store::StoreError;

type Cause = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not JSON, or not the expected shape. The message never
    /// echoes the request (it may hold a password).
    #[error("{0}")]
    InvalidRequest(&'static str),
    #[error("{0}")]
    InvalidUsername(&'static str),
    #[error("{0}")]
    InvalidPassword(String),
    #[error("the username or password is incorrect")]
    InvalidCredentials,
    #[error("the access token is missing, invalid, expired or revoked")]
    InvalidToken,
    #[error("too many failed logins for this username; retry after {retry_after} seconds")]
    TooManyRequests { retry_after: u64 },
    #[error("no such user")]
    NotFound,
    #[error("this username is already taken")]
    UsernameTaken,
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("the service is temporarily unavailable, please retry")]
    ServiceUnavailable(#[source] Cause),
    #[error("internal error")]
    Internal(#[source] Cause),
}

impl ApiError {
    pub fn internal(cause: impl Into<Cause>) -> Self {
        ApiError::Internal(cause.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::InvalidRequest(_) | ApiError::InvalidUsername(_) | ApiError::InvalidPassword(_) => {
                StatusCode::BAD_REQUEST
            }
            ApiError::InvalidCredentials | ApiError::InvalidToken => StatusCode::UNAUTHORIZED,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::UsernameTaken => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::ServiceUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::InvalidRequest(_) => "invalid_request",
            ApiError::InvalidUsername(_) => "invalid_username",
            ApiError::InvalidPassword(_) => "invalid_password",
            ApiError::InvalidCredentials => "invalid_credentials",
            ApiError::InvalidToken => "invalid_token",
            ApiError::NotFound => "not_found",
            ApiError::TooManyRequests { .. } => "too_many_requests",
            ApiError::UsernameTaken => "username_taken",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::ServiceUnavailable(_) => "service_unavailable",
            ApiError::Internal(_) => "internal",
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::UsernameTaken => ApiError::UsernameTaken,
            StoreError::Unavailable(cause) => ApiError::ServiceUnavailable(cause),
            StoreError::Failed(cause) => ApiError::Internal(cause),
        }
    }
}
