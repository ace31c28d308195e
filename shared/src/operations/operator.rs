//! What an operator does to an account, with the operator's own AWS
//! credentials (IAM is the authorisation): the rules the functions follow,
//! never a second implementation of them. Every action is logged as a
//! security event naming the operator, and recorded in the account's
//! activity with the operator's name.

use crate::domain::{ActivityEvent, ActivityType, Disabled, EmailAddress, Session, User, UserId, Username};
use crate::store::{AccountStore, ActivityStore, CredentialStore, EmailStore, OperatorStore, SessionStore, UserStore};

use super::record;
use crate::ApiError;

/// Who acts: the caller's ARN as STS names it, or a placeholder that says
/// it is one when DynamoDB is local.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator(pub String);

impl Operator {
    /// An event of the account's activity: this operator's action on it.
    fn event(&self, user_id: &UserId, kind: ActivityType) -> ActivityEvent {
        ActivityEvent::new(user_id, kind).by_operator(self.0.clone())
    }
}

/// How many of an account's latest events `show` lists.
pub const RECENT_EVENTS: usize = 10;

/// How an operator names an account.
#[derive(Debug, Clone)]
pub enum AccountRef {
    Id(String),
    Username(String),
    Email(String),
}

/// An account as an operator sees it: the user, its sessions and its
/// latest events.
#[derive(Debug)]
pub struct AccountSummary {
    pub user: User,
    pub sessions: Vec<Session>,
    pub events: Vec<ActivityEvent>,
}

/// The account `reference` names, if any. A malformed id, name or address
/// is [`ApiError::InvalidRequest`]; an address finds only the account that
/// verified it.
pub async fn find_account<S>(store: &S, reference: &AccountRef) -> Result<Option<User>, ApiError>
where
    S: UserStore + CredentialStore + EmailStore,
{
    let user_id = match reference {
        AccountRef::Id(raw) => Some(UserId::parse(raw).ok_or(ApiError::InvalidRequest("not a user id"))?),
        AccountRef::Username(raw) => {
            let username = Username::parse(raw)?;
            store.credentials(&username).await?.map(|credentials| credentials.user_id)
        }
        AccountRef::Email(raw) => store.address_owner(&EmailAddress::parse(raw)?).await?,
    };
    match user_id {
        Some(id) => Ok(store.get_user(&id).await?),
        None => Ok(None),
    }
}

/// The account, its sessions and its latest events, or [`ApiError::NotFound`].
pub async fn show_account<S>(store: &S, reference: &AccountRef) -> Result<AccountSummary, ApiError>
where
    S: UserStore + CredentialStore + EmailStore + SessionStore + ActivityStore,
{
    let user = find_account(store, reference).await?.ok_or(ApiError::NotFound)?;
    let (sessions, events) = tokio::join!(store.sessions(&user.id), store.activity(&user.id, RECENT_EVENTS, None));
    Ok(AccountSummary { user, sessions: sessions?, events: events?.events })
}

/// The latest `limit` events (1 to 1000) of the account `id`, newest first,
/// whether or not it still exists: a deleted account's events are kept
/// until they expire.
pub async fn account_events<S>(store: &S, id: &str, limit: usize) -> Result<Vec<ActivityEvent>, ApiError>
where
    S: ActivityStore,
{
    let id = UserId::parse(id).ok_or(ApiError::InvalidRequest("not a user id"))?;
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::InvalidRequest("the limit must be from 1 to 1000"));
    }
    let mut events = Vec::new();
    let mut after = None;
    while events.len() < limit {
        let page =
            store.activity(&id, (limit - events.len()).min(crate::domain::MAX_ACTIVITY_PAGE), after.as_deref()).await?;
        events.extend(page.events);
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    Ok(events)
}

async fn account<S: UserStore>(store: &S, id: &str) -> Result<User, ApiError> {
    let id = UserId::parse(id).ok_or(ApiError::InvalidRequest("not a user id"))?;
    store.get_user(&id).await?.ok_or(ApiError::NotFound)
}

/// Disables the account at `now`: its name cannot sign in (the right
/// password is answered 403 `account_disabled`), and every token of it,
/// refresh tokens included, opens nothing from then on. Its sessions'
/// records are deleted; they stay ended once it is enabled again.
pub async fn disable_account<S>(
    store: &S,
    now: u64,
    operator: &Operator,
    id: &str,
    reason: &str,
) -> Result<User, ApiError>
where
    S: UserStore + SessionStore + OperatorStore + ActivityStore,
{
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(ApiError::InvalidRequest("a reason of 1 to 500 characters is required"));
    }
    let user = account(store, id).await?;
    let disabled = Disabled { at: now, reason: reason.to_owned(), by: operator.0.clone() };
    if !store.disable_account(&user, &disabled).await? {
        return Err(ApiError::NotFound);
    }
    let (user_id, operator) = (&user.id, &operator.0);
    tracing::warn!(security_event = "account_disabled", %user_id, %operator, reason, "account disabled");
    let recorded = record(
        store,
        ActivityEvent::new(user_id, ActivityType::AccountDisabled).by_operator(operator.clone()).detail(reason),
    );
    let (ended, ()) = tokio::join!(end_every_session(store, user_id), recorded);
    ended?;
    Ok(User { disabled: Some(disabled), ..user })
}

/// Enables a disabled account: its name signs in again; its old sessions stay ended.
pub async fn enable_account<S>(store: &S, operator: &Operator, id: &str) -> Result<User, ApiError>
where
    S: UserStore + OperatorStore + ActivityStore,
{
    let user = account(store, id).await?;
    if !store.enable_account(&user).await? {
        return Err(ApiError::NotFound);
    }
    tracing::warn!(security_event = "account_enabled", user_id = %user.id, operator = %operator.0, "account enabled");
    record(store, operator.event(&user.id, ActivityType::AccountEnabled)).await;
    Ok(User { disabled: None, ..user })
}

/// Ends every session of the account: how many there were.
pub async fn sign_out_everywhere<S>(store: &S, operator: &Operator, id: &str) -> Result<usize, ApiError>
where
    S: UserStore + SessionStore + ActivityStore,
{
    let user = account(store, id).await?;
    let recorded = record(store, operator.event(&user.id, ActivityType::SignedOutByOperator));
    let (ended, ()) = tokio::join!(end_every_session(store, &user.id), recorded);
    let ended = ended?;
    let (user_id, operator) = (&user.id, &operator.0);
    tracing::warn!(security_event = "signed_out_everywhere", %user_id, %operator, sessions = ended, "sessions ended");
    Ok(ended)
}

/// Deletes the account as its owner's deletion does, all of it at once.
pub async fn delete_account<S>(store: &S, operator: &Operator, id: &str) -> Result<User, ApiError>
where
    S: UserStore + AccountStore + ActivityStore,
{
    let user = account(store, id).await?;
    if !store.delete_account(&user).await? {
        return Err(ApiError::NotFound);
    }
    let (user_id, operator) = (&user.id, &operator.0);
    tracing::warn!(security_event = "account_deleted", %user_id, %operator, "account deleted by an operator");
    record(store, ActivityEvent::new(user_id, ActivityType::AccountDeleted).by_operator(operator.clone())).await;
    Ok(user)
}

async fn end_every_session<S: SessionStore>(store: &S, user_id: &UserId) -> Result<usize, ApiError> {
    let ids = store.session_ids(user_id).await?;
    if !ids.is_empty() {
        store.end_sessions(user_id, &ids).await?;
    }
    Ok(ids.len())
}
