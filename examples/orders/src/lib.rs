//! `GET /orders` of an example service that knows its callers from the
//! user-auth service's Lambda authorizer: API Gateway calls the authorizer
//! before this function, and passes what it answered in the request's
//! context. The function never sees a token, and never calls the service.

use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::json;

/// The caller's user id, as the authorizer put it in the context (`sub`).
pub fn caller(request: &Request) -> Option<String> {
    let Some(RequestContext::ApiGatewayV2(context)) = request.request_context_ref() else {
        return None;
    };
    // A Lambda authorizer's context is `requestContext.authorizer.lambda`.
    context.authorizer.as_ref()?.fields.get("sub")?.as_str().map(str::to_owned)
}

/// The caller's orders (none: this is an example); 401 if the authorizer
/// said nothing, which API Gateway would not let happen.
pub fn handle(request: &Request) -> Response<Body> {
    let (status, body) = match caller(request) {
        Some(user) => (200, json!({ "user": user, "orders": [] })),
        None => (401, json!({ "error": "no caller" })),
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

    #[test]
    fn without_an_authorizer_context_there_is_no_caller() {
        let mut event: serde_json::Value = serde_json::from_str(include_str!("../fixtures/orders.json")).unwrap();
        event["requestContext"].as_object_mut().unwrap().remove("authorizer");
        let request = lambda_http::request::from_str(&event.to_string()).unwrap();
        assert_eq!(handle(&request).status(), 401);
    }
}
