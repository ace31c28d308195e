//! The floors: the work a warm invocation of an argon2 function cannot
//! avoid, done by the harness itself between the function's invocations:
//! argon2id and the same DynamoDB calls, made the same way, through the
//! service's own store and lockout, on accounts of the floors' own.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use user_auth_core::clock::{Clock, SystemClock};
use user_auth_core::config::{self, Env};
use user_auth_core::domain::{self, Password, Session, SessionId, Username};
use user_auth_core::lockout;
use user_auth_core::operations::admit_sign_up;
use user_auth_core::passwords::{hash_password, verify_password, PasswordHash};
use user_auth_core::store::dynamodb::DynamoStore;
use user_auth_core::store::{
    AccountStore, CredentialStore, Credentials, PasswordChange, SessionStore, TableNames, UserStore,
};
use user_auth_core::tokens::refresh::RefreshToken;

use crate::database::transaction;
use crate::measure::Settings;
use crate::setup::{create_account, create_accounts, password_change, Account, SIGN_UPS_PER_HOUR, USERNAME_LOG_KEY};
use crate::{BoxError, PASSWORD, PASSWORD_MIN_LENGTH};

/// The source address of the floors' sign-ups and password checks: not the
/// fixtures' own, so that the floors' counts and the functions' are apart.
const ADDRESS: &str = "198.51.100.7";

/// The work a warm invocation cannot avoid, done by the harness itself:
/// argon2id and the same DynamoDB calls, made the same way.
#[derive(Clone, Copy)]
pub enum Floor {
    /// create-user: the sign-up counted, hash, then the two-put transaction.
    CountHashAndTransaction,
    /// login: the password check with the user's sessions queried during
    /// argon2, then the new session put in a transaction with a check that
    /// the credentials are the ones checked, beside the success's record.
    CheckAndPut,
    /// change-password: the token's session and user read at once, the
    /// password check, the new password hashed, then the change: the
    /// transaction updating the hash, the user's and the kept session's
    /// credential generation, then the user's sessions queried (the caller's
    /// session is its user's only one, so none ends).
    ReadCheckHashAndChange,
    /// delete-user: the token's session and user read at once, the password
    /// check, then the deletion: the sessions queried, the transaction
    /// deleting the profile, the claim and the one session, and the query of
    /// the sweep for stragglers.
    ReadCheckAndDelete,
}

impl Floor {
    /// The work, as the report shows it. A password check from an address
    /// its name knows (logins and changes of the same user, one after the
    /// other) claims one count and records one success; from an address the
    /// name has not seen (each deletion's user is new) it claims and clears
    /// the name's count too.
    pub fn describe(self) -> &'static str {
        match self {
            Floor::CountHashAndTransaction => "UpdateItem + argon2id hash + two-put transaction",
            Floor::CheckAndPut => {
                "3 concurrent GetItem + UpdateItem + argon2id verify beside a Query + PutItem beside a PutItem \
                 and ConditionCheck transaction"
            }
            Floor::ReadCheckHashAndChange => {
                "2, then 3 concurrent GetItem + UpdateItem + argon2id verify + PutItem + argon2id hash \
                 + three-update transaction + Query"
            }
            Floor::ReadCheckAndDelete => {
                "2, then 3 concurrent GetItem + 2 concurrent UpdateItem + argon2id verify + PutItem and \
                 DeleteItem at once + Query + three-delete transaction + Query"
            }
        }
    }

    /// Runs the floor once on `accounts` and returns the time it took.
    pub async fn run(
        self,
        db: &Client,
        tables: &TableNames,
        accounts: &mut FloorAccounts,
    ) -> Result<Duration, BoxError> {
        let start = Instant::now();
        match self {
            Floor::CountHashAndTransaction => {
                admit_sign_up(&accounts.store, SIGN_UPS_PER_HOUR, SystemClock.now(), ADDRESS).await?;
                hash_password(Password::parse(PASSWORD.into(), PASSWORD_MIN_LENGTH)?).await?;
                transaction(db, tables).await?;
            }
            Floor::CheckAndPut => {
                // As login: the user's sessions queried during argon2 (for the
                // cap), then the session stored and the success recorded at once.
                let (store, user) = (&accounts.store, &accounts.logger.user);
                let (claim, ages) =
                    tokio::join!(claim_and_verify(store, &user.username, PASSWORD), store.session_ages(&user.id));
                let ((credentials, claimed, now), _) = (claim?, ages?);
                let success = lockout::record_success(store, &user.username, ADDRESS, &user.id, claimed, now);
                tokio::try_join!(start_session(store, &user.username, &credentials), async { Ok(success.await?) })?;
            }
            Floor::ReadCheckHashAndChange => accounts.change_password().await?,
            Floor::ReadCheckAndDelete => accounts.delete_account().await?,
        }
        Ok(start.elapsed())
    }
}

/// The accounts the floors act on, of their own and as real as the
/// functions': every read finds its item and every condition passes, as for
/// the function.
pub struct FloorAccounts {
    store: DynamoStore,
    /// Whose password login's floor checks.
    logger: Account,
    /// Whose password change-password's floor changes, to and back as the
    /// function's events do; its only session stands for the caller's.
    changer: Account,
    changes: usize,
    /// One per run of delete-user's floor, which deletes it.
    to_delete: std::vec::IntoIter<Account>,
}

