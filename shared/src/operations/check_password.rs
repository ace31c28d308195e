//! The one check of a password, under the lockout ([`crate::lockout`]):
//! login, password change and account deletion all check passwords here.

use secrecy::{ExposeSecret, SecretString};

use crate::domain::{normalized, ActivityType, UserId, Username};
use crate::lockout::{self, LockoutError, Standing};
use crate::passwords::{HashingError, PasswordHash, PasswordHasher};
use crate::store::{CredentialStore, Credentials, LoginAttemptStore, StoreError};
use crate::telemetry;
use crate::ApiError;

/// A password check for a username at `now`, from a source address, in its
/// steps: [`PasswordCheck::read`] reads the lockout's standing and the
/// credentials at once; [`PasswordCheck::verify`] claims the attempt (counts
/// it as a failure) before any argon2 work, refuses it while its address is
/// locked or the name is closed to it, and runs argon2;
/// [`CheckedPassword::record_success`] forgets the attempt once the password
/// was right. An unknown name costs the same argon2 work and gets the same
/// answer as a wrong password.
pub struct PasswordCheck<'a> {
    username: &'a Username,
    address: &'a str,
    now: u64,
    standing: Result<Standing, StoreError>,
    credentials: Result<Option<Credentials>, StoreError>,
}

/// A password found right, whose attempt is still counted as a failure until
/// [`CheckedPassword::record_success`]: login writes that beside its session.
pub struct CheckedPassword<'a> {
    pub credentials: Credentials,
    username: &'a Username,
    address: &'a str,
    now: u64,
    claimed: lockout::Claimed,
}

impl<'a> PasswordCheck<'a> {
    /// The lockout's two items and the credentials at once: one round trip
    /// of latency, for one wasted read unit when the check is refused.
    pub async fn read<S>(store: &S, username: &'a Username, address: &'a str, now: u64) -> Self
    where
        S: CredentialStore + LoginAttemptStore,
    {
        let (standing, credentials) =
            tokio::join!(lockout::standing(store, username, address, now), store.credentials(username));
        PasswordCheck { username, address, now, standing, credentials }
    }

    /// The name's user, if the read found one.
    pub fn owner(&self) -> Option<&UserId> {
        self.credentials.as_ref().ok().and_then(|found| found.as_ref().map(|found| &found.user_id))
    }

    /// What the attempt is, for its user's activity, until its password is
    /// found right: `login_failed`, or `locked` when the failure would lock
    /// the name at its address. `None` when the name has no user or the
    /// lockout refuses the attempt.
    pub fn attempt_kind(&self) -> Option<ActivityType> {
        self.owner()?;
        let would_lock = lockout::failure_would_lock(self.standing.as_ref().ok()?, self.owner(), self.now)?;
        Some(if would_lock { ActivityType::Locked } else { ActivityType::LoginFailed })
    }

    /// Claims the attempt and checks the password. The lock is judged first,
    /// so a failed credentials read never turns a 429 into a 503 (the attempt
    /// is counted all the same: counting errs on the safe side).
    pub async fn verify<S>(
        self,
        store: &S,
        passwords: &dyn PasswordHasher,
        password: SecretString,
    ) -> Result<CheckedPassword<'a>, ApiError>
    where
        S: LoginAttemptStore,
    {
        let PasswordCheck { username, address, now, standing, credentials } = self;
        // An address is known to a user, not to a name that may have changed hands.
        let owner = credentials.as_ref().ok().and_then(|found| found.as_ref().map(|found| found.user_id.clone()));
        let claimed =
            lockout::claim(store, username, address, &standing?, owner.as_ref(), now).await.inspect_err(|err| {
                if let LockoutError::Locked { retry_after } = err {
                    let username = telemetry::username_pseudonym(username.as_str());
                    tracing::info!(source_ip = address, username, retry_after, "password check refused: locked");
                }
            })?;
        let credentials = credentials?;
        let stored = credentials.as_ref().map(|found| found.password_hash.clone());
        let matches = verify_normalized(passwords, password, stored).await?;
        match credentials {
            Some(credentials) if matches => Ok(CheckedPassword { credentials, username, address, now, claimed }),
            _ => {
                let username = telemetry::username_pseudonym(username.as_str());
                tracing::info!(source_ip = address, username, failures = claimed.failures, "password check failed");
                Err(ApiError::InvalidCredentials)
            }
        }
    }
}

impl CheckedPassword<'_> {
    /// Forgets the attempt and the failures before it, and makes the address
    /// known to the user.
    pub async fn record_success(&self, store: &impl LoginAttemptStore) -> Result<(), StoreError> {
        let (username, address, owner) = (self.username, self.address, &self.credentials.user_id);
        lockout::record_success(store, username, address, owner, self.claimed, self.now).await
    }
}

/// The whole check, success recorded: for password change and deletion.
pub async fn check_password<S>(
    store: &S,
    passwords: &dyn PasswordHasher,
    now: u64,
    username: &Username,
    address: &str,
    password: SecretString,
) -> Result<Credentials, ApiError>
where
    S: CredentialStore + LoginAttemptStore,
{
    let checked = PasswordCheck::read(store, username, address, now).await.verify(store, passwords, password).await?;
    checked.record_success(store).await?;
    Ok(checked.credentials)
}

/// Checks a candidate password in its NFKC form, as every password has been
/// hashed since passwords are normalised. A hash made before that was made
/// from the password as typed: a candidate that NFKC changes is checked as
/// typed too when the first check fails. That second run happens whether or
/// not a hash is stored, so that it does not tell whether the user exists.
async fn verify_normalized(
    passwords: &dyn PasswordHasher,
    candidate: SecretString,
    stored: Option<PasswordHash>,
) -> Result<bool, HashingError> {
    let normal = normalized(&candidate);
    let changed = normal.expose_secret() != candidate.expose_secret();
    if passwords.verify(normal, stored.clone()).await? {
        return Ok(true);
    }
    match changed {
        true => passwords.verify(candidate, stored).await,
        false => Ok(false),
    }
}
