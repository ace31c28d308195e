//! `user-auth-admin`: what an operator does to accounts, with the
//! operator's own AWS credentials, so that IAM is the authorisation and
//! CloudTrail the record of the calls. It calls the service's own
//! operations (`user_auth_core::operations::operator`), never a second
//! implementation of the rules.
//!
//! ```text
//! user-auth-admin [--json] find --username NAME | --email ADDRESS
//! user-auth-admin [--json] show ID
//! user-auth-admin [--json] disable ID --reason TEXT
//! user-auth-admin [--json] enable ID
//! user-auth-admin [--json] sign-out ID
//! user-auth-admin [--json] delete ID
//! user-auth-admin [--json] events ID [--limit N]
//! ```
//!
//! Output is for people unless `--json`; the exit status is 0 on success, 1
//! when the account is not found or the service refuses, 2 for a command
//! line it does not understand.

use std::io::Write;

use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use user_auth_core::config::{vars, Env};
use user_auth_core::domain::{ActivityEvent, ActivityEventView, Session, User};
use user_auth_core::operations::operator::{self, AccountRef, AccountSummary, Operator};
use user_auth_core::sdk_settings::{SdkSettings, Service};
use user_auth_core::{startup, ApiError, BoxError};

pub const USAGE: &str = "usage: user-auth-admin [--json] COMMAND
  find --username NAME | --email ADDRESS   the account of a name or a verified address
  show ID                                  the account, its second factor, its sessions and latest events
  disable ID --reason TEXT                 no sign-in, and every token refused, at once
  enable ID                                sign-in again (old sessions stay ended)
  sign-out ID                              ends every session
  delete ID                                deletes the account, as its owner would
  events ID [--limit N]                    the account's latest N events (1 to 1000, 50 by default), newest first";

/// Why a command failed, and the exit status it ends with.
#[derive(Debug)]
pub enum AdminError {
    /// A command line the tool does not understand: exit 2.
    Usage(String),
    NotFound,
    Refused(ApiError),
    Setup(BoxError),
    Output(std::io::Error),
}

impl AdminError {
    pub fn exit_code(&self) -> u8 {
        match self {
            AdminError::Usage(_) => 2,
            _ => 1,
        }
    }
}

impl std::fmt::Display for AdminError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AdminError::Usage(what) => write!(f, "{what}\n{USAGE}"),
            AdminError::NotFound => f.write_str("no such account"),
            AdminError::Refused(err) => write!(f, "{} ({})", err, err.code()),
            AdminError::Setup(err) => write!(f, "cannot reach the service's tables: {err}"),
            AdminError::Output(err) => write!(f, "cannot write the output: {err}"),
        }
    }
}

impl From<ApiError> for AdminError {
    fn from(err: ApiError) -> Self {
        match err {
            ApiError::NotFound => AdminError::NotFound,
            other => AdminError::Refused(other),
        }
    }
}

/// A parsed command line.
#[derive(Debug)]
enum Command {
    Find(AccountRef),
    Show(String),
    Disable { id: String, reason: String },
    Enable(String),
    SignOut(String),
    Delete(String),
    Events { id: String, limit: usize },
}

fn parse(args: &[String]) -> Result<(Command, bool), AdminError> {
    let json = args.iter().any(|arg| arg == "--json");
    let args: Vec<&str> = args.iter().map(String::as_str).filter(|arg| *arg != "--json").collect();
    let usage = |what: &str| Err(AdminError::Usage(what.to_owned()));
    let command = match args.as_slice() {
        ["find", "--username", name] => Command::Find(AccountRef::Username((*name).to_owned())),
        ["find", "--email", address] => Command::Find(AccountRef::Email((*address).to_owned())),
        ["find", ..] => return usage("find takes --username NAME or --email ADDRESS"),
        ["show", id] => Command::Show((*id).to_owned()),
        ["disable", id, "--reason", reason] | ["disable", "--reason", reason, id] => {
            Command::Disable { id: (*id).to_owned(), reason: (*reason).to_owned() }
        }
        ["disable", ..] => return usage("disable takes an ID and --reason TEXT"),
        ["enable", id] => Command::Enable((*id).to_owned()),
        ["sign-out", id] => Command::SignOut((*id).to_owned()),
        ["delete", id] => Command::Delete((*id).to_owned()),
        ["events", id] => Command::Events { id: (*id).to_owned(), limit: 50 },
        ["events", id, "--limit", limit] | ["events", "--limit", limit, id] => match limit.parse() {
            Ok(limit) => Command::Events { id: (*id).to_owned(), limit },
            Err(_) => return usage("--limit takes a whole number from 1 to 1000"),
        },
        ["events", ..] => return usage("events takes an ID and optionally --limit N"),
        [] => return usage("no command"),
        [other, ..] => return usage(&format!("unknown command or arguments: {other}")),
    };
    Ok((command, json))
}