impl FloorAccounts {
    /// The accounts for a run of `settings`, with `stored` (the hash of
    /// [`PASSWORD`]) as their password's.
    pub async fn create(
        db: &Client,
        tables: &TableNames,
        stored: &PasswordHash,
        settings: &Settings,
    ) -> Result<Self, BoxError> {
        let mut accounts = FloorAccounts {
            store: DynamoStore::new(db.clone(), tables.clone()).with_username_key(&USERNAME_LOG_KEY.into()),
            logger: create_account(db, tables, stored).await?,
            changer: create_account(db, tables, stored).await?,
            changes: 0,
            to_delete: create_accounts(db, tables, stored, settings.argon2_warm_runs).await?.into_iter(),
        };
        accounts.know_their_address().await?;
        Ok(accounts)
    }

    /// A first password check, untimed, for the accounts that are checked
    /// again and again: it finds the address new to the name, as the
    /// functions' first events do, and the timed ones find it known, as the
    /// functions' warm events do.
    async fn know_their_address(&mut self) -> Result<(), BoxError> {
        check_password(&self.store, &self.logger.user.username, PASSWORD).await?;
        self.change_password().await
    }

    /// change-password's work on the changer.
    async fn change_password(&mut self) -> Result<(), BoxError> {
        let Account { user, session } = &self.changer;
        let (current, new) = password_change(self.changes);
        read_session_and_user(&self.store, session).await?;
        let credentials = check_password(&self.store, &user.username, current).await?;
        let to = hash_password(Password::parse_for(&user.username, new.into(), PASSWORD_MIN_LENGTH)?).await?;
        let change = PasswordChange {
            user_id: user.id.clone(),
            username: user.username.clone(),
            from: credentials.password_hash,
            to,
            generation: credentials.generation,
            keep: session.session_id.clone(),
        };
        if !self.store.change_password(&change).await? {
            return Err("change-password's floor: the change was refused".into());
        }
        self.store.session_ids(&user.id).await?;
        self.changes += 1;
        Ok(())
    }

    /// delete-user's work on the next account to delete.
    async fn delete_account(&mut self) -> Result<(), BoxError> {
        let Account { user, session } =
            self.to_delete.next().ok_or("delete-user's floor: the accounts created for it ran out")?;
        read_session_and_user(&self.store, &session).await?;
        check_password(&self.store, &user.username, PASSWORD).await?;
        if !self.store.delete_account(&user).await? {
            return Err("delete-user's floor: the deletion was refused".into());
        }
        Ok(())
    }
}

/// A new session stored as login stores it: on the condition that the
/// username's credentials are the ones just checked.
async fn start_session(store: &DynamoStore, username: &Username, checked: &Credentials) -> Result<(), BoxError> {
    let lifetime = config::session_lifetime(&Env::from_pairs::<&str, &str>([]))?;
    let client = domain::Client { user_agent: "curl/8.5.0".into(), source_ip: ADDRESS.into() };
    let first = RefreshToken::first(checked.user_id.clone(), SessionId::new_random())?;
    let id = first.session_id.clone();
    let session = Session::start(id, checked.user_id.clone(), client, first.hash(), lifetime, SystemClock.now());
    if !store.start_session(&session, username, &checked.password_hash).await? {
        return Err("login's floor: the session was refused".into());
    }
    Ok(())
}

/// A token check's two reads at once, as the functions make them: the
/// session and its user. Both must be there, as for the function.
async fn read_session_and_user(store: &DynamoStore, session: &RefreshToken) -> Result<(), BoxError> {
    let (found, user) =
        tokio::try_join!(store.session(&session.user_id, &session.session_id), store.get_user(&session.user_id))?;
    found.and(user).map(drop).ok_or_else(|| "a floor's session or user is missing".into())
}

/// A password check from [`ADDRESS`] as the functions make it, of a right
/// password: the lockout's reads and the credentials' at once, the attempt
/// claimed, argon2id verify, the success recorded. Returns the credentials.
async fn check_password(store: &DynamoStore, username: &Username, password: &str) -> Result<Credentials, BoxError> {
    let (credentials, claimed, now) = claim_and_verify(store, username, password).await?;
    lockout::record_success(store, username, ADDRESS, &credentials.user_id, claimed, now).await?;
    Ok(credentials)
}

/// [`check_password`] but the success's record: the credentials, the claim
/// to forget, and the time of the check.
async fn claim_and_verify(
    store: &DynamoStore,
    username: &Username,
    password: &str,
) -> Result<(Credentials, lockout::Claimed, u64), BoxError> {
    let now = SystemClock.now();
    let (standing, credentials) =
        tokio::try_join!(lockout::standing(store, username, ADDRESS, now), store.credentials(username))?;
    let credentials = credentials.ok_or("a floor's username claim is missing")?;
    let owner = &credentials.user_id;
    let claimed = lockout::claim(store, username, ADDRESS, &standing, Some(owner), now).await?;
    if !verify_password(password.into(), Some(credentials.password_hash.clone())).await? {
        return Err("a floor's password does not match its hash".into());
    }
    Ok((credentials, claimed, now))
}
