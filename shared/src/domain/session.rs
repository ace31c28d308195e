//! Sessions: what a login starts, a refresh renews, and a logout ends.
//!
//! A session lives at most its absolute lifetime from login, and ends sooner
//! when it is not refreshed for its idle time. Every access token names its
//! session (`sid`), so ending the session ends its access tokens at once.
//!
//! Each session has one lineage of refresh tokens: a refresh spends the
//! current one and makes its child the current one. The session keeps the
//! hashes of the current token and of the one spent last, so that the rules
//! below can tell a concurrent refresh or a retry (the spent token again,
//! within the grace interval) from theft (a spent token, later).

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::id::uuid_id;
use super::{SignIn, UserId};

uuid_id! {
    /// A session's id: the `sid` of its access tokens.
    SessionId
}

/// How long sessions last, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLifetime {
    /// From login to the end, whatever happens.
    pub absolute: u64,
    /// Without a refresh for this long, the session ends; `None`: never.
    pub idle: Option<u64>,
}

/// When a session refreshed (or started) at `now` ends if left idle for
/// `idle` seconds; without an idle limit, at its absolute end `expires_at`.
fn idle_ends_at(idle: Option<u64>, expires_at: u64, now: u64) -> u64 {
    idle.map_or(expires_at, |idle| now.saturating_add(idle))
}

/// Who started the session, as API Gateway saw the login request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Client {
    pub user_agent: String,
    pub source_ip: String,
}

/// The SHA-256 of a refresh token's secret, hex-encoded: what is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshHash(pub String);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: SessionId,
    pub user_id: UserId,
    pub client: Client,
    /// Unix seconds.
    pub created_at: u64,
    pub last_refreshed_at: u64,
    /// The absolute end.
    pub expires_at: u64,
    /// The end if it is not refreshed before.
    pub idle_ends_at: u64,
    /// How many refreshes the lineage has had; each write checks it.
    pub generation: u64,
    /// The user's credential generation when the session was opened (or
    /// kept by a password change): a session of an older one was opened
    /// with a password that has since changed, and opens nothing.
    pub credential_generation: u64,
    pub current: RefreshHash,
    /// The token spent last, and when; none before the first refresh.
    pub previous: Option<(RefreshHash, u64)>,
    /// How it was signed in: what its access tokens' `amr` says.
    pub sign_in: SignIn,
}

/// What a presented refresh token is to its session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presented {
    /// The current token: rotate.
    Current,
    /// The token spent last, within the grace interval: a concurrent refresh
    /// or a retry. Answer with the current token, without rotating.
    JustSpent,
    /// The token spent last, after the grace interval: theft.
    SpentLongAgo,
    /// Neither: an older token of the lineage (theft) or a wrong one.
    Unknown,
}

impl Session {
    pub fn start(
        id: SessionId,
        user_id: UserId,
        client: Client,
        first: RefreshHash,
        lifetime: SessionLifetime,
        now: u64,
    ) -> Self {
        let expires_at = now.saturating_add(lifetime.absolute);
        Session {
            id,
            user_id,
            client,
            created_at: now,
            last_refreshed_at: now,
            expires_at,
            idle_ends_at: idle_ends_at(lifetime.idle, expires_at, now),
            generation: 0,
            credential_generation: 0,
            current: first,
            previous: None,
            sign_in: SignIn::Password,
        }
    }

    /// The session as opened under the user's credential generation `generation`.
    /// The session as signed in by `sign_in`.
    pub fn signed_in_by(self, sign_in: SignIn) -> Self {
        Session { sign_in, ..self }
    }

    pub fn under_credentials(self, generation: u64) -> Self {
        Session { credential_generation: generation, ..self }
    }

    /// Whether a password change has left the session behind: it was opened
    /// under a generation older than the user's `generation`. Never the case
    /// for a session read after its user (generations only move on, and a
    /// change moves the session it keeps along with the user); a session read
    /// before a change that its user was read after may show it, and is read
    /// again before it is refused.
    pub fn is_left_behind(&self, generation: u64) -> bool {
        self.credential_generation < generation
    }

    /// The end as things stand: the absolute end, or sooner if left idle.
    pub fn ends_at(&self) -> u64 {
        self.expires_at.min(self.idle_ends_at)
    }

    /// Whether the session still lets its tokens in at `now`.
    pub fn is_active(&self, now: u64) -> bool {
        now < self.ends_at()
    }

    pub fn judge(&self, presented: &RefreshHash, now: u64, reuse_grace: u64) -> Presented {
        if *presented == self.current {
            return Presented::Current;
        }
        match &self.previous {
            Some((spent, at)) if spent == presented && now <= at.saturating_add(reuse_grace) => Presented::JustSpent,
            Some((spent, _)) if spent == presented => Presented::SpentLongAgo,
            _ => Presented::Unknown,
        }
    }

