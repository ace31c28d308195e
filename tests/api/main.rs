//! Integration tests of the service against a real DynamoDB Local, and the
//! end-to-end test of the built functions through `cargo lambda watch`,
//! and the checks that `template.yaml` agrees with the code.

mod helpers;
mod ses;

mod account;
mod activity;
mod authorizer;
mod concurrency;
mod email;
mod end_to_end;
mod es256;
mod faults;
mod interop;
mod lockout;
mod operator;
mod outage;
mod passkeys;
mod recovery;
mod rotation;
mod second_factor;
mod sessions;
mod story;
mod template;
