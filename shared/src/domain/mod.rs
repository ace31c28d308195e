//! The validated values of the domain. Raw input becomes one of these types
//! through `parse`, and nothing else gets past the edge of the service.

mod password;
mod user;
mod username;

pub use password::{Password, PASSWORD_MAX_LENGTH};
pub use user::{User, UserId, UserView};
pub use username::Username;