    /// The session after its current token is spent at `now` for `child`;
    /// `idle` as in [`SessionLifetime`].
    pub fn rotated(&self, child: RefreshHash, idle: Option<u64>, now: u64) -> Self {
        Session {
            last_refreshed_at: now,
            idle_ends_at: idle_ends_at(idle, self.expires_at, now),
            generation: self.generation + 1,
            previous: Some((self.current.clone(), now)),
            current: child,
            ..self.clone()
        }
    }

    /// The session after `rotation`, if it applies to it.
    pub fn after(&self, rotation: &Rotation) -> Option<Session> {
        let applies = self.current == rotation.spent && self.is_active(rotation.at);
        applies.then(|| self.rotated(rotation.next.clone(), rotation.idle, rotation.at))
    }
}

/// What a refresh changes in its session, applied only if `spent` is still
/// the session's current token and the session has not ended at `at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    pub user_id: UserId,
    pub session_id: SessionId,
    pub spent: RefreshHash,
    pub next: RefreshHash,
    pub at: u64,
    /// Seconds without a refresh before the session ends; `None`: never.
    pub idle: Option<u64>,
}

/// The public JSON form of a session, for its user's list.
#[derive(Debug, serde::Serialize)]
pub struct SessionView {
    pub id: String,
    pub created_at: String,
    pub last_refreshed_at: String,
    pub expires_at: String,
    pub user_agent: String,
    pub current: bool,
}

pub(crate) fn rfc3339(unix: u64) -> String {
    let time = i64::try_from(unix).ok().and_then(|unix| OffsetDateTime::from_unix_timestamp(unix).ok());
    time.and_then(|time| time.format(&Rfc3339).ok()).unwrap_or_default()
}

impl SessionView {
    pub fn of(session: &Session, current: &SessionId) -> Self {
        SessionView {
            id: session.id.to_string(),
            created_at: rfc3339(session.created_at),
            last_refreshed_at: rfc3339(session.last_refreshed_at),
            expires_at: rfc3339(session.ends_at()),
            user_agent: session.client.user_agent.clone(),
            current: session.id == *current,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIFETIME: SessionLifetime = SessionLifetime { absolute: 30 * 86_400, idle: Some(7 * 86_400) };
    const GRACE: u64 = 10;

    fn hash(name: &str) -> RefreshHash {
        RefreshHash(name.to_owned())
    }

    fn session(now: u64) -> Session {
        Session::start(SessionId::new_random(), UserId::new_random(), Client::default(), hash("a"), LIFETIME, now)
    }

    #[test]
    fn a_session_ends_when_idle_or_at_its_absolute_end() {
        let start = 1_000_000;
        let session = session(start);
        assert_eq!(session.ends_at(), start + 7 * 86_400, "idle first");
        assert!(session.is_active(start + 7 * 86_400 - 1));
        assert!(!session.is_active(start + 7 * 86_400));
        // Refreshed every six days, it still ends 30 days after login.
        let mut refreshed = session;
        for day in (6..30).step_by(6) {
            refreshed = refreshed.rotated(hash(&format!("t{day}")), LIFETIME.idle, start + day * 86_400);
        }
        assert_eq!(refreshed.ends_at(), start + 30 * 86_400);
        assert!(!refreshed.is_active(start + 30 * 86_400));
        let no_idle = SessionLifetime { idle: None, ..LIFETIME };
        let session =
            Session::start(SessionId::new_random(), UserId::new_random(), Client::default(), hash("a"), no_idle, 5);
        assert_eq!(session.ends_at(), 5 + 30 * 86_400);
    }

    #[test]
    fn rotation_spends_the_current_token_and_keeps_when() {
        let session = session(100);
        let rotated = session.rotated(hash("b"), LIFETIME.idle, 200);
        assert_eq!(rotated.current, hash("b"));
        assert_eq!(rotated.previous, Some((hash("a"), 200)));
        assert_eq!((rotated.generation, rotated.last_refreshed_at), (1, 200));
        assert_eq!((rotated.id, rotated.created_at), (session.id, 100));
    }

    #[test]
    fn a_spent_token_is_a_retry_within_the_grace_and_theft_after() {
        let rotated = session(100).rotated(hash("b"), LIFETIME.idle, 200);
        assert_eq!(rotated.judge(&hash("b"), 205, GRACE), Presented::Current);
        assert_eq!(rotated.judge(&hash("a"), 200, GRACE), Presented::JustSpent);
        assert_eq!(rotated.judge(&hash("a"), 210, GRACE), Presented::JustSpent);
        assert_eq!(rotated.judge(&hash("a"), 211, GRACE), Presented::SpentLongAgo);
        assert_eq!(rotated.judge(&hash("z"), 205, GRACE), Presented::Unknown);
        assert_eq!(session(100).judge(&hash("z"), 100, GRACE), Presented::Unknown);
    }

    #[test]
    fn the_view_has_rfc3339_times_and_marks_the_callers_session() {
        let session = session(1_795_543_200);
        let view = SessionView::of(&session, &session.id);
        assert_eq!(view.created_at, "2026-11-24T18:00:00Z");
        assert!(view.current);
        assert!(!SessionView::of(&session, &SessionId::new_random()).current);
    }
}