/// Runs one command line against the tables `env` names, writing what it
/// found or did to `out`.
pub async fn run(args: &[String], env: &Env, out: &mut dyn Write) -> Result<(), AdminError> {
    let (command, json) = parse(args)?;
    let sdk = SdkSettings::from_env(env).map_err(|err| AdminError::Setup(err.into()))?;
    let store = startup::dynamo_store(env, &sdk).map_err(AdminError::Setup)?;
    let now = OffsetDateTime::now_utc().unix_timestamp().max(0) as u64;
    let answer = match command {
        Command::Find(reference) => match operator::find_account(&store, &reference).await? {
            Some(user) => Answer::Account(user),
            None => return Err(AdminError::NotFound),
        },
        Command::Show(id) => Answer::Summary(operator::show_account(&store, &AccountRef::Id(id)).await?),
        Command::Disable { id, reason } => {
            let operator = operator_of(env, &sdk).await?;
            let user = operator::disable_account(&store, now, &operator, &id, &reason).await?;
            Answer::Done { action: "disabled", user, operator, sessions: None }
        }
        Command::Enable(id) => {
            let operator = operator_of(env, &sdk).await?;
            let user = operator::enable_account(&store, &operator, &id).await?;
            Answer::Done { action: "enabled", user, operator, sessions: None }
        }
        Command::SignOut(id) => {
            let operator = operator_of(env, &sdk).await?;
            let ended = operator::sign_out_everywhere(&store, &operator, &id).await?;
            let user = operator::find_account(&store, &AccountRef::Id(id)).await?.ok_or(AdminError::NotFound)?;
            Answer::Done { action: "signed out", user, operator, sessions: Some(ended) }
        }
        Command::Delete(id) => {
            let operator = operator_of(env, &sdk).await?;
            let user = operator::delete_account(&store, &operator, &id).await?;
            Answer::Done { action: "deleted", user, operator, sessions: None }
        }
        Command::Events { id, limit } => Answer::Events(operator::account_events(&store, &id, limit).await?),
    };
    let text = match json {
        true => answer.json().to_string() + "\n",
        false => answer.text(),
    };
    out.write_all(text.as_bytes()).map_err(AdminError::Output)
}

/// The operator: the caller's ARN as STS names it, or, when DynamoDB is
/// local, a placeholder that says so.
async fn operator_of(env: &Env, sdk: &SdkSettings) -> Result<Operator, AdminError> {
    if env.optional(vars::AWS_ENDPOINT_URL_DYNAMODB).is_some() {
        return Ok(Operator("local-operator (placeholder: DynamoDB is local, no AWS identity)".into()));
    }
    let sts = aws_sdk_sts::Client::new(&sdk.sdk_config(Service::Sts));
    let identity = sts.get_caller_identity().send().await.map_err(|err| AdminError::Setup(err.into()))?;
    let arn = identity.arn().ok_or_else(|| AdminError::Setup("STS named no caller".into()))?;
    Ok(Operator(arn.to_owned()))
}

