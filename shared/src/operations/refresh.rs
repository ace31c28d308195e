use crate::domain::{ActivityEvent, ActivityType, Client, Presented, RefreshHash, Rotation, Session, SessionLifetime};
use crate::store::{ActivityStore, SessionStore, UserStore};
use crate::tokens::refresh::{RefreshKey, RefreshToken};
use crate::tokens::TokenIssuer;
use crate::ApiError;

use super::{record, IssuedSession};

/// How refreshes renew sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshPolicy {
    pub lifetime: SessionLifetime,
    /// Seconds during which a spent token still gets the current one.
    pub reuse_grace: u64,
}

/// The longest lineage searched for a reused token's ancestry: a refresh
/// every 15 minutes for a month, the default session lifetime; each step
/// costs one HMAC, about a microsecond. An older ancestor is refused without
/// ending the session.
const LONGEST_LINEAGE: u64 = 4 * 24 * 31;

/// Exchanges a refresh token for a new access token and the session's next
/// refresh token (OAuth 2.0 Security BCP, RFC 9700, 4.14.2):
///
/// - the current token rotates: it is spent, its successor is current;
/// - the token spent last, again within the grace interval, is a concurrent
///   refresh or a retry: it gets the current token, the very one the first
///   refresh returned, so the session keeps one lineage and nobody is logged
///   out;
/// - a spent token later, or any older token of the lineage, is theft: the
///   session ends, and every token it issued with it;
/// - anything else is refused, and ends nothing (a wrong secret beside a
///   known session id must not let anyone end a stranger's session).
///
/// A session whose user is gone (deleted while a login raced the deletion),
/// or that was opened with a password since changed, renews nothing, and is
/// ended. Never runs argon2 and never touches the
/// lockout.
///
/// The user's activity records a session's first refresh (one write after
/// the rotation, once in the session's life; every later refresh writes
/// nothing more) and the theft of its tokens.
pub async fn refresh<S>(
    sessions: &S,
    issuer: &TokenIssuer,
    key: &RefreshKey,
    policy: RefreshPolicy,
    now: u64,
    raw_token: &str,
    client: &Client,
) -> Result<IssuedSession, ApiError>
where
    S: SessionStore + UserStore + ActivityStore,
{
    let token = RefreshToken::parse(raw_token).ok_or(ApiError::InvalidRefreshToken)?;
    let (presented, next) = (token.hash(), key.successor(&token));
    // The usual case, the current token, in one conditional write.
    let rotation = Rotation {
        user_id: token.user_id.clone(),
        session_id: token.session_id.clone(),
        spent: presented.clone(),
        next: next.hash(),
        at: now,
        idle: policy.lifetime.idle,
    };
    // The user is read at the same time: one round trip of latency.
    let (rotated, user) = tokio::join!(sessions.rotate(&rotation), sessions.get_user(&token.user_id));
    let rotated = rotated?;
    let Some(user) = user? else {
        // Ended only when the rotation proved the token genuine: the ids
        // alone, which any access token shows, must not end a session.
        if rotated.is_some() {
            tracing::warn!(session_id = %token.session_id, "refresh of a deleted user's session: ending it");
            sessions.end_session(&token.user_id, &token.session_id).await?;
        }
        return Err(ApiError::InvalidRefreshToken);
    };
    if user.disabled.is_some() {
        tracing::info!(session_id = %token.session_id, "refresh of a disabled account's session");
        return Err(ApiError::InvalidRefreshToken);
    }
    let generation = user.credential_generation;
    if let Some(rotated) = rotated {
        if !rotated.is_left_behind(generation) {
            if rotated.generation == 1 {
                let first = ActivityEvent::new(&user.id, ActivityType::SessionRefreshed).from(client);
                record(sessions, first.in_session(&rotated.id)).await;
            }
            return issue(issuer, &next, &rotated, now);
        }
        // Rotated before a password change its user was read after: the
        // session the change kept has moved along since; one it left behind
        // has not, and never will.
        let now_stored = sessions.session(&rotated.user_id, &rotated.id).await?;
        if let Some(kept) = now_stored.filter(|session| !session.is_left_behind(generation)) {
            return issue(issuer, &next, &kept, now);
        }
        tracing::info!(session_id = %rotated.id, "refresh of a session from before a password change: ending it");
        sessions.end_session(&rotated.user_id, &rotated.id).await?;
        return Err(ApiError::InvalidRefreshToken);
    }
    // Not the current token, or the session has ended: read it and judge.
    let session = sessions.session(&token.user_id, &token.session_id).await?;
    // Read after its user: a session behind it now is left behind for good.
    let live = |session: &Session| session.is_active(now) && !session.is_left_behind(generation);
    let session = session.filter(live).ok_or(ApiError::InvalidRefreshToken)?;
    match session.judge(&presented, now, policy.reuse_grace) {
        // The write found another token current, the read this one: the
        // lineage never goes back, so only a store that changed in between
        // could say so. A retry will see it settled.
        Presented::Current => Err(ApiError::ServiceUnavailable("the session changed under this refresh".into())),
        Presented::JustSpent => match descendant_matching(key, &token, &session, |hash| *hash == session.current) {
            Some(current) => issue(issuer, &current, &session, now),
            None => Err(ApiError::InvalidRefreshToken),
        },
        Presented::SpentLongAgo => end_stolen(sessions, &session, client).await,
        Presented::Unknown => {
            let is_known = |hash: &RefreshHash| {
                *hash == session.current || session.previous.as_ref().is_some_and(|(spent, _)| spent == hash)
            };
            match descendant_matching(key, &token, &session, is_known) {
                Some(_) => end_stolen(sessions, &session, client).await,
                None => Err(ApiError::InvalidRefreshToken),
            }
        }
    }
}

