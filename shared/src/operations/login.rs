use secrecy::SecretString;

use crate::domain::Username;
use crate::domain::{ActivityEvent, ActivityType, SECOND_FACTOR_WAIT_SECONDS};
use crate::domain::{Client, PendingSignIn, SecondFactorToken, Session, SessionId, SessionLifetime, SignIn, UserId};
use crate::passwords::PasswordHasher;
use crate::store::StoreError;
use crate::store::{ActivityStore, CredentialStore, Credentials, LoginAttemptStore, SecondFactorStore, SessionStore};
use crate::tokens::refresh::RefreshToken;
use crate::tokens::TokenIssuer;
use crate::ApiError;

use super::{record, IssuedSession, PasswordCheck};

/// A login request: the credentials, and who sends them.
#[derive(Debug)]
pub struct LoginAttempt {
    pub username: String,
    pub password: SecretString,
    pub client: Client,
}

/// What a right password leads to: a session, or, for an account with a
/// second factor, a token to complete the login with a code of it.
#[derive(Debug)]
pub enum LoginOutcome {
    Session(IssuedSession),
    SecondFactor(SecondFactorChallenge),
}

impl LoginOutcome {
    /// The session, or the challenge when the login waits for a second factor.
    pub fn into_session(self) -> Result<IssuedSession, SecondFactorChallenge> {
        match self {
            LoginOutcome::Session(issued) => Ok(issued),
            LoginOutcome::SecondFactor(challenge) => Err(challenge),
        }
    }
}

/// The token `POST /auth/mfa/verify` takes with a code, and how long it
/// waits. Its `Debug` output is redacted.
pub struct SecondFactorChallenge {
    pub token: String,
    pub expires_in: u64,
}

impl std::fmt::Debug for SecondFactorChallenge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecondFactorChallenge {{ expires_in: {}, [REDACTED] }}", self.expires_in)
    }
}

/// How many sessions a login may leave its user: at most `max_sessions`,
/// a new one ending the least recently refreshed beyond them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginPolicy {
    pub lifetime: SessionLifetime,
    pub max_sessions: usize,
}

