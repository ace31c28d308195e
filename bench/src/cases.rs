//! The cases: each binary the benchmark runs, the events it is fed, what its
//! warm time is set against and the targets it is judged by. hello is the
//! reference every function's init is set against; its role says so.

use std::fmt;
use std::time::{Duration, Instant};

use user_auth_core::clock::{Clock, SystemClock};
use user_auth_core::domain::{Ceremony, CeremonyKey, CodePurpose, UserId, Username};
use user_auth_core::store::dynamodb::DynamoStore;
use user_auth_core::store::{
    ActivityStore, CredentialStore, EmailStore, PasskeyStore, RecoveryStore, SessionStore, UserStore,
};
use user_auth_core::tokens::refresh::RefreshToken;
use user_auth_core::tokens::TokenIssuer;

use crate::floors::Floor;
use crate::measure::Settings;
use crate::setup::{password_change, Sessions};
use crate::{workspace, BoxError, PASSWORD};

pub struct Case<'a> {
    /// The binary's name, in `target/release` and `target/lambda`.
    pub name: &'static str,
    /// What every response must be.
    pub expected: Expected,
    pub warm_runs: usize,
    pub role: Role,
    /// Makes the next event: some must differ per call, and some run out.
    events: Box<dyn FnMut() -> Result<String, BoxError> + 'a>,
}

impl Case<'_> {
    pub fn next_event(&mut self) -> Result<String, BoxError> {
        (self.events)()
    }

    /// What its warm time is set against; none for the reference.
    pub fn judge(&self) -> Option<Judge> {
        match self.role {
            Role::Reference => None,
            Role::Function { judge, .. } => Some(judge),
        }
    }
}

/// What a response must be: an HTTP answer of this status, or the
/// authorizer's letting the caller in.
#[derive(Clone, Copy, Debug)]
pub enum Expected {
    Status(u16),
    Authorized,
    /// A JSON error of this status and code.
    Refused {
        status: u16,
        code: &'static str,
    },
    /// The authorizer's keeping the caller out.
    Denied,
}

impl Expected {
    pub fn is_met_by(self, response: &serde_json::Value) -> bool {
        match self {
            Expected::Status(status) => response["statusCode"] == status,
            Expected::Authorized => response["isAuthorized"] == true,
            Expected::Refused { status, code } => {
                let body = response["body"].as_str().and_then(|body| serde_json::from_str(body).ok());
                let body: serde_json::Value = body.unwrap_or_default();
                response["statusCode"] == status
                    && response["headers"]["content-type"] == "application/json"
                    && body["error"]["code"] == code
            }
            Expected::Denied => *response == serde_json::json!({ "isAuthorized": false }),
        }
    }
}

pub enum Role {
    /// What Lambda's own Rust runtime costs: judged by nothing itself, it is
    /// what every function's init is set against.
    Reference,
    /// A function of the service.
    Function { judge: Judge, targets: Targets },
}

/// What every function is judged by.
#[derive(Clone, Copy)]
pub struct Targets {
    /// Median init, as a multiple of hello's.
    pub init_vs_hello: Limit,
    /// Median first invocation, as a multiple of the median warm one; also
    /// applies against the instant stub.
    pub first_vs_warm: Limit,
    pub peak_rss_mib: Limit,
    /// The arm64 `bootstrap`, when it was built.
    pub artifact_mib: Limit,
}

impl Targets {
    /// The targets all functions share, with the one that differs between
    /// them: peak RSS.
    fn with_peak_rss(peak_rss_mib: Limit) -> Targets {
        Targets {
            init_vs_hello: Limit::AtMost(1.5),
            first_vs_warm: Limit::AtMost(3.0),
            peak_rss_mib,
            // Was < 4: the release profile unwinds on panic, so that a
            // panicking handler answers a JSON 500 instead of killing its
            // environment, and the unwinding tables and landing pads it
            // keeps take the artifacts to about 4.3 MiB.
            artifact_mib: Limit::Below(5.0),
        }
    }
}

