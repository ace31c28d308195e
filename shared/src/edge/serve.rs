//! Serving a function's handler on the Lambda runtime, with every outcome,
//! a panic included, turned into a response.

use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;
use lambda_http::{service_fn, Body, Request, Response};

use super::response::error_response;
use super::Origin;
use crate::ApiError;

/// Runs a handler's future and turns its outcome into a response. A panic is
/// caught on the future itself and becomes an opaque JSON 500 instead of a
/// runtime error; the invocation's span stays current throughout.
pub async fn respond<Fut>(handler: Fut) -> Response<Body>
where
    Fut: Future<Output = Result<Response<Body>, ApiError>>,
{
    // Unwind safety: the handler's state is read-only or behind locks that
    // recover from poisoning, so a panicking request leaves nothing half-changed.
    match AssertUnwindSafe(handler).catch_unwind().await {
        Ok(Ok(response)) => response,
        Ok(Err(err)) => error_response(&err),
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|text| text.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            error_response(&ApiError::internal(format!("handler panicked: {message}")))
        }
    }
}

/// Serves `handle` over `app` on the Lambda runtime until the process ends,
/// to the requests `origin` admits.
pub async fn serve<'a, App, F, Fut>(origin: Origin, app: &'a App, handle: F) -> Result<(), lambda_http::Error>
where
    App: Sync,
    F: Fn(&'a App, Request) -> Fut,
    Fut: Future<Output = Result<Response<Body>, ApiError>> + Send + 'a,
{
    lambda_http::run(service_fn(|request| {
        let handled = origin.admit(request).map(|request| handle(app, request));
        async move { Ok::<_, Infallible>(answer(handled).await) }
    }))
    .await
}

/// The response to a request: its handler's, or the refusal of a request
/// the origin did not admit.
pub(super) async fn answer<Fut>(handled: Result<Fut, ApiError>) -> Response<Body>
where
    Fut: Future<Output = Result<Response<Body>, ApiError>>,
{
    match handled {
        Ok(handler) => respond(handler).await,
        Err(refused) => error_response(&refused),
    }
}

#[cfg(test)]
mod tests {
    use lambda_http::http::header::CONTENT_TYPE;
    use lambda_http::http::StatusCode;

    use super::*;
    use crate::edge::response::no_content;

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

    #[tokio::test]
    async fn an_error_is_answered_as_json() {
        let response = respond(async { Err(ApiError::NotFound) }).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
}
