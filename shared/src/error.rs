//! Every failure an operation can end in. What each means over HTTP (status,
//! headers) is decided at the edge, in [`crate::edge::response`]; this type
//! knows nothing of HTTP.

use crate::domain::{CodeRandomnessError, EmailError, PasswordError, UsernameError};
use crate::lockout::LockoutError;
use crate::passwords::HashingError;
use crate::store::StoreError;
use crate::tokens::refresh::RandomnessError;
use crate::tokens::TokenError;

use crate::BoxError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not JSON, or not the expected shape. The message never
    /// echoes the request (it may hold a password).
    #[error("{0}")]
    InvalidRequest(&'static str),
    #[error(transparent)]
    InvalidUsername(#[from] UsernameError),
    #[error(transparent)]
    InvalidPassword(#[from] PasswordError),
    #[error(transparent)]
    InvalidEmail(#[from] EmailError),
    /// Wrong, expired, used, voided or never sent: no hint which.
    #[error("the code is invalid or expired")]
    InvalidCode,
    /// A second factor's code that is wrong, used or out of time, or a
    /// second-factor token that is unknown, used, expired or out of tries:
    /// no hint which. Unlike [`ApiError::InvalidCode`], a failed proof of
    /// who the caller is.
    #[error("the code or the second-factor token is invalid, used or expired")]
    InvalidFactorCode,
    /// An account with a second factor asks for a code besides the password.
    #[error("this account has a second factor: send a current code in \"code\"")]
    MfaRequired,
    #[error("this account already has a second factor: remove it first")]
    MfaAlreadyEnabled,
    #[error("this account has no second factor")]
    MfaNotEnabled,
    /// A passkey's registration that is not of its ceremony, whose ceremony
    /// expired or was answered already, or that webauthn-rs refused.
    #[error("the passkey was not registered: start again with new options")]
    InvalidPasskey,
    #[error("the account holds {limit} passkeys, the most it may: remove one first")]
    TooManyPasskeys { limit: usize },
    /// The deployment set no relying party: the passkey routes do not exist.
    #[error("passkeys are not configured on this deployment")]
    PasskeysOff,
    /// The right password of an account an operator disabled.
    #[error("this account is disabled")]
    AccountDisabled,
    #[error("this address already belongs to another account")]
    EmailTaken,
    #[error("the username or password is incorrect")]
    InvalidCredentials,
    #[error("the access token is missing, invalid, expired or revoked")]
    InvalidToken,
    /// Unknown, spent, expired or of an ended session: no hint which.
    #[error("the refresh token is invalid, expired or revoked")]
    InvalidRefreshToken,
    #[error("too many failed password checks for this username; retry after {retry_after} seconds")]
    TooManyRequests { retry_after: u64 },
    #[error("too many sign-ups from this address; retry after {retry_after} seconds")]
    TooManySignUps { retry_after: u64 },
    #[error("too many recovery requests from this address; retry after {retry_after} seconds")]
    TooManyRecoveries { retry_after: u64 },
    /// Behind CloudFront, a request that did not come through it.
    #[error("requests must come through the service's public endpoint")]
    Forbidden,
    #[error("no such user")]
    NotFound,
    #[error("no such session")]
    SessionNotFound,
    #[error("this username is already taken")]
    UsernameTaken,
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// A body without `Content-Type: application/json`: a page on another
    /// site could otherwise post one as `text/plain`, without a CORS preflight.
    #[error("the request body must be sent with Content-Type: application/json")]
    UnsupportedMediaType,
    #[error("the service is temporarily unavailable, please retry")]
    ServiceUnavailable(#[source] BoxError),
    #[error("internal error")]
    Internal(#[source] BoxError),
}

impl ApiError {
    pub fn internal(cause: impl Into<BoxError>) -> Self {
        ApiError::Internal(cause.into())
    }

    /// The machine-readable code clients match on: part of the API contract.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::InvalidRequest(_) => "invalid_request",
            ApiError::InvalidUsername(_) => "invalid_username",
            ApiError::InvalidPassword(_) => "invalid_password",
            ApiError::InvalidEmail(_) => "invalid_email",
            ApiError::InvalidCode | ApiError::InvalidFactorCode => "invalid_code",
            ApiError::MfaRequired => "mfa_required",
            ApiError::MfaAlreadyEnabled => "mfa_already_enabled",
            ApiError::MfaNotEnabled => "mfa_not_enabled",
            ApiError::InvalidPasskey => "invalid_passkey",
            ApiError::TooManyPasskeys { .. } => "too_many_passkeys",
            ApiError::PasskeysOff => "not_found",
            ApiError::AccountDisabled => "account_disabled",
            ApiError::EmailTaken => "email_taken",
            ApiError::InvalidCredentials => "invalid_credentials",
            ApiError::InvalidToken => "invalid_token",
            ApiError::InvalidRefreshToken => "invalid_refresh_token",
            ApiError::Forbidden => "forbidden",
            ApiError::NotFound | ApiError::SessionNotFound => "not_found",
            ApiError::TooManyRequests { .. } | ApiError::TooManySignUps { .. } | ApiError::TooManyRecoveries { .. } => {
                "too_many_requests"
            }
            ApiError::UsernameTaken => "username_taken",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
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

impl From<TokenError> for ApiError {
    fn from(err: TokenError) -> Self {
        match err {
            TokenError::Invalid => ApiError::InvalidToken,
            TokenError::Signing(_) => ApiError::internal(err),
        }
    }
}

impl From<RandomnessError> for ApiError {
    fn from(err: RandomnessError) -> Self {
        ApiError::internal(err)
    }
}

impl From<CodeRandomnessError> for ApiError {
    fn from(err: CodeRandomnessError) -> Self {
        ApiError::internal(err)
    }
}

impl From<HashingError> for ApiError {
    fn from(err: HashingError) -> Self {
        ApiError::internal(err)
    }
}

impl From<LockoutError> for ApiError {
    fn from(err: LockoutError) -> Self {
        match err {
            LockoutError::Locked { retry_after } => ApiError::TooManyRequests { retry_after },
            LockoutError::Store(err) => err.into(),
        }
    }
}