/// The first successor of `token`, within the session's lineage, whose hash
/// passes `wanted`.
fn descendant_matching(
    key: &RefreshKey,
    token: &RefreshToken,
    session: &Session,
    wanted: impl Fn(&RefreshHash) -> bool,
) -> Option<RefreshToken> {
    let mut candidate = token.clone();
    for _ in 0..=session.generation.min(LONGEST_LINEAGE) {
        candidate = key.successor(&candidate);
        if wanted(&candidate.hash()) {
            return Some(candidate);
        }
    }
    None
}

/// A spent token came back after its grace interval: someone else holds the
/// session's tokens. End it, so the newest refresh token and every access
/// token of the session stop working at once.
async fn end_stolen<S>(sessions: &S, session: &Session, client: &Client) -> Result<IssuedSession, ApiError>
where
    S: SessionStore + ActivityStore,
{
    // Logged first: the event must not be lost if ending the session fails.
    tracing::warn!(
        security_event = "refresh_token_reuse",
        user_id = %session.user_id,
        session_id = %session.id,
        "a spent refresh token was presented after its grace interval: ending the session"
    );
    let reused = ActivityEvent::new(&session.user_id, ActivityType::RefreshTokenReused).from(client);
    let (ended, ()) = tokio::join!(
        sessions.end_session(&session.user_id, &session.id),
        record(sessions, reused.in_session(&session.id))
    );
    ended?;
    Err(ApiError::InvalidRefreshToken)
}