enum Answer {
    Account(User),
    Summary(AccountSummary),
    Done { action: &'static str, user: User, operator: Operator, sessions: Option<usize> },
    Events(Vec<ActivityEvent>),
}

fn event_line(event: &ActivityEvent) -> String {
    let view = ActivityEventView::of(event);
    let mut line = format!("  {}  {:<24}", view.at, view.kind);
    for (name, value) in
        [("from", view.source_ip), ("session", view.session_id), ("by", view.operator), ("", view.detail)]
    {
        if let Some(value) = value {
            line += &if name.is_empty() { format!("  ({value})") } else { format!("  {name} {value}") };
        }
    }
    line + "\n"
}

fn rfc3339(unix: u64) -> String {
    OffsetDateTime::from_unix_timestamp(unix as i64).ok().and_then(|at| at.format(&Rfc3339).ok()).unwrap_or_default()
}

fn account_json(user: &User) -> Value {
    json!({
        "id": user.id.as_str(),
        "username": user.username.as_str(),
        "created_at": user.created_at_rfc3339(),
        "email": user.email.as_ref().map(|email| email.address.as_str()),
        "email_verified": user.email.as_ref().is_some_and(|email| email.verified),
        "mfa": {
            "totp": user.second_factor.is_active(),
            "recovery_codes_left": user.second_factor.recovery_codes.len(),
        },
        "disabled": user.disabled.as_ref().map(|disabled| {
            json!({ "at": rfc3339(disabled.at), "reason": disabled.reason, "by": disabled.by })
        }),
    })
}

fn session_json(session: &Session) -> Value {
    json!({
        "id": session.id.as_str(),
        "created_at": rfc3339(session.created_at),
        "last_refreshed_at": rfc3339(session.last_refreshed_at),
        "source_ip": session.client.source_ip,
        "user_agent": session.client.user_agent,
        "amr": session.sign_in.amr(),
    })
}

impl Answer {
    fn json(&self) -> Value {
        match self {
            Answer::Account(user) => account_json(user),
            Answer::Summary(summary) => {
                let mut value = account_json(&summary.user);
                value["sessions"] = summary.sessions.iter().map(session_json).collect();
                value["events"] = summary.events.iter().map(|event| json!(ActivityEventView::of(event))).collect();
                value
            }
            Answer::Done { action, user, operator, sessions } => {
                let mut value = json!({ "action": action, "account": account_json(user), "operator": operator.0 });
                if let Some(ended) = sessions {
                    value["sessions_ended"] = json!(ended);
                }
                value
            }
            Answer::Events(events) => json!({ "events": events.iter().map(ActivityEventView::of).collect::<Vec<_>>() }),
        }
    }

    fn text(&self) -> String {
        let account = |user: &User| {
            let mut lines = vec![
                format!("id:         {}", user.id),
                format!("username:   {}", user.username.as_str()),
                format!("created:    {}", user.created_at_rfc3339()),
            ];
            if let Some(email) = &user.email {
                let state = if email.verified { "verified" } else { "not verified" };
                lines.push(format!("email:      {} ({state})", email.address.as_str()));
            }
            let factor = &user.second_factor;
            lines.push(match factor.is_active() {
                true => format!("2nd factor: TOTP, {} recovery codes left", factor.recovery_codes.len()),
                false => "2nd factor: none".to_owned(),
            });
            if let Some(disabled) = &user.disabled {
                let (at, by, reason) = (rfc3339(disabled.at), &disabled.by, &disabled.reason);
                lines.push(format!("DISABLED:   since {at} by {by}: {reason}"));
            }
            lines.join("\n") + "\n"
        };
        match self {
            Answer::Account(user) => account(user),
            Answer::Summary(summary) => {
                let mut text = account(&summary.user);
                text += &format!("sessions:   {}\n", summary.sessions.len());
                for session in &summary.sessions {
                    text += &format!(
                        "  {}  since {}  last {}  {} {:?}  {}\n",
                        session.id,
                        rfc3339(session.created_at),
                        rfc3339(session.last_refreshed_at),
                        session.client.source_ip,
                        session.client.user_agent,
                        session.sign_in.as_str(),
                    );
                }
                text += &format!("latest events ({} at most):\n", operator::RECENT_EVENTS);
                text.extend(summary.events.iter().map(event_line));
                text
            }
            Answer::Events(events) if events.is_empty() => "no events\n".to_owned(),
            Answer::Events(events) => events.iter().map(event_line).collect(),
            Answer::Done { action, user, operator, sessions } => {
                let ended = sessions.map(|ended| format!(" ({ended} sessions ended)")).unwrap_or_default();
                format!("{action}{ended}: {} ({})\nby: {}\n", user.username.as_str(), user.id, operator.0)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split(' ').map(str::to_owned).collect()
    }

    #[test]
    fn command_lines_parse_or_say_what_is_wrong() {
        assert!(matches!(parse(&args("--json show abc")), Ok((Command::Show(_), true))));
        assert!(matches!(parse(&args("disable abc --reason stolen")), Ok((Command::Disable { .. }, false))));
        assert!(matches!(parse(&args("events abc")), Ok((Command::Events { limit: 50, .. }, false))));
        assert!(matches!(parse(&args("events --limit 7 abc")), Ok((Command::Events { limit: 7, .. }, false))));
        for wrong in
            ["", "find", "find --name bob", "disable abc", "frobnicate abc", "show", "events", "events abc --limit x"]
        {
            let err = parse(&args(wrong)).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{wrong}: {err}");
        }
    }
}
