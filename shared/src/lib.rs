//! Domain of the user and auth service, shared by its four Lambda functions.
//!
//! - [`aws`]: the AWS SDK's configuration, from what Lambda provides.
//! - [`domain`]: validated usernames and passwords, the user model.
//! - [`passwords`]: argon2id hashing, run off the async worker threads.
//! - [`tokens`]: EdDSA-signed JWT access tokens, issued and verified.
//! - [`store`]: the narrow storage ports and their DynamoDB adapter.
//! - [`lockout`]: the brute-force defence of login.
//! - [`operations`]: the rules of each operation, independent of HTTP.
//! - [`http`]: request parsing and the single place errors become responses.
//! - [`error`]: every failure the API can answer with.

pub mod aws;
pub mod config;
pub mod domain;
pub mod error;
pub mod http;
pub mod lockout;
pub mod operations;
pub mod passwords;
pub mod store;
pub mod tokens;

pub use error::ApiError;

#[cfg(test)]
mod robustness;
