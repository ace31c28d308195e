//! Sorting SDK errors into "retry later" (503) and "our fault" (500).

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;

use crate::store::StoreError;

/// Error codes that mean "the database is busy or briefly unwell".
const RETRYABLE_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
];

pub(super) fn classify<E, R>(err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let unavailable = match &err {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_) => true,
        SdkError::ServiceError(service) => service.err().code().is_some_and(|code| RETRYABLE_CODES.contains(&code)),
        _ => false,
    };
    if unavailable {
        StoreError::Unavailable(Box::new(err))
    } else {
        StoreError::Failed(Box::new(err))
    }
}

fn cancellation_codes<R>(err: &SdkError<TransactWriteItemsError, R>) -> Vec<String> {
    match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
            cancelled.cancellation_reasons().iter().map(|reason| reason.code().unwrap_or("None").to_owned()).collect()
        }
        _ => Vec::new(),
    }
}

/// A transaction cancelled because one of its conditions failed.
pub(super) fn transaction_condition_failed<R>(err: &SdkError<TransactWriteItemsError, R>) -> bool {
    cancellation_codes(err).iter().any(|code| code == "ConditionalCheckFailed")
}

pub(super) fn is_transaction_conflict<R>(err: &SdkError<TransactWriteItemsError, R>) -> bool {
    cancellation_codes(err).iter().any(|code| code == "TransactionConflict")
        || err.as_service_error().and_then(|service| service.code()) == Some("TransactionConflictException")
}

/// A failed `ConditionExpression` on a single-item write.
pub(super) fn is_condition_failure<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    err.as_service_error().and_then(|service| service.code()) == Some("ConditionalCheckFailedException")
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::config::http::HttpResponse;
    use aws_sdk_dynamodb::error::ErrorMetadata;
    use aws_sdk_dynamodb::operation::get_item::GetItemError;
    use aws_sdk_dynamodb::types::error::ProvisionedThroughputExceededException;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;

    use super::*;
    use crate::ApiError;

    fn service_error(err: GetItemError) -> SdkError<GetItemError, HttpResponse> {
        SdkError::service_error(err, HttpResponse::new(StatusCode::try_from(400).unwrap(), SdkBody::empty()))
    }

    fn generic(code: &str) -> GetItemError {
        GetItemError::generic(ErrorMetadata::builder().code(code).message("from the service").build())
    }

    #[test]
    fn throttling_is_a_503_with_retry_after() {
        let throttled = [
            service_error(GetItemError::ProvisionedThroughputExceededException(
                ProvisionedThroughputExceededException::builder()
                    .message("rate exceeded")
                    .meta(ErrorMetadata::builder().code("ProvisionedThroughputExceededException").build())
                    .build(),
            )),
            service_error(generic("ThrottlingException")),
            service_error(generic("RequestLimitExceeded")),
            service_error(generic("InternalServerError")),
        ];
        for (case, err) in throttled.into_iter().enumerate() {
            let api_error = ApiError::from(classify(err));
            assert_eq!(api_error.code(), "service_unavailable", "case {case}");
            let response = crate::edge::error_response(&api_error);
            assert_eq!(response.status(), 503);
            assert_eq!(response.headers()["retry-after"], "1");
        }
    }

    #[test]
    fn other_service_errors_are_internal() {
        for code in ["ValidationException", "ResourceNotFoundException", "AccessDeniedException"] {
            assert_eq!(ApiError::from(classify(service_error(generic(code)))).code(), "internal", "{code}");
        }
    }
}