/// A bound on a measured figure. It shows as "≤ 1.5" or "< 64", so the
/// report's wording and its verdict come from the same number.
#[derive(Clone, Copy)]
pub enum Limit {
    AtMost(f64),
    Below(f64),
}

impl Limit {
    pub fn is_met(self, measured: f64) -> bool {
        match self {
            Limit::AtMost(limit) => measured <= limit,
            Limit::Below(limit) => measured < limit,
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Limit::AtMost(limit) => write!(f, "≤ {limit}"),
            Limit::Below(limit) => write!(f, "< {limit}"),
        }
    }
}

/// How a function's warm time is judged.
#[derive(Clone, Copy)]
pub enum Judge {
    /// Against a floor measured between its own invocations; the limit is on
    /// the ratio of medians.
    Floor { floor: Floor, warm_vs_floor: Limit },
    /// By its time beyond DynamoDB, measured against the instant stub; the
    /// limit is on that time's p99, in ms.
    OwnTime { calls: StubCalls, own_p99_ms: Limit },
    /// Against another function's warm invocations, measured in the same run
    /// in that function's own warm phase; the limit is on the ratio of medians.
    Peer { peer: &'static str, warm_vs_peer: Limit },
}

impl Judge {
    /// Median warm invocation at most 1.15 × `floor`'s median.
    fn by_floor(floor: Floor) -> Judge {
        Judge::Floor { floor, warm_vs_floor: Limit::AtMost(1.15) }
    }

    /// Own time, beyond `calls` against the instant stub, under 0.5 ms at p99.
    fn by_own_time(calls: StubCalls) -> Judge {
        Judge::OwnTime { calls, own_p99_ms: Limit::Below(0.5) }
    }

