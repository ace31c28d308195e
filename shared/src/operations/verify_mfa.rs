use crate::domain::{ActivityEvent, ActivityType, Client, FactorUse};
use crate::domain::{FactorCode, FactorKeys, PendingSignIn, SecondFactorToken, Session, SessionId, User};
use crate::lockout::{self, Claimed, LockoutError};
use crate::store::{ActivityStore, LoginAttemptStore, SecondFactorStore, SessionStore, UserStore};
use crate::tokens::refresh::RefreshToken;
use crate::tokens::TokenIssuer;
use crate::ApiError;

use super::login::{end_beyond_cap, sessions_beyond_cap};
use super::{record, IssuedSession, LoginPolicy};

/// Completes a login that waits for its second factor: the token the login
/// answered, and a TOTP or recovery code.
#[derive(Debug)]
pub struct FactorSignIn {
    pub token: String,
    pub code: String,
    pub client: Client,
}

/// Starts the session of a login waiting for its second factor, when the
/// code is right. Every failure, whether of the token (unknown, used,
/// expired, out of tries, of a password since changed) or of the code
/// (wrong, or a TOTP step or recovery code already used), is
/// [`ApiError::InvalidFactorCode`]. A wrong code spends one of the token's
/// tries and is a counted failure at the user's name.
///
/// Two round trips: the pending login, the user and the user's sessions at
/// once; then one transaction that consumes the token, spends the code and
/// stores the session (of two requests with one code, one passes), beside
/// the forgetting of the login's counted attempt and the ending of the
/// sessions beyond the cap. The user's activity records the login (and
/// the recovery code it spent) beside those, or a wrong code beside its
/// counting.
pub async fn verify_mfa<S>(
    store: &S,
    issuer: &TokenIssuer,
    keys: &FactorKeys,
    policy: LoginPolicy,
    now: u64,
    sign_in: FactorSignIn,
) -> Result<IssuedSession, ApiError>
where
    S: UserStore + SessionStore + LoginAttemptStore + SecondFactorStore + ActivityStore,
{
    let token = SecondFactorToken::parse(&sign_in.token).ok_or(ApiError::InvalidFactorCode)?;
    let token_hash = token.hash();
    let (pending, user, beyond_cap) = tokio::join!(
        store.pending_sign_in(&token_hash),
        store.get_user(&token.user_id),
        sessions_beyond_cap(store, Some(token.user_id.clone()), policy.max_sessions),
    );
    let (Some(pending), Some(user)) = (pending?, user?) else { return Err(ApiError::InvalidFactorCode) };
    let stale = pending.user_id != user.id || pending.credential_generation != user.credential_generation;
    if !pending.is_live(now) || stale || user.disabled.is_some() {
        tracing::info!(user_id = %user.id, "second factor token out of tries, expired, of an old password or disabled");
        return Err(ApiError::InvalidFactorCode);
    }
    let used = FactorCode::parse(&sign_in.code).and_then(|code| user.second_factor.accepts(keys, &user.id, &code, now));
    let Some(used) = used else {
        return Err(wrong_code(store, &pending, &user, &sign_in.client, now).await);
    };
    let id = SessionId::new_random();
    let first = RefreshToken::first(user.id.clone(), id.clone())?;
    let session = Session::start(id, user.id.clone(), pending.client.clone(), first.hash(), policy.lifetime, now)
        .under_credentials(pending.credential_generation)
        .signed_in_by(used.sign_in());
    let forgotten = Claimed::left_to_the_second_factor();
    let address = &sign_in.client.source_ip;
    let (completed, success, ended, ()) = tokio::join!(
        store.complete_sign_in(&pending, &used, &session, now),
        lockout::record_success(store, &user.username, address, &user.id, forgotten, now),
        end_beyond_cap(store, &user.id, beyond_cap),
        record_sign_in(store, &session, &used, &sign_in.client),
    );
    if !completed? {
        tracing::info!(user_id = %user.id, "second factor token or code spent by a concurrent request");
        return Err(ApiError::InvalidFactorCode);
    }
    if let Err(err) = ended {
        tracing::warn!(error = %err, user_id = %user.id, "sessions beyond the cap were not ended");
    }
    if let Err(err) = success {
        tracing::warn!(error = %err, user_id = %user.id, "a completed login's attempt is still counted");
    }
    tracing::info!(user_id = %user.id, sign_in = used.sign_in().as_str(), "login completed with a second factor");
    let access = issuer.issue_for(&session, now)?;
    Ok(IssuedSession { access, refresh_token: first.encode() })
}

/// The login in its user's activity, and the recovery code it spent.
async fn record_sign_in(store: &impl ActivityStore, session: &Session, used: &FactorUse, client: &Client) {
    let event = |kind| ActivityEvent::new(&session.user_id, kind).from(client).in_session(&session.id);
    let signed_in = record(store, event(ActivityType::LoginSucceeded).detail(used.sign_in().as_str()));
    match used {
        FactorUse::RecoveryCode { .. } => {
            let ((), ()) = tokio::join!(signed_in, record(store, event(ActivityType::RecoveryCodeUsed)));
        }
        FactorUse::Totp { .. } => signed_in.await,
    }
}

/// A wrong code: spends a try of the token and counts a failure at the
/// user's name, and is answered as every other failure.
async fn wrong_code<S>(store: &S, pending: &PendingSignIn, user: &User, client: &Client, now: u64) -> ApiError
where
    S: LoginAttemptStore + SecondFactorStore + ActivityStore,
{
    let address = client.source_ip.as_str();
    let failed = ActivityEvent::new(&user.id, ActivityType::SecondFactorFailed).from(client);
    let count = async {
        let standing = lockout::standing(store, &user.username, address, now).await?;
        lockout::claim(store, &user.username, address, &standing, Some(&user.id), now).await.map(drop)
    };
    let (spent, counted, ()) = tokio::join!(store.spend_sign_in_try(pending), count, record(store, failed));
    if let Err(err) = spent {
        tracing::warn!(error = %err, user_id = %user.id, "a wrong second factor code did not spend a try");
    }
    match counted {
        Ok(()) => {}
        Err(LockoutError::Locked { retry_after }) => {
            // Locked already: the token's tries still bound the guesses.
            tracing::info!(source_ip = address, user_id = %user.id, retry_after, "code check refused: locked");
        }
        Err(err) => tracing::warn!(error = %err, user_id = %user.id, "a wrong second factor code was not counted"),
    }
    tracing::info!(user_id = %user.id, "second factor code refused at login");
    ApiError::InvalidFactorCode
}
