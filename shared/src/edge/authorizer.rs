//! The edge of the Lambda authorizer: API Gateway's authorizer events
//! (HTTP API, payload format 2.0) in, its simple responses out.

use std::collections::BTreeMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use lambda_http::http::header::AUTHORIZATION;
use lambda_http::{service_fn, LambdaEvent};
use serde::Serialize;

use super::request::bearer_in;
use crate::operations::Caller;
use crate::ApiError;

/// An authorizer event of an HTTP API, payload format 2.0.
pub type AuthorizerRequest = ApiGatewayV2CustomAuthorizerV2Request;

/// A simple response: whether the request may go on, and what the route's
/// integration reads at `requestContext.authorizer.lambda`.
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizerResponse {
    pub is_authorized: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub context: BTreeMap<&'static str, String>,
}

impl AuthorizerResponse {
    /// Lets the caller in, telling the route who it is: `sub`, the user id
    /// (the token's `sub`), `sid`, its session, and `amr`, how the session
    /// was signed in (RFC 8176 values joined by spaces: `pwd`, `pwd otp`,
    /// `pwd mfa`), for a route that asks for a second factor.
    pub fn allow(caller: &Caller) -> Self {
        let context = BTreeMap::from([
            ("sub", caller.user.id.to_string()),
            ("sid", caller.session_id.to_string()),
            ("amr", caller.sign_in.as_str().to_owned()),
        ]);
        AuthorizerResponse { is_authorized: true, context }
    }

    /// Keeps the request out: API Gateway answers 403.
    pub fn deny() -> Self {
        AuthorizerResponse { is_authorized: false, context: BTreeMap::new() }
    }
}

/// The bearer token of an authorizer event: from its identity source (the
/// `Authorization` header, as the authorizer is configured), else from the
/// header itself; `None` when there is none, or it is not a bearer token.
pub fn bearer_of(request: &AuthorizerRequest) -> Option<&str> {
    let from_source = request.identity_source.as_ref().and_then(|source| source.first()).map(String::as_str);
    let from_header = || request.headers.get(AUTHORIZATION).and_then(|value| value.to_str().ok());
    bearer_in(from_source.or_else(from_header)?)
}

/// Serves an authorizer's `handle` over `app` on the Lambda runtime. A fault
/// or a panic is an invocation error, which API Gateway answers with 500:
/// nobody is let in on a guess.
pub async fn serve_authorizer<'a, App, F, Fut>(app: &'a App, handle: F) -> Result<(), lambda_http::Error>
where
    App: Sync,
    F: Fn(&'a App, AuthorizerRequest) -> Fut,
    Fut: Future<Output = Result<AuthorizerResponse, ApiError>> + Send + 'a,
{
    lambda_http::lambda_runtime::run(service_fn(|event: LambdaEvent<AuthorizerRequest>| {
        // Boxed: the runtime's own future is deep, and the handler's nested
        // in it would pass the compiler's recursion limit.
        let decided = Box::pin(handle(app, event.payload));
        async move {
            match AssertUnwindSafe(decided).catch_unwind().await {
                Ok(Ok(response)) => Ok(response),
                Ok(Err(fault)) => {
                    tracing::error!(code = fault.code(), cause = %fault, "authorization failed");
                    Err(lambda_http::Error::from(fault.code()))
                }
                Err(_) => {
                    tracing::error!("authorizer panicked");
                    Err(lambda_http::Error::from("internal"))
                }
            }
        }
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_support::authorizer_event as event;

    #[test]
    fn the_token_comes_from_the_identity_source_or_the_header() {
        assert_eq!(bearer_of(&event(Some("Bearer abc"), None)), Some("abc"));
        assert_eq!(bearer_of(&event(None, Some("bearer def"))), Some("def"));
        assert_eq!(bearer_of(&event(None, None)), None);
        assert_eq!(bearer_of(&event(Some("Basic abc"), None)), None);
        assert_eq!(bearer_of(&event(Some("Bearer "), None)), None);
        assert_eq!(bearer_of(&event(Some("Bearer a b"), None)), None);
    }

    #[test]
    fn a_denial_says_nothing_more() {
        assert_eq!(
            serde_json::to_value(AuthorizerResponse::deny()).unwrap(),
            serde_json::json!({"isAuthorized": false})
        );
    }
}
