//! `GET /orders` and `DELETE /orders` of an example service that knows its
//! callers from the user-auth service's Lambda authorizer: API Gateway calls
//! the authorizer before this function, and passes what it answered in the
//! request's context. The function never sees a token, and never calls the
//! service. Cancelling every order asks for a session signed in with a
//! second factor, as the context's `amr` tells.

use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::json;

/// A field of what the authorizer answered: `sub`, `sid` or `amr`.
fn authorizer_field(request: &Request, name: &str) -> Option<String> {
    let Some(RequestContext::ApiGatewayV2(context)) = request.request_context_ref() else {
        return None;
    };
    // A Lambda authorizer's context is `requestContext.authorizer.lambda`.
    context.authorizer.as_ref()?.fields.get(name)?.as_str().map(str::to_owned)
}

/// The caller's user id, as the authorizer put it in the context (`sub`).
pub fn caller(request: &Request) -> Option<String> {
    authorizer_field(request, "sub")
}

/// Whether the caller's session was signed in with a second factor: its
/// `amr` (RFC 8176 values, space-separated) names a TOTP code (`otp`) or a
/// recovery code (`mfa`) besides the password.
pub fn has_second_factor(request: &Request) -> bool {
    let amr = authorizer_field(request, "amr").unwrap_or_default();
    amr.split(' ').any(|method| method == "otp" || method == "mfa")
}

/// `GET`: the caller's orders (none: this is an example). `DELETE`: cancels
/// them, for a session with a second factor only (403 otherwise). 401 if
/// the authorizer said nothing, which API Gateway would not let happen.
pub fn handle(request: &Request) -> Response<Body> {
    let (status, body) = match (caller(request), request.method().as_str()) {
        (None, _) => (401, json!({ "error": "no caller" })),
        (Some(_), "DELETE") if !has_second_factor(request) => {
            (403, json!({ "error": "sign in with a second factor to cancel orders" }))
        }
        (Some(user), "DELETE") => (200, json!({ "user": user, "cancelled": [] })),
        (Some(user), _) => (200, json!({ "user": user, "orders": [] })),
    };
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::Text(body.to_string()))
        .expect("a response")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_caller_is_the_authorizers_sub() {
        let event = include_str!("../fixtures/orders.json");
        let request = lambda_http::request::from_str(event).expect("an API Gateway v2 event");
        let response = handle(&request);
        assert_eq!(response.status(), 200);
        let Body::Text(body) = response.body() else { panic!("a text body") };
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["user"], "5613c3e0-1d73-4d7f-83ef-d2e831fd4e9f");
    }

    /// The fixture's event as `DELETE /orders`, from a session signed in by `amr`.
    fn cancel(amr: &str) -> Response<Body> {
        let mut event: serde_json::Value = serde_json::from_str(include_str!("../fixtures/orders.json")).unwrap();
        event["requestContext"]["http"]["method"] = "DELETE".into();
        event["requestContext"]["authorizer"]["lambda"]["amr"] = amr.into();
        handle(&lambda_http::request::from_str(&event.to_string()).unwrap())
    }

    #[test]
    fn cancelling_asks_for_a_second_factor() {
        assert_eq!(cancel("pwd").status(), 403);
        assert_eq!(cancel("").status(), 403);
        assert_eq!(cancel("pwd otp").status(), 200);
        assert_eq!(cancel("pwd mfa").status(), 200);
    }

    #[test]
    fn without_an_authorizer_context_there_is_no_caller() {
        let mut event: serde_json::Value = serde_json::from_str(include_str!("../fixtures/orders.json")).unwrap();
        event["requestContext"].as_object_mut().unwrap().remove("authorizer");
        let request = lambda_http::request::from_str(&event.to_string()).unwrap();
        assert_eq!(handle(&request).status(), 401);
    }
}
