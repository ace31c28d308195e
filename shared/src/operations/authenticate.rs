//! The one check of an access token, its session and its user, shared by
//! every route that serves token holders and by the authorizer.

use crate::domain::{ActivityEvent, ActivityType, Client, Session, SessionId, SignIn, User, UserId};
use crate::store::{SessionStore, UserStore};
use crate::tokens::TokenVerifier;
use crate::ApiError;

/// What an access token claims: its user and its session, not yet checked
/// against the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Claimed {
    pub(super) user_id: UserId,
    pub(super) session_id: SessionId,
}

/// Who presented an access token, checked: a user that exists, and its
/// active session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user: User,
    pub session_id: SessionId,
    /// How the session was signed in: with a second factor or not.
    pub sign_in: SignIn,
    /// Who sent the request, as the handler read it ([`Caller::from`]), for
    /// the user's activity.
    pub client: Option<Client>,
}

impl Caller {
    /// The caller, as sending the request from `client`.
    pub fn from(self, client: Client) -> Self {
        Caller { client: Some(client), ..self }
    }

    /// An event of the caller's activity, in the caller's session, from the
    /// caller's client.
    pub fn event(&self, kind: ActivityType) -> ActivityEvent {
        let event = ActivityEvent::new(&self.user.id, kind).in_session(&self.session_id);
        match &self.client {
            Some(client) => event.from(client),
            None => event,
        }
    }
}

/// What an access token claims, if it is genuine and unexpired at `now`.
/// Neither its session nor its user is checked: see [`authenticate`].
pub(super) fn claimed(verifier: &TokenVerifier, now: u64, token: &str) -> Result<Claimed, ApiError> {
    let claims = verifier.verify(token, now)?;
    match (UserId::parse(&claims.sub), SessionId::parse(&claims.sid)) {
        (Some(user_id), Some(session_id)) => Ok(Claimed { user_id, session_id }),
        _ => Err(ApiError::InvalidToken),
    }
}

/// The one refusal of a token whose session has ended, whose user is gone,
/// or whose session was opened with a password that has since changed,
/// whoever checked it. An account deletion ends every session with the
/// user, in one transaction; the user is checked as well, so that a session
/// record that outlived its user (stored by a login racing the deletion, or
/// by anything else) still opens nothing. A password change moves the
/// user's credential generation on, so a session of an older one opens
/// nothing, however late a racing login stored it.
pub(super) fn admit_caller(
    claimed: Claimed,
    session: Option<&Session>,
    user: Option<User>,
    now: u64,
) -> Result<Caller, ApiError> {
    let Some(session) = session.filter(|session| session.is_active(now)) else {
        tracing::info!(session_id = %claimed.session_id, "access token of an ended session presented");
        return Err(ApiError::InvalidToken);
    };
    let Some(user) = user.filter(|user| user.id == claimed.user_id) else {
        tracing::warn!(session_id = %claimed.session_id, "access token of a deleted user presented");
        return Err(ApiError::InvalidToken);
    };
    if user.disabled.is_some() {
        tracing::info!(session_id = %claimed.session_id, "access token of a disabled account presented");
        return Err(ApiError::InvalidToken);
    }
    if session.is_left_behind(user.credential_generation) {
        tracing::info!(session_id = %claimed.session_id, "access token of a session from before a password change");
        return Err(ApiError::InvalidToken);
    }
    Ok(Caller { user, session_id: claimed.session_id, sign_in: session.sign_in, client: None })
}

/// Verifies a bearer token at `now`, and checks that its session is active,
/// its user exists and the session is of the user's credentials: two reads
/// at once, one round trip.
pub async fn authenticate<S>(store: &S, verifier: &TokenVerifier, now: u64, token: &str) -> Result<Caller, ApiError>
where
    S: SessionStore + UserStore,
{
    admit_claimed(store, claimed(verifier, now, token)?, now).await
}