/// Checks a username and password at `now` and starts a session: an access
/// token and the session's first refresh token. An unknown or malformed
/// username costs the same argon2 work as a wrong password and gets the same
/// answer, so the answer does not tell whether a user exists. Failures are
/// counted per username, known or not, and a locked username is refused
/// before any argon2 work ([`PasswordCheck`], [`crate::lockout`]).
///
/// Three round trips to the store, one after the other: the lockout's
/// standing with the credentials; the attempt's claim (with the user's
/// sessions read meanwhile, during argon2); then the session, the success
/// and the ending of the sessions beyond the cap, together. A claim at a
/// name from an address its user does not know adds the name's count.
///
/// The last three are written together, so each stands alone: a session
/// stored is answered even when the success cannot be written; a session
/// refused (its password changed meanwhile) leaves the success recorded,
/// as the password was right when checked, and the sessions ended beyond
/// the cap were of the old password.
///
/// The user's activity records the attempt as the lockout counts it: as
/// failed (or `locked`) beside the claim and the argon2 work, then as what
/// it came to beside the last writes; the same event, written over. No
/// round trip is added. A session that then is not started (a fault, or a
/// password changed meanwhile) writes it over once more, as failed. A name
/// without a user records nothing.
///
/// With a second factor, a right password starts no session: it stores a
/// login waiting for a code ([`PendingSignIn`]) instead, and its attempt
/// stays counted as a failure until the code is right, so that guesses of
/// codes cost what guesses of passwords do.
pub async fn login<S>(
    store: &S,
    passwords: &dyn PasswordHasher,
    issuer: &TokenIssuer,
    policy: LoginPolicy,
    now: u64,
    attempt: LoginAttempt,
) -> Result<LoginOutcome, ApiError>
where
    S: CredentialStore + LoginAttemptStore + SessionStore + SecondFactorStore + ActivityStore,
{
    let LoginAttempt { username, password, client } = attempt;
    let Ok(username) = Username::parse(&username) else {
        // No such name can exist: nothing to count, the same work and answer.
        passwords.verify(password, None).await?;
        // As names are stored, so that an investigator's one hash finds both.
        let username = crate::telemetry::username_pseudonym(&username.to_lowercase());
        tracing::info!(source_ip = client.source_ip, username, "login failed: not a username");
        return Err(ApiError::InvalidCredentials);
    };
    let address = client.source_ip.clone();
    let check = PasswordCheck::read(store, &username, &address, now).await;
    let owner = check.owner().cloned();
    let attempted =
        owner.as_ref().zip(check.attempt_kind()).map(|(owner, kind)| ActivityEvent::new(owner, kind).from(&client));
    // A refused check answers without waiting for the sessions: whether the
    // name has a user must not show in a refusal's time. It waits for its
    // record, which starts with the claim and is written before argon2 ends.
    let beyond_cap = async { Ok(sessions_beyond_cap(store, owner, policy.max_sessions).await) };
    let recorded = async {
        if let Some(attempted) = &attempted {
            record(store, attempted.clone()).await;
        }
    };
    let (checked, ()) =
        tokio::join!(async { tokio::try_join!(check.verify(store, passwords, password), beyond_cap) }, recorded);
    let (checked, beyond_cap) = checked?;
    let user_id = checked.credentials.user_id.clone();
    let attempted = attempted.unwrap_or_else(|| ActivityEvent::new(&user_id, ActivityType::LoginFailed).from(&client));
    if checked.credentials.disabled {
        // The password was right: the attempt is forgotten, and only its
        // owner learns the account is disabled.
        let refused = attempted.turned_into(ActivityType::LoginFailed).detail("account_disabled");
        let (forgotten, ()) = tokio::join!(checked.record_success(store), record(store, refused));
        forgotten?;
        tracing::info!(user_id = %user_id, "login refused: the account is disabled");
        return Err(ApiError::AccountDisabled);
    }
    if checked.credentials.second_factor {
        let token = SecondFactorToken::new(user_id.clone())?;
        let pending = PendingSignIn::new(&token, checked.credentials.generation, client, now);
        let waiting = attempted.turned_into(ActivityType::SecondFactorRequired);
        let (stored, ()) = tokio::join!(store.put_pending_sign_in(&pending), record(store, waiting));
        stored?;
        tracing::info!(user_id = %user_id, "login waits for a second factor");
        let challenge = SecondFactorChallenge { token: token.encode(), expires_in: SECOND_FACTOR_WAIT_SECONDS };
        return Ok(LoginOutcome::SecondFactor(challenge));
    }
    let session_id = SessionId::new_random();
    let succeeded = attempted.turned_into(ActivityType::LoginSucceeded).in_session(&session_id);
    let start = SessionStart {
        username: &username,
        checked: &checked.credentials,
        client,
        id: session_id,
        sign_in: SignIn::Password,
    };
    let (issued, success, ended, ()) = tokio::join!(
        start_session(store, issuer, policy.lifetime, now, start),
        checked.record_success(store),
        end_beyond_cap(store, &user_id, beyond_cap),
        record(store, succeeded),
    );
    if let Err(err) = ended {
        // The cap is met again by the next login; this one goes on.
        tracing::warn!(error = %err, user_id = %user_id, "sessions beyond the cap were not ended");
    }
    let issued = match issued {
        Ok(issued) => issued,
        Err(err) => {
            // The success was written beside the session that was not started.
            record(store, attempted.turned_into(ActivityType::LoginFailed).detail("session_not_started")).await;
            return Err(err);
        }
    };
    if let Err(err) = success {
        // The session is stored: answer with it. The attempt stays counted
        // as a failure, which errs on the safe side.
        tracing::warn!(error = %err, user_id = %user_id, "a successful login's attempt is still counted");
    }
    tracing::info!(user_id = %user_id, "login succeeded");
    Ok(LoginOutcome::Session(issued))
}

/// The user's sessions that a new one puts beyond `max_sessions`, least
/// recently refreshed first; none for a name without a user.
pub(super) async fn sessions_beyond_cap(
    store: &impl SessionStore,
    owner: Option<UserId>,
    max_sessions: usize,
) -> Result<Vec<SessionId>, StoreError> {
    let Some(owner) = owner else { return Ok(Vec::new()) };
    let mut ages = store.session_ages(&owner).await?;
    let surplus = (ages.len() + 1).saturating_sub(max_sessions);
    ages.sort_by(|(a_id, a_at), (b_id, b_at)| (a_at, a_id.as_str()).cmp(&(b_at, b_id.as_str())));
    Ok(ages.into_iter().take(surplus).map(|(id, _)| id).collect())
}

