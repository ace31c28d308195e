//! The domain of the user and auth service, shared by its Lambda functions.
//!
//! # Layout
//!
//! The rules, which know nothing of HTTP or Lambda:
//!
//! - [`domain`]: validated `Username`, `Password`, `User`, `UserId`, and why a
//!   raw value is refused.
//! - [`mail`]: the messages the service sends (their words in one
//!   place) and the port that sends them, with its SES v2 adapter.
//! - [`passwords`]: argon2id hashing behind the `PasswordHasher` port.
//! - [`passkeys`]: the WebAuthn relying party, its ceremonies checked by
//!   webauthn-rs.
//! - [`tokens`]: EdDSA-signed JWT access tokens, issued and verified.
//! - [`lockout`]: the whole brute-force policy of login, over the records
//!   of [`domain`] the store keeps.
//! - [`clock`]: the time the rules read, injected so tests need not sleep.
//! - [`operations`]: one module per operation, each a rule over the ports.
//! - [`error`]: `ApiError`, every failure an operation can end in.
//!
//! Storage:
//!
//! - [`store`]: the narrow storage ports, their DynamoDB adapter (items
//!   decoded by one rule) and an in-memory store for unit tests (built for
//!   tests only).
//!
//! Where the functions meet Lambda:
//!
//! - [`config`]: every environment variable, read through `Env`.
//! - [`sdk_settings`]: the AWS SDK's region, credentials, endpoints and
//!   HTTPS client, from what Lambda sets; the client pays one full TLS
//!   handshake per host at a cold start (`sdk_settings/first_connection.rs`).
//! - [`startup`]: the pieces of each function's `build`, from `Env`.
//! - [`edge`]: request parsing, the one place errors become responses, and
//!   the runtime loop with panics caught.
//! - [`telemetry`]: logging set-up, and blocking work that keeps its span.
//! - `test_support` (feature `test-support`): what every crate's tests share.
//!
//! No two of these modules depend on each other, and only [`edge`] speaks
//! `lambda_http` (`layout_tests.rs` holds both).

pub mod clock;
pub mod config;
pub mod domain;
pub mod edge;
pub mod error;
pub mod lockout;
pub mod mail;
pub mod operations;
pub mod passkeys;
pub mod passwords;
pub mod sdk_settings;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod tokens;

#[cfg(any(test, feature = "test-support"))]
pub mod test_support;

pub use error::ApiError;

/// Any error, boxed: why a function could not start (a configuration, key or
/// SDK error), or the source of a store's or the edge's failure.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[cfg(test)]
mod layout_tests;
#[cfg(test)]
mod property_tests;
