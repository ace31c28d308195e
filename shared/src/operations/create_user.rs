use secrecy::SecretString;

use crate::domain::{Password, User, Username};
use crate::passwords::PasswordHasher;
use crate::store::UserStore;
use crate::ApiError;

/// Signs a user up. The username is claimed atomically with the user's
/// creation, so of two simultaneous sign-ups for one name exactly one wins.
pub async fn create_user(
    store: &impl UserStore,
    passwords: &dyn PasswordHasher,
    password_min_length: usize,
    username: &str,
    password: SecretString,
) -> Result<User, ApiError> {
    let username = Username::parse(username)?;
    let password = Password::parse_for(&username, password, password_min_length)?;
    let hash = passwords.hash(password).await?;
    let user = User::new(username);
    store.create_user(&user, &hash).await?;
    tracing::info!(user_id = %user.id, "user created");
    Ok(user)
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