/// An access token that ends with the session at the latest, and `refresh`.
fn issue(issuer: &TokenIssuer, refresh: &RefreshToken, session: &Session, now: u64) -> Result<IssuedSession, ApiError> {
    let access = issuer.issue_for(session, now)?;
    Ok(IssuedSession { access, refresh_token: refresh.encode() })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::domain::{Client, SessionId, User, Username};
    use crate::operations::authenticate;
    use crate::passwords::PasswordHash;
    use crate::store::memory::MemoryStore;
    use crate::test_support::{TestKeys, LIFETIME};

    const POLICY: RefreshPolicy = RefreshPolicy { lifetime: LIFETIME, reuse_grace: 10 };
    const START: u64 = 1_800_000_000;

    struct Setup {
        store: MemoryStore,
        keys: TestKeys,
        key: RefreshKey,
        first: String,
    }

    async fn setup() -> Setup {
        let store = MemoryStore::default();
        let keys = TestKeys::generate();
        let key = RefreshKey::from_signing_key_pem(&keys.pair.private_key_pem).unwrap();
        let user = User::new(Username::parse("rita").unwrap());
        store.create_user(&user, &PasswordHash::from_phc("$argon2id$not-checked-here".into())).await.unwrap();
        let token = RefreshToken::first(user.id.clone(), SessionId::new_random()).unwrap();
        let session = Session::start(
            token.session_id.clone(),
            token.user_id.clone(),
            Client::default(),
            token.hash(),
            LIFETIME,
            START,
        );
        store.create_session(&session).await.unwrap();
        Setup { store, keys, key, first: token.encode() }
    }

    impl Setup {
        async fn refresh(&self, token: &str, now: u64) -> Result<IssuedSession, ApiError> {
            refresh(&self.store, &self.keys.issuer(), &self.key, POLICY, now, token, &Client::default()).await
        }

        async fn session_alive(&self, access_token: &str, now: u64) -> bool {
            authenticate(&self.store, &self.keys.verifier(), now, access_token).await.is_ok()
        }
    }

    fn refused(result: Result<IssuedSession, ApiError>) -> bool {
        matches!(result, Err(ApiError::InvalidRefreshToken))
    }

    #[tokio::test]
    async fn a_refresh_rotates_and_spends_the_token() {
        let s = setup().await;
        let first = s.refresh(&s.first, START + 60).await.unwrap();
        assert_ne!(first.refresh_token, s.first);
        assert!(s.session_alive(&first.access.access_token, START + 60).await);
        let second = s.refresh(&first.refresh_token, START + 120).await.unwrap();
        assert_ne!(second.refresh_token, first.refresh_token);
        assert!(s.session_alive(&second.access.access_token, START + 120).await);
    }

    #[tokio::test]
    async fn a_spent_token_within_the_grace_gets_the_current_one() {
        let s = setup().await;
        let first = s.refresh(&s.first, START + 60).await.unwrap();
        let retry = s.refresh(&s.first, START + 70).await.unwrap();
        assert_eq!(retry.refresh_token, first.refresh_token, "one lineage");
        // The lineage goes on from the one current token.
        let next = s.refresh(&retry.refresh_token, START + 80).await.unwrap();
        assert!(s.session_alive(&next.access.access_token, START + 80).await);
    }

    #[tokio::test]
    async fn a_spent_token_after_the_grace_ends_the_session() {
        let s = setup().await;
        let first = s.refresh(&s.first, START + 60).await.unwrap();
        assert!(refused(s.refresh(&s.first, START + 71).await));
        assert!(!s.session_alive(&first.access.access_token, START + 71).await, "its access tokens die with it");
        assert!(refused(s.refresh(&first.refresh_token, START + 72).await), "and its newest refresh token");
    }

    #[tokio::test]
    async fn an_older_ancestor_is_theft_too_but_a_wrong_secret_ends_nothing() {
        let s = setup().await;
        let first = s.refresh(&s.first, START + 60).await.unwrap();
        let second = s.refresh(&first.refresh_token, START + 120).await.unwrap();
        let stranger = RefreshToken::parse(&second.refresh_token).map(|token| {
            let forged = RefreshToken::first(token.user_id.clone(), token.session_id.clone()).unwrap();
            forged.encode()
        });
        assert!(refused(s.refresh(&stranger.unwrap(), START + 130).await));
        assert!(s.session_alive(&second.access.access_token, START + 130).await, "a guess ends nothing");
        assert!(refused(s.refresh(&s.first, START + 130).await), "the grandparent");
        assert!(!s.session_alive(&second.access.access_token, START + 130).await);
    }

    #[tokio::test]
    async fn an_idle_or_expired_session_cannot_be_refreshed() {
        let s = setup().await;
        let idle = LIFETIME.idle.unwrap();
        let first = s.refresh(&s.first, START + idle - 1).await.unwrap();
        assert!(refused(s.refresh(&first.refresh_token, START + 2 * idle).await), "idle too long");
        let s = setup().await;
        let mut token = s.first.clone();
        let mut now = START;
        while now + idle / 2 < START + LIFETIME.absolute {
            now += idle / 2;
            token = s.refresh(&token, now).await.unwrap().refresh_token;
        }
        assert!(refused(s.refresh(&token, START + LIFETIME.absolute).await), "past the absolute end");
    }

    #[tokio::test]
    async fn malformed_tokens_are_refused() {
        let s = setup().await;
        for bad in ["", "not a token", &s.first[..40]] {
            assert!(refused(s.refresh(bad, START).await), "{bad:?}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_refreshes_with_one_token_all_get_the_same_next_token() {
        let s = Arc::new(setup().await);
        let refreshes: Vec<_> = (0..20)
            .map(|_| {
                let s = s.clone();
                tokio::spawn(async move { s.refresh(&s.first, START + 5).await.unwrap().refresh_token })
            })
            .collect();
        let mut tokens = Vec::new();
        for refresh in refreshes {
            tokens.push(refresh.await.unwrap());
        }
        assert!(tokens.iter().all(|token| *token == tokens[0]), "one lineage");
        assert!(s.refresh(&tokens[0], START + 6).await.is_ok());
    }
}