/// [`authenticate`]'s reads and checks, for a token already verified.
pub(super) async fn admit_claimed<S>(store: &S, claimed: Claimed, now: u64) -> Result<Caller, ApiError>
where
    S: SessionStore + UserStore,
{
    let (session, user) =
        tokio::join!(store.session(&claimed.user_id, &claimed.session_id), store.get_user(&claimed.user_id));
    let (session, user) = (session?, user?);
    let session = match (&session, &user) {
        // Read at once, the two may straddle a password change: the session
        // it keeps shows a generation behind. Read after the user, a kept
        // session has moved along; one left behind has not.
        (Some(found), Some(user)) if found.is_left_behind(user.credential_generation) => {
            store.session(&claimed.user_id, &claimed.session_id).await?
        }
        _ => session,
    };
    // A session left behind by a password change is refused here, and ended
    // by the refresh that would renew it: the functions that only read
    // sessions may not delete them.
    admit_caller(claimed, session.as_ref(), user, now)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::domain::{Password, Username};
    use crate::operations::{refresh, RefreshPolicy};
    use crate::passwords::{Argon2id, PasswordHasher};
    use crate::store::faulty::FaultyStore;
    use crate::store::{CredentialStore, PasswordChange};
    use crate::test_support::{now, SignedIn, LIFETIME};
    use crate::tokens::refresh::RefreshKey;

    /// A store on which a password change keeping `keep` commits just before
    /// the first read of the user: after the session was read, as when the
    /// two reads of a token check straddle the change.
    async fn change_between_reads(alice: &SignedIn, keep: &SessionId) -> FaultyStore {
        let alice_name = Username::parse("alice").unwrap();
        let credentials = alice.store.credentials(&alice_name).await.unwrap().unwrap();
        let change = PasswordChange {
            user_id: alice.user_id.clone(),
            username: alice_name,
            from: credentials.password_hash,
            to: Argon2id.hash(Password::as_typed("a new passphrase, long enough")).await.unwrap(),
            generation: credentials.generation,
            keep: keep.clone(),
        };
        FaultyStore { change_before_user_read: Mutex::new(Some(change)), ..FaultyStore::over(alice.store.clone()) }
    }

    #[tokio::test]
    async fn the_session_a_change_keeps_passes_a_check_that_straddles_the_change() {
        let alice = SignedIn::new("alice").await;
        let verifier = alice.keys.verifier();
        let store = change_between_reads(&alice, &alice.session_id).await;
        let caller = authenticate(&store, &verifier, now(), &alice.access_token).await.expect("the kept session");
        assert_eq!(caller.user.credential_generation, 1, "the check read the user after the change");
    }

    #[tokio::test]
    async fn the_session_a_change_keeps_refreshes_across_the_change_and_stays() {
        let alice = SignedIn::new("alice").await;
        let store = change_between_reads(&alice, &alice.session_id).await;
        let key = RefreshKey::from_signing_key_pem(&alice.keys.pair.private_key_pem).unwrap();
        let policy = RefreshPolicy { lifetime: LIFETIME, reuse_grace: 10 };
        let renewed =
            refresh(&store, &alice.keys.issuer(), &key, policy, now(), &alice.refresh_token, &Client::default()).await;
        assert!(renewed.is_ok(), "{renewed:?}");
        assert!(store.inner.session(&alice.user_id, &alice.session_id).await.unwrap().is_some(), "not ended");
    }

    #[tokio::test]
    async fn a_session_the_change_left_behind_is_refused_and_its_refresh_ends_it() {
        let alice = SignedIn::new("alice").await;
        let other = alice.another_session().await;
        let verifier = alice.keys.verifier();
        // The change keeps alice's first session; the other is left behind.
        let store = change_between_reads(&alice, &alice.session_id).await;
        let err = authenticate(&store, &verifier, now(), &other.access_token).await.unwrap_err();
        assert_eq!(err.code(), "invalid_token");
        let key = RefreshKey::from_signing_key_pem(&alice.keys.pair.private_key_pem).unwrap();
        let policy = RefreshPolicy { lifetime: LIFETIME, reuse_grace: 10 };
        let err = refresh(&store, &alice.keys.issuer(), &key, policy, now(), &other.refresh_token, &Client::default())
            .await
            .unwrap_err();
        assert_eq!(err.code(), "invalid_refresh_token");
        assert!(store.inner.session(&alice.user_id, &other.session_id).await.unwrap().is_none(), "ended");
    }
}
