//! Integration tests of the service against a real DynamoDB Local, and the
//! end-to-end test of the four built functions through `cargo lambda watch`.

mod helpers;

mod concurrency;
mod end_to_end;
mod outage;
mod story;
