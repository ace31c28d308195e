//! The validated values of the domain. Raw input becomes one of these types
//! through `parse`, and nothing else gets past the edge of the service. A
//! refusal is the type's own error, which knows nothing of HTTP.

mod id;
mod login_attempts;
mod password;
mod session;
mod user;
mod username;

pub use login_attempts::{AddressAttempts, AddressClaim, AddressRecord, NameAttempts, NameClaim, NameRecord, Standing};
pub use password::{normalized, Password, PasswordError, PASSWORD_MAX_LENGTH};
pub use session::{Client, Presented, RefreshHash, Rotation, Session, SessionId, SessionLifetime, SessionView};
pub use user::{User, UserId, UserView};
pub use username::{Username, UsernameError};
