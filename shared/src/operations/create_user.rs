use secrecy::SecretString;

use crate::domain::{
    ActivityEvent, ActivityType, Client, CodeHasher, EmailAddress, Password, User, UserEmail, Username,
};
use crate::mail::Mailer;
use crate::passwords::PasswordHasher;
use crate::store::{ActivityStore, EmailStore, UserStore};
use crate::ApiError;

use super::{record, send_verification_code};

/// A sign-up request that passed every check that costs nothing: a valid
/// username, a password that meets the policy for it, and a valid address
/// if one is given. Its `Debug` output redacts the password.
#[derive(Debug)]
pub struct SignUp {
    username: Username,
    password: Password,
    email: Option<EmailAddress>,
}

impl SignUp {
    pub fn parse(
        username: &str,
        password: SecretString,
        password_min_length: usize,
        email: Option<&str>,
    ) -> Result<Self, ApiError> {
        let username = Username::parse(username)?;
        let password = Password::parse_for(&username, password, password_min_length)?;
        let email = email.map(EmailAddress::parse).transpose()?;
        Ok(SignUp { username, password, email })
    }
}

/// Signs a user up. The username is claimed atomically with the user's
/// creation, so of two simultaneous sign-ups for one name exactly one wins.
pub async fn create_user(
    store: &impl UserStore,
    passwords: &dyn PasswordHasher,
    password_min_length: usize,
    username: &str,
    password: SecretString,
) -> Result<User, ApiError> {
    register(store, passwords, SignUp::parse(username, password, password_min_length, None)?).await
}

/// Stores a checked sign-up: the password's hash, the user and its name,
/// and its address, unverified (it claims nothing until verified).
pub async fn register(
    store: &impl UserStore,
    passwords: &dyn PasswordHasher,
    sign_up: SignUp,
) -> Result<User, ApiError> {
    let hash = passwords.hash(sign_up.password).await?;
    let mut user = User::new(sign_up.username);
    user.email = sign_up.email.map(|address| UserEmail { address, verified: false });
    store.create_user(&user, &hash).await?;
    tracing::info!(user_id = %user.id, "user created");
    Ok(user)
}

/// What follows a sign-up, at once: the code that verifies its address, if
/// it gave one, and the first event of its activity. Neither undoes the
/// sign-up: a code that cannot be stored or sent is logged, and a new one
/// is asked for with `PUT /users/me/email`.
pub async fn welcome<S>(store: &S, mailer: &dyn Mailer, hasher: &CodeHasher, now: u64, user: &User, client: &Client)
where
    S: EmailStore + ActivityStore,
{
    let verify = async {
        let Some(email) = &user.email else { return };
        if let Err(err) = send_verification_code(store, mailer, hasher, now, user, &email.address).await {
            tracing::error!(user_id = %user.id, error = %err, "no verification code after a sign-up");
        }
    };
    let signed_up = ActivityEvent::new(&user.id, ActivityType::SignedUp).from(client);
    tokio::join!(verify, record(store, signed_up));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::passwords::Argon2id;
    use crate::store::memory::MemoryStore;
    use crate::test_support::{CountingHasher, MIN_LENGTH, PASSWORD};

    #[tokio::test]
    async fn sign_up_validates_before_hashing_or_storing() {
        let store = MemoryStore::default();
        let passwords = CountingHasher::new(Argon2id);
        let err = create_user(&store, &passwords, MIN_LENGTH, "a", PASSWORD.into()).await.unwrap_err();
        assert_eq!(err.code(), "invalid_username");
        let err = create_user(&store, &passwords, MIN_LENGTH, "carol", "short".into()).await.unwrap_err();
        assert_eq!(err.code(), "invalid_password");
        assert_eq!(passwords.hashes(), 0, "a refused sign-up ran argon2");
        // Nothing was claimed by the failed attempts.
        create_user(&store, &passwords, MIN_LENGTH, "carol", PASSWORD.into()).await.unwrap();
        assert_eq!(passwords.hashes(), 1);
    }
}
