use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::id::uuid_id;
use super::{SecondFactor, UserEmail, Username};

uuid_id! {
    /// A user's id.
    UserId
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub username: Username,
    pub created_at: OffsetDateTime,
    /// Moves on with every change of the password: a session opened under
    /// an older one opens nothing ([`crate::domain::Session::credential_generation`]).
    pub credential_generation: u64,
    /// The address given at sign-up or since, if any; only its owner sees it.
    pub email: Option<UserEmail>,
    /// The second factor, active or pending, and the recovery codes left.
    pub second_factor: SecondFactor,
    /// Set by an operator: the account cannot sign in, and none of its
    /// tokens opens anything, until an operator enables it again.
    pub disabled: Option<Disabled>,
}

/// Why and when an operator disabled an account: for operators only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disabled {
    /// Unix seconds.
    pub at: u64,
    pub reason: String,
    /// The operator who did it, as the operators' tool names them.
    pub by: String,
}

impl User {
    pub fn new(username: Username) -> Self {
        // Whole seconds: the stored RFC 3339 form then round-trips exactly.
        let now = OffsetDateTime::now_utc();
        let created_at = now.replace_nanosecond(0).unwrap_or(now);
        User {
            id: UserId::new_random(),
            username,
            created_at,
            credential_generation: 0,
            email: None,
            second_factor: SecondFactor::default(),
            disabled: None,
        }
    }

    pub fn created_at_rfc3339(&self) -> String {
        self.created_at.format(&Rfc3339).unwrap_or_default()
    }
}

/// The public JSON form of a user: never a password or a hash.
#[derive(Debug, Serialize)]
pub struct UserView {
    pub id: String,
    pub username: String,
    pub created_at: String,
}

impl From<&User> for UserView {
    fn from(user: &User) -> Self {
        UserView { id: user.id.to_string(), username: user.username.to_string(), created_at: user.created_at_rfc3339() }
    }
}

/// The JSON form of the caller's own profile (`/users/me`): the public one,
/// and the address with whether it is verified, which no one else sees.
#[derive(Debug, Serialize)]
pub struct OwnProfileView {
    #[serde(flatten)]
    pub profile: UserView,
    pub email: Option<String>,
    pub email_verified: bool,
    pub mfa: MfaView,
}

/// Whether the caller's second factor is active, and how many recovery
/// codes are left: never the secret or the codes.
#[derive(Debug, Serialize)]
pub struct MfaView {
    pub totp: bool,
    pub recovery_codes_left: usize,
}

impl From<&User> for OwnProfileView {
    fn from(user: &User) -> Self {
        OwnProfileView {
            profile: UserView::from(user),
            email: user.email.as_ref().map(|email| email.address.to_string()),
            email_verified: user.email.as_ref().is_some_and(|email| email.verified),
            mfa: MfaView {
                totp: user.second_factor.is_active(),
                recovery_codes_left: user.second_factor.recovery_codes.len(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_random_uuids() {
        let a = UserId::new_random();
        let b = UserId::new_random();
        assert_ne!(a, b);
        assert_eq!(UserId::parse(a.as_str()), Some(a));
    }

    #[test]
    fn only_canonical_ids_parse() {
        assert!(UserId::parse("not-a-uuid").is_none());
        assert!(UserId::parse("").is_none());
        let id = UserId::new_random().to_string();
        assert!(UserId::parse(&id.to_uppercase()).is_none());
        assert!(UserId::parse(&id.replace('-', "")).is_none());
    }

    #[test]
    fn view_has_rfc3339_utc_time_and_no_secret_fields() {
        let user = User::new(Username::parse("alice").unwrap());
        let json = serde_json::to_value(UserView::from(&user)).unwrap();
        let object = json.as_object().unwrap();
        let mut keys: Vec<_> = object.keys().cloned().collect();
        keys.sort();
        assert_eq!(keys, ["created_at", "id", "username"]);
        let created_at = object["created_at"].as_str().unwrap();
        assert!(created_at.ends_with('Z'), "{created_at}");
        assert!(OffsetDateTime::parse(created_at, &Rfc3339).is_ok());
    }
}