pub(super) async fn end_beyond_cap(
    store: &impl SessionStore,
    user_id: &UserId,
    beyond_cap: Result<Vec<SessionId>, StoreError>,
) -> Result<(), StoreError> {
    let beyond_cap = beyond_cap?;
    if beyond_cap.is_empty() {
        return Ok(());
    }
    tracing::info!(user_id = %user_id, sessions = beyond_cap.len(), "ending the sessions beyond the cap");
    store.end_sessions(user_id, &beyond_cap).await
}

/// The session a sign-in starts: whose, from where, and how it was signed in.
pub(super) struct SessionStart<'a> {
    pub username: &'a Username,
    /// The username's credentials as read: the session is started only if
    /// they still are.
    pub checked: &'a Credentials,
    pub client: Client,
    pub id: SessionId,
    pub sign_in: SignIn,
}

/// Starts a session for credentials just checked, on the condition that they
/// are still the username's: a password changed, or an account deleted,
/// since the check leaves nothing behind.
pub(super) async fn start_session(
    sessions: &impl SessionStore,
    issuer: &TokenIssuer,
    lifetime: SessionLifetime,
    now: u64,
    start: SessionStart<'_>,
) -> Result<IssuedSession, ApiError> {
    let SessionStart { username, checked, client, id, sign_in } = start;
    let first = RefreshToken::first(checked.user_id.clone(), id.clone())?;
    let session = Session::start(id, checked.user_id.clone(), client, first.hash(), lifetime, now)
        .under_credentials(checked.generation)
        .signed_in_by(sign_in);
    if !sessions.start_session(&session, username, &checked.password_hash).await? {
        tracing::info!(user_id = %session.user_id, "login lost to a password change or an account deletion");
        return Err(ApiError::InvalidCredentials);
    }
    let access = issuer.issue_for(&session, now)?;
    Ok(IssuedSession { access, refresh_token: first.encode() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use crate::domain::{Client, User};
    use crate::operations::create_user;
    use crate::passwords::Argon2id;
    use crate::store::faulty::FaultyStore;
    use crate::store::memory::MemoryStore;
    use crate::store::UserStore;
    use crate::test_support::{now, CountingHasher, TestKeys, LOGIN, MIN_LENGTH, PASSWORD};

    fn attempt(username: &str, password: &str) -> LoginAttempt {
        LoginAttempt { username: username.into(), password: password.into(), client: Client::default() }
    }

    async fn store_with(username: &str) -> MemoryStore {
        let store = MemoryStore::default();
        create_user(&store, &Argon2id, MIN_LENGTH, username, PASSWORD.into()).await.unwrap();
        store
    }

    #[tokio::test]
    async fn login_failures_are_indistinguishable() {
        let store = store_with("bob").await;
        let issuer = TestKeys::generate().issuer();
        for (username, password) in
            [("bob", "wrong password here"), ("nobody", PASSWORD), ("!!", PASSWORD), ("bob", "")]
        {
            let err = login(&store, &Argon2id, &issuer, LOGIN, now(), attempt(username, password)).await.unwrap_err();
            assert_eq!(err.code(), "invalid_credentials", "{username}/{password}");
            assert_eq!(err.to_string(), ApiError::InvalidCredentials.to_string());
        }
    }

    #[tokio::test]
    async fn a_sixth_failure_locks_the_username_known_or_not_and_runs_no_argon2() {
        let store = store_with("erin").await;
        let issuer = TestKeys::generate().issuer();
        let passwords = CountingHasher::new(Argon2id);
        let at = now();
        for name in ["erin", "ghost"] {
            for _ in 0..5 {
                let err =
                    login(&store, &passwords, &issuer, LOGIN, at, attempt(name, "a wrong password")).await.unwrap_err();
                assert_eq!(err.code(), "invalid_credentials");
            }
            // Locked for 2^0 s after the fifth failure, plus one for the
            // rounding, even with the right password.
            let before = passwords.verifications();
            let err = login(&store, &passwords, &issuer, LOGIN, at, attempt(name, PASSWORD)).await.unwrap_err();
            assert!(matches!(err, ApiError::TooManyRequests { retry_after: 2 }), "{name}: {err:?}");
            assert_eq!(passwords.verifications(), before, "a locked login ran argon2");
            let err = login(&store, &passwords, &issuer, LOGIN, at + 1, attempt(name, PASSWORD)).await.unwrap_err();
            assert!(matches!(err, ApiError::TooManyRequests { retry_after: 1 }), "{name}: {err:?}");
        }
        assert!(login(&store, &passwords, &issuer, LOGIN, at + 2, attempt("erin", PASSWORD)).await.is_ok());
    }

    #[tokio::test]
    async fn a_successful_login_resets_the_count() {
        let store = store_with("fay").await;
        let issuer = TestKeys::generate().issuer();
        let try_login =
            |password: &'static str| login(&store, &Argon2id, &issuer, LOGIN, now(), attempt("fay", password));
        for _ in 0..4 {
            try_login("a wrong password").await.unwrap_err();
        }
        try_login(PASSWORD).await.unwrap();
        for _ in 0..4 {
            let err = try_login("a wrong password").await.unwrap_err();
            assert_eq!(err.code(), "invalid_credentials");
        }
        try_login(PASSWORD).await.unwrap();
    }

    #[tokio::test]
    async fn passwords_are_normalised_and_hashes_made_before_still_match() {
        let store = MemoryStore::default();
        let issuer = TestKeys::generate().issuer();
        // Signed up with "é" decomposed; logs in with it composed, and back.
        let (decomposed, composed) = ("cafe\u{301} au lait tous les jours", "caf\u{e9} au lait tous les jours");
        create_user(&store, &Argon2id, MIN_LENGTH, "hana", decomposed.into()).await.unwrap();
        for typed in [composed, decomposed] {
            login(&store, &Argon2id, &issuer, LOGIN, now(), attempt("hana", typed)).await.unwrap();
        }
        // A hash made from the password as typed, before normalisation: the
        // same typing still logs in.
        let legacy = User::new(Username::parse("ines").unwrap());
        let hash = Argon2id.hash(crate::domain::Password::as_typed(decomposed)).await.unwrap();
        store.create_user(&legacy, &hash).await.unwrap();
        login(&store, &Argon2id, &issuer, LOGIN, now(), attempt("ines", decomposed)).await.unwrap();
        let err = login(&store, &Argon2id, &issuer, LOGIN, now(), attempt("ines", "wrong but long enough")).await;
        assert_eq!(err.unwrap_err().code(), "invalid_credentials");
    }

    #[tokio::test]
    async fn an_attempt_that_cannot_be_counted_is_not_checked() {
        let store = FaultyStore { claims_fail: true, ..FaultyStore::over(store_with("gus").await) };
        let passwords = CountingHasher::new(Argon2id);
        let issuer = TestKeys::generate().issuer();
        let err = login(&store, &passwords, &issuer, LOGIN, now(), attempt("gus", PASSWORD)).await.unwrap_err();
        assert_eq!(err.code(), "service_unavailable");
        assert_eq!(passwords.verifications(), 0, "argon2 ran for a guess that was never counted");
    }

    /// A refused attempt does not wait for the read of the user's sessions
    /// that a login makes during argon2: a name with a user would otherwise
    /// take a round trip longer to refuse than a name without one. Here the
    /// read never ends, and the clock is paused: a refusal that waited for
    /// it would never come, and the timeout would end the test.
    #[tokio::test(start_paused = true)]
    async fn a_refused_attempt_does_not_wait_for_the_users_sessions() {
        let store = FaultyStore { session_ages_hang: true, ..FaultyStore::over(store_with("hal").await) };
        let issuer = TestKeys::generate().issuer();
        let at = now();
        for _ in 0..5 {
            let wrong = login(&store, &Argon2id, &issuer, LOGIN, at, attempt("hal", "a wrong password"));
            let err = tokio::time::timeout(Duration::from_secs(60), wrong).await.expect("a refusal at once");
            assert_eq!(err.unwrap_err().code(), "invalid_credentials");
        }
        let locked = login(&store, &Argon2id, &issuer, LOGIN, at, attempt("hal", PASSWORD));
        let err = tokio::time::timeout(Duration::from_secs(60), locked).await.expect("a refusal at once");
        assert!(matches!(err, Err(ApiError::TooManyRequests { .. })), "{err:?}");
    }
}
