//! The HTTP edge shared by the functions: where Lambda's requests come in and
//! responses go out.
//!
//! - [`request`]: bodies, bearer tokens and path parameters, read the same way
//!   under API Gateway and `cargo lambda watch`;
//! - [`response`]: JSON answers, and the one place errors become responses;
//! - [`authorizer`]: the Lambda authorizer's events and answers, and its
//!   runtime loop;
//! - [`origin`]: who may call, and whose address a request comes from;
//! - [`serve`]: the Lambda runtime loop, panics caught on each request;
//! - [`after_response`]: work finished after the answer is sent, the
//!   invocation held open for it by an internal extension.

pub mod after_response;
pub mod authorizer;
pub mod origin;
pub mod request;
pub mod response;
pub mod serve;

pub use after_response::{serve_after_response, AfterResponse};
pub use authorizer::{bearer_of, serve_authorizer, AuthorizerRequest, AuthorizerResponse};
pub use origin::Origin;
pub use request::{
    bearer_token, client, json_body, optional_json_body, path_parameter, query_parameter, CredentialsBody,
    FactorCodeBody, JsonBody, MAX_BODY_BYTES,
};
pub use response::{
    accepted, created, error_response, json_response, no_content, ok, ok_cacheable, static_file, status_of,
    RecoveryCodesResponse, SecondFactorResponse, TokenResponse, PAGE_CONTENT_SECURITY_POLICY,
};
pub use serve::{respond, serve};