    /// Median warm invocation at most 1.2 × `peer`'s.
    fn by_peer(peer: &'static str) -> Judge {
        Judge::Peer { peer, warm_vs_peer: Limit::AtMost(1.2) }
    }
}

/// The DynamoDB calls of one warm invocation, made by the harness against
/// the instant stub between the function's own invocations against it,
/// through the service's own store.
#[derive(Clone, Copy)]
pub enum StubCalls {
    /// get-user: the caller's session and its user read at once; the profile
    /// asked for is the caller's own, so no third read.
    TwoConcurrentGets,
    /// logout and revoke-session: the caller's session and its user read at
    /// once, then a session deleted.
    TwoConcurrentGetsThenDelete,
    /// list-sessions: the user's sessions queried (the caller's among them)
    /// and the user read, at once.
    QueryAndGet,
    /// list-activity: the caller's session and user read and the user's
    /// events queried, at once.
    TwoConcurrentGetsAndQuery,
    /// verify-email, asked with a code its caller was never sent: the
    /// caller's session and user read at once, then the pending code.
    TwoConcurrentGetsThenGet,
    /// start-recovery, for a name no account has: the address's request
    /// counted (the lookup runs after the answer).
    OneUpdate,
    /// confirm-recovery, for a name no account has: the name's credentials read.
    OneGet,
    /// jwks and pages: none; they answer from their environment and their files.
    Nothing,
    /// list-passkeys: the caller's session and user read at once, then the
    /// user's passkeys queried.
    TwoConcurrentGetsThenQuery,
    /// register-passkey's options: the caller's session and user read at
    /// once, the user's passkeys queried (to exclude them), then the
    /// ceremony's state put.
    TwoConcurrentGetsThenQueryAndPut,
    /// login-with-passkey's options: the ceremony's state put.
    OnePut,
}

impl StubCalls {
    /// The calls, naming `session`'s keys; the stub answers whatever the keys.
    pub async fn run(self, stub: &DynamoStore, session: &RefreshToken) -> Result<Duration, BoxError> {
        let (user_id, id) = (&session.user_id, &session.session_id);
        let start = Instant::now();
        match self {
            StubCalls::TwoConcurrentGets => {
                tokio::try_join!(stub.session(user_id, id), stub.get_user(user_id))?;
            }
            StubCalls::TwoConcurrentGetsThenDelete => {
                tokio::try_join!(stub.session(user_id, id), stub.get_user(user_id))?;
                stub.end_session(user_id, id).await?;
            }
            StubCalls::QueryAndGet => {
                tokio::try_join!(stub.sessions(user_id), stub.get_user(user_id))?;
            }
            StubCalls::TwoConcurrentGetsAndQuery => {
                tokio::try_join!(stub.session(user_id, id), stub.get_user(user_id), stub.activity(user_id, 50, None))?;
            }
            StubCalls::TwoConcurrentGetsThenGet => {
                tokio::try_join!(stub.session(user_id, id), stub.get_user(user_id))?;
                stub.pending_code(user_id, CodePurpose::VerifyEmail).await?;
            }
            StubCalls::OneUpdate => {
                stub.count_recovery("203.0.113.10", 0, 3600, 100_000).await?;
            }
            StubCalls::OneGet => {
                stub.credentials(&Username::parse(UNKNOWN_NAME)?).await?;
            }
            StubCalls::Nothing => {}
            StubCalls::TwoConcurrentGetsThenQuery => {
                tokio::try_join!(stub.session(user_id, id), stub.get_user(user_id))?;
                stub.passkeys(user_id).await?;
            }
            StubCalls::TwoConcurrentGetsThenQueryAndPut => {
                tokio::try_join!(stub.session(user_id, id), stub.get_user(user_id))?;
                stub.passkeys(user_id).await?;
                stub.put_ceremony(&bench_ceremony(user_id)).await?;
            }
            StubCalls::OnePut => stub.put_ceremony(&bench_ceremony(user_id)).await?,
        }
        Ok(start.elapsed())
    }
}

/// A ceremony's state as the passkey functions put it: what the stub is
/// sent, whatever it holds.
fn bench_ceremony(user_id: &UserId) -> Ceremony {
    Ceremony::new(CeremonyKey::Registration(user_id.clone()), "{}".to_owned(), 0)
}

/// The functions' fixture events, filled in for the benchmark's user; the
/// tokens and session ids are filled in per event.
pub struct Events {
    get_user: String,
    jwks: String,
    pages: String,
    list_passkeys: String,
    passkey_registration_options: String,
    passkey_sign_in_options: String,
    authorize: String,
    create_user: String,
    login: String,
    logout: String,
    refresh: String,
    list_sessions: String,
    list_activity: String,
    revoke_session: String,
    change_password: String,
    delete_user: String,
    verify_email: String,
    change_email: String,
    start_recovery: String,
    confirm_recovery: String,
    enrol_totp: String,
    confirm_totp: String,
    remove_totp: String,
    new_recovery_codes: String,
    verify_mfa: String,
}

/// A name no account has: what the recovery cases ask for.
pub const UNKNOWN_NAME: &str = "nobody-of-the-bench";

impl Events {
    pub fn load(user_id: &UserId) -> Result<Self, BoxError> {
        let fixture =
            |name: &str| std::fs::read_to_string(workspace().join(format!("functions/{name}/fixtures/{name}.json")));
        Ok(Events {
            get_user: fixture("get-user")?.replace("{{id}}", user_id.as_str()),
            jwks: fixture("jwks")?,
            pages: fixture("pages")?,
            list_passkeys: fixture("list-passkeys")?,
            passkey_registration_options: std::fs::read_to_string(
                workspace().join("functions/register-passkey/fixtures/registration-options.json"),
            )?,
            passkey_sign_in_options: std::fs::read_to_string(
                workspace().join("functions/login-with-passkey/fixtures/passkey-options.json"),
            )?,
            authorize: fixture("authorize")?,
            create_user: fixture("create-user")?,
            login: fixture("login")?.replace("{{password}}", PASSWORD),
            logout: fixture("logout")?,
            refresh: fixture("refresh")?,
            list_sessions: fixture("list-sessions")?,
            list_activity: fixture("list-activity")?,
            revoke_session: fixture("revoke-session")?,
            change_password: fixture("change-password")?,
            delete_user: fixture("delete-user")?.replace("{{password}}", PASSWORD),
            verify_email: fixture("verify-email")?.replace("{{code}}", "00000000"),
            // A malformed address: refused once the caller is authenticated.
            change_email: fixture("change-email")?
                .replace("{{email}}", "not an address")
                .replace("{{password}}", PASSWORD),
            start_recovery: fixture("start-recovery")?.replace("{{username}}", UNKNOWN_NAME),
            confirm_recovery: fixture("confirm-recovery")?
                .replace("{{username}}", UNKNOWN_NAME)
                .replace("{{code}}", "00000000")
                .replace("{{new_password}}", "another long passphrase"),
            enrol_totp: fixture("enrol-totp")?.replace("{{password}}", PASSWORD),
            confirm_totp: fixture("confirm-totp")?.replace("{{code}}", "000000"),
            remove_totp: fixture("remove-totp")?.replace("{{password}}", PASSWORD).replace("{{code}}", "000000"),
            new_recovery_codes: fixture("new-recovery-codes")?.replace("{{code}}", "000000"),
            // A well-formed token no login answered: refused once its reads are in.
            verify_mfa: fixture("verify-mfa")?
                .replace("{{mfa_token}}", &format!("{}.{}", UserId::new_random(), "A".repeat(43)))
                .replace("{{code}}", "000000"),
        })
    }
}

/// An event each function must refuse, and how: a bad token, bad
/// credentials or a bad body. The key set refuses only a caller that did not
/// come through the deployment's CloudFront: its event is sent without the
/// origin's headers (`false`).
pub fn refusal(name: &str, events: &Events) -> Result<(String, Expected, bool), BoxError> {
    let bad_token = |fixture: &str| {
        let event =
            fixture.replace("{{token}}", "not-a-token").replace("{{id}}", "00000000-0000-4000-8000-000000000000");
        event.replace("{{password}}", PASSWORD).replace("{{new_password}}", "another long passphrase")
    };
    let invalid_token = Expected::Refused { status: 401, code: "invalid_token" };
    Ok(match name {
        "create-user" => {
            let event = events.create_user.replace(r#"\"username\":\"Alice\""#, r#"\"username\":\"!\""#);
            (event, Expected::Refused { status: 400, code: "invalid_username" }, true)
        }
        "login" => {
            let event = events.login.replace(PASSWORD, "a wrong password, surely");
            (event, Expected::Refused { status: 401, code: "invalid_credentials" }, true)
        }
        "refresh" => {
            let event = events.refresh.replace("{{refresh_token}}", "not-a-refresh-token");
            (event, Expected::Refused { status: 401, code: "invalid_refresh_token" }, true)
        }
        "jwks" => (events.jwks.clone(), Expected::Refused { status: 403, code: "forbidden" }, false),
        "pages" => (events.pages.clone(), Expected::Refused { status: 403, code: "forbidden" }, false),
        "list-passkeys" => (bad_token(&events.list_passkeys), invalid_token, true),
        "register-passkey" => (bad_token(&events.passkey_registration_options), invalid_token, true),
        "login-with-passkey" => {
            let event = events.passkey_sign_in_options.clone();
            (event, Expected::Refused { status: 403, code: "forbidden" }, false)
        }
        "authorize" => (bad_token(&events.authorize), Expected::Denied, true),
        "get-user" => (bad_token(&events.get_user), invalid_token, true),
        "logout" => (bad_token(&events.logout), invalid_token, true),
        "list-sessions" => (bad_token(&events.list_sessions), invalid_token, true),
        "list-activity" => (bad_token(&events.list_activity), invalid_token, true),
        "revoke-session" => (bad_token(&events.revoke_session), invalid_token, true),
        "change-password" => (bad_token(&events.change_password), invalid_token, true),
        "delete-user" => (bad_token(&events.delete_user), invalid_token, true),
        "verify-email" => (bad_token(&events.verify_email), invalid_token, true),
        "change-email" => (bad_token(&events.change_email), invalid_token, true),
        "start-recovery" => {
            let event =
                events.start_recovery.replace(&format!(r#"\"username\":\"{UNKNOWN_NAME}\""#), r#"\"username\":\"!\""#);
            (event, Expected::Refused { status: 400, code: "invalid_username" }, true)
        }
        "enrol-totp" => (bad_token(&events.enrol_totp), invalid_token, true),
        "confirm-totp" => (bad_token(&events.confirm_totp), invalid_token, true),
        "remove-totp" => (bad_token(&events.remove_totp), invalid_token, true),
        "new-recovery-codes" => (bad_token(&events.new_recovery_codes), invalid_token, true),
        "verify-mfa" => {
            let event = events.verify_mfa.replace("\\\"mfa_token\\\":\\\"", "\\\"mfa_token\\\":\\\"x");
            (event, Expected::Refused { status: 401, code: "invalid_code" }, true)
        }
        "confirm-recovery" => {
            let event = events
                .confirm_recovery
                .replace(&format!(r#"\"username\":\"{UNKNOWN_NAME}\""#), r#"\"username\":\"!\""#);
            (event, Expected::Refused { status: 400, code: "invalid_username" }, true)
        }
        other => return Err(format!("no refusal is known for {other}").into()),
    })
}

/// `fixture` with a new access token of `session` in its authorization
/// header: issued per event, so that none expires however long the run.
fn authorized(fixture: &str, issuer: &TokenIssuer, session: &RefreshToken) -> Result<String, BoxError> {
    let token = issuer.issue(&session.user_id, &session.session_id, SystemClock.now())?.access_token;
    Ok(fixture.replace("{{token}}", &token))
}

/// The next of a case's sessions, one per event, as the invocation ends or
/// renews it.
fn one_per_event(name: &'static str, sessions: Vec<RefreshToken>) -> impl FnMut() -> Result<RefreshToken, BoxError> {
    let mut sessions = sessions.into_iter();
    move || sessions.next().ok_or_else(|| format!("{name}: the sessions started for its events ran out").into())
}

/// hello, then the functions: the order cold starts go round them in, and
/// the order of the report's rows.
pub fn all<'a>(events: &'a Events, issuer: &'a TokenIssuer, sessions: Sessions, settings: &Settings) -> Vec<Case<'a>> {
    let Settings { warm_runs, argon2_warm_runs: argon2_runs, .. } = *settings;
    let Sessions { reader, lister, to_log_out, to_refresh, revoker, to_revoke, changer, to_delete, factor_holder } =
        sessions;
    let verifier = lister.clone();
    // argon2id's 19 MiB of working memory sets the argon2 functions apart.
    let argon2_targets = Targets::with_peak_rss(Limit::Below(64.0));
    let targets = Targets::with_peak_rss(Limit::Below(32.0));
    // The authorizer is asked about get-user's reader, as a route of another service would be.
    let authorizer_reader = reader.clone();
    let (passkey_lister, passkey_registrant) = (reader.clone(), reader.clone());
    let get_user = move || authorized(&events.get_user, issuer, &reader);
    let jwks = move || Ok(events.jwks.clone());
    let pages = move || Ok(events.pages.clone());
    // Their options only: the second steps need a browser's answer to a
    // ceremony, which the benchmark cannot make per invocation.
    let list_passkeys = move || authorized(&events.list_passkeys, issuer, &passkey_lister);
    let register_passkey = move || authorized(&events.passkey_registration_options, issuer, &passkey_registrant);
    let login_with_passkey = move || Ok(events.passkey_sign_in_options.clone());
    let authorize = move || authorized(&events.authorize, issuer, &authorizer_reader);
    // A new username each time, as a taken one is refused.
    let new_user = move || {
        let username = format!("b{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
        Ok(events.create_user.replace(r#"\"username\":\"Alice\""#, &format!(r#"\"username\":\"{username}\""#)))
    };
    let login = move || Ok(events.login.clone());
    // A session of its own each time, as logout ends it.
    let mut to_log_out = one_per_event("logout", to_log_out);
    let logout = move || authorized(&events.logout, issuer, &to_log_out()?);
    // A new session's token each time, as a refresh spends it.
    let mut to_refresh = one_per_event("refresh", to_refresh);
    let refresh = move || Ok(events.refresh.replace("{{refresh_token}}", &to_refresh()?.encode()));
    let activity_reader = lister.clone();
    let list_sessions = move || authorized(&events.list_sessions, issuer, &lister);
    let list_activity = move || authorized(&events.list_activity, issuer, &activity_reader);
    // Another live session of the caller's user each time, as it ends it.
    let mut to_revoke = one_per_event("revoke-session", to_revoke);
    let revoke_session = move || {
        let id = to_revoke()?.session_id;
        Ok(authorized(&events.revoke_session, issuer, &revoker)?.replace("{{id}}", id.as_str()))
    };
    // The same session each time, its password changed to and back: each
    // event's current password is the one the event before set, as events
    // are made in the order they are invoked.
    let mut changes = 0;
    let change_password = move || {
        let (current, new) = password_change(changes);
        changes += 1;
        let event = authorized(&events.change_password, issuer, &changer)?;
        Ok(event.replace("{{password}}", current).replace("{{new_password}}", new))
    };
    // A user of its own each time, as the event deletes it.
    let mut to_delete = one_per_event("delete-user", to_delete);
    let delete_user = move || authorized(&events.delete_user, issuer, &to_delete()?);
    // The read path of a verification, answered with the refusal of a code
    // never sent (list-sessions' user has none).
    let email_changer = verifier.clone();
    let (factorless, factorless_too) = (verifier.clone(), verifier.clone());
    let verify_email = move || authorized(&events.verify_email, issuer, &verifier);
    let change_email = move || authorized(&events.change_email, issuer, &email_changer);
    // The second factor's routes, on the paths that refuse once the caller
    // is known: an account that has a factor cannot enrol or confirm
    // another (set against get-user: the instant stub's user has no
    // factor), and one without cannot remove one or renew its codes.
    let holder = factor_holder.clone();
    let enrol_totp = move || authorized(&events.enrol_totp, issuer, &factor_holder);
    let confirm_totp = move || authorized(&events.confirm_totp, issuer, &holder);
    let remove_totp = move || authorized(&events.remove_totp, issuer, &factorless);
    let new_recovery_codes = move || authorized(&events.new_recovery_codes, issuer, &factorless_too);
    let verify_mfa = move || Ok(events.verify_mfa.clone());
    let start_recovery = move || Ok(events.start_recovery.clone());
    let confirm_recovery = move || Ok(events.confirm_recovery.clone());
    // Answers the get-user event with a fixed response.
    let hello = get_user.clone();
    let (floor, own_time, peer) = (Judge::by_floor, Judge::by_own_time, Judge::by_peer);
    use Expected::{Authorized, Status};
    vec![
        Case { name: "hello", expected: Status(200), warm_runs, role: Role::Reference, events: Box::new(hello) },
        // name, expected status, warm runs, judge, targets, events
        function(
            "create-user",
            Status(201),
            argon2_runs,
            floor(Floor::CountHashAndTransaction),
            argon2_targets,
            new_user,
        ),
        function("get-user", Status(200), warm_runs, own_time(StubCalls::TwoConcurrentGets), targets, get_user),
        function("jwks", Status(200), warm_runs, own_time(StubCalls::Nothing), targets, jwks),
        function("pages", Status(200), warm_runs, own_time(StubCalls::Nothing), targets, pages),
        function(
            "list-passkeys",
            Status(200),
            warm_runs,
            own_time(StubCalls::TwoConcurrentGetsThenQuery),
            targets,
            list_passkeys,
        ),
        function(
            "register-passkey",
            Status(200),
            warm_runs,
            own_time(StubCalls::TwoConcurrentGetsThenQueryAndPut),
            targets,
            register_passkey,
        ),
        function(
            "login-with-passkey",
            Status(200),
            warm_runs,
            own_time(StubCalls::OnePut),
            targets,
            login_with_passkey,
        ),
        function("authorize", Authorized, warm_runs, own_time(StubCalls::TwoConcurrentGets), targets, authorize),
        function("login", Status(200), argon2_runs, floor(Floor::CheckAndPut), argon2_targets, login),
        function("logout", Status(204), warm_runs, own_time(StubCalls::TwoConcurrentGetsThenDelete), targets, logout),
        function("refresh", Status(200), warm_runs, peer("get-user"), targets, refresh),
        function("list-sessions", Status(200), warm_runs, own_time(StubCalls::QueryAndGet), targets, list_sessions),
        function(
            "list-activity",
            Status(200),
            warm_runs,
            own_time(StubCalls::TwoConcurrentGetsAndQuery),
            targets,
            list_activity,
        ),
        function(
            "revoke-session",
            Status(204),
            warm_runs,
            own_time(StubCalls::TwoConcurrentGetsThenDelete),
            targets,
            revoke_session,
        ),
        function(
            "change-password",
            Status(204),
            argon2_runs,
            floor(Floor::ReadCheckHashAndChange),
            argon2_targets,
            change_password,
        ),
        function(
            "delete-user",
            Status(204),
            argon2_runs,
            floor(Floor::ReadCheckAndDelete),
            argon2_targets,
            delete_user,
        ),
        function(
            "verify-email",
            Expected::Refused { status: 400, code: "invalid_code" },
            warm_runs,
            own_time(StubCalls::TwoConcurrentGetsThenGet),
            targets,
            verify_email,
        ),
        function(
            "change-email",
            Expected::Refused { status: 400, code: "invalid_email" },
            warm_runs,
            own_time(StubCalls::TwoConcurrentGets),
            argon2_targets,
            change_email,
        ),
        function("start-recovery", Status(202), warm_runs, own_time(StubCalls::OneUpdate), targets, start_recovery),
        function(
            "confirm-recovery",
            Expected::Refused { status: 400, code: "invalid_code" },
            warm_runs,
            own_time(StubCalls::OneGet),
            argon2_targets,
            confirm_recovery,
        ),
        function(
            "enrol-totp",
            Expected::Refused { status: 409, code: "mfa_already_enabled" },
            warm_runs,
            peer("get-user"),
            argon2_targets,
            enrol_totp,
        ),
        function(
            "confirm-totp",
            Expected::Refused { status: 409, code: "mfa_already_enabled" },
            warm_runs,
            peer("get-user"),
            targets,
            confirm_totp,
        ),
        function(
            "remove-totp",
            Expected::Refused { status: 409, code: "mfa_not_enabled" },
            warm_runs,
            own_time(StubCalls::TwoConcurrentGets),
            argon2_targets,
            remove_totp,
        ),
        function(
            "new-recovery-codes",
            Expected::Refused { status: 409, code: "mfa_not_enabled" },
            warm_runs,
            own_time(StubCalls::TwoConcurrentGets),
            targets,
            new_recovery_codes,
        ),
        function(
            "verify-mfa",
            Expected::Refused { status: 401, code: "invalid_code" },
            warm_runs,
            peer("get-user"),
            targets,
            verify_mfa,
        ),
    ]
}

/// The floor of the first request (`dynamodb-floor`), a reference like
/// hello: it answers any event, so it is fed get-user's fixture as is.
pub fn dynamodb_floor(events: &Events, warm_runs: usize) -> Case<'_> {
    let event = move || Ok(events.get_user.clone());
    Case {
        name: "dynamodb-floor",
        expected: Expected::Status(200),
        warm_runs,
        role: Role::Reference,
        events: Box::new(event),
    }
}

/// A function of the service, judged by `judge` and held to `targets`.
fn function<'a>(
    name: &'static str,
    expected: Expected,
    warm_runs: usize,
    judge: Judge,
    targets: Targets,
    events: impl FnMut() -> Result<String, BoxError> + 'a,
) -> Case<'a> {
    Case { name, expected, warm_runs, role: Role::Function { judge, targets }, events: Box::new(events) }
}
