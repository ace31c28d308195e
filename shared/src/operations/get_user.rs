use crate::domain::{User, UserId};
use crate::store::{SessionStore, UserStore};
use crate::tokens::TokenVerifier;
use crate::ApiError;

use super::{admit_caller, claimed};

/// Whose profile is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Whose<'a> {
    /// The caller's own (`/users/me`).
    Caller,
    /// The user of this id, as the path gives it: not checked yet.
    Id(&'a str),
}

/// Reads a user's public profile for the holder of a valid token of an active
/// session. The session, the caller and the profile asked for are read at
/// once (one round trip of latency); a token of an ended session or of a
/// deleted user gets 401 whatever the id.
pub async fn get_user<S>(
    store: &S,
    verifier: &TokenVerifier,
    now: u64,
    token: &str,
    whose: Whose<'_>,
) -> Result<User, ApiError>
where
    S: UserStore + SessionStore,
{
    let claimed = claimed(verifier, now, token)?;
    let wanted = match whose {
        Whose::Caller => Wanted::Own,
        Whose::Id(raw) => match UserId::parse(raw) {
            // The caller's own id reads as `/users/me`: no second read.
            Some(id) if id == claimed.user_id => Wanted::Own,
            Some(id) => Wanted::Other(id),
            None => Wanted::NoSuchUser,
        },
    };
    let other = async {
        match &wanted {
            Wanted::Other(id) => store.get_user(id).await,
            Wanted::Own | Wanted::NoSuchUser => Ok(None),
        }
    };
    let (session, user, other) =
        tokio::join!(store.session(&claimed.user_id, &claimed.session_id), store.get_user(&claimed.user_id), other);
    let caller = admit_caller(claimed, session?.as_ref(), user?, now)?;
    match wanted {
        Wanted::Own => Ok(caller.user),
        Wanted::Other(_) => other?.ok_or(ApiError::NotFound),
        Wanted::NoSuchUser => Err(ApiError::NotFound),
    }
}

/// The profile to read, once the path is parsed.
enum Wanted {
    Own,
    Other(UserId),
    /// A malformed id: no user has it.
    NoSuchUser,
}
