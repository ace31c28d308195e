//! Each user's security activity ([`ActivityStore`]): one item per event in
//! the `events` table, decoded by the one rule of [`super::item`].

use super::errors::classify;
use super::item::{get_s, n, parsed, s, Item};
use super::schema::events;
use super::DynamoStore;
use crate::domain::{ActivityEvent, ActivityPage, ActivityType, Client, SessionId, UserId};
use crate::store::{ActivityStore, StoreError};

impl ActivityStore for DynamoStore {
    async fn record(&self, event: &ActivityEvent) -> Result<(), StoreError> {
        let mut item = Item::from([
            (events::USER_ID.to_string(), s(event.user_id.as_str())),
            (events::KEY.to_string(), s(&event.key())),
            (events::TYPE.to_string(), s(event.kind.as_str())),
            (events::EXPIRES_AT.to_string(), n(event.expires_at(self.event_retention_days))),
        ]);
        if let Some(client) = &event.client {
            item.insert(events::SOURCE_IP.into(), s(&client.source_ip));
            item.insert(events::USER_AGENT.into(), s(&client.user_agent));
        }
        let optional = [
            (events::SESSION_ID, event.session_id.as_ref().map(SessionId::as_str)),
            (events::DETAIL, event.detail.as_deref()),
            (events::OPERATOR, event.operator.as_deref()),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                item.insert(name.into(), s(value));
            }
        }
        self.client.put_item().table_name(&self.tables.events).set_item(Some(item)).send().await.map_err(classify)?;
        Ok(())
    }

    async fn activity(&self, user_id: &UserId, limit: usize, after: Option<&str>) -> Result<ActivityPage, StoreError> {
        let start = after.map(|key| {
            Item::from([(events::USER_ID.to_string(), s(user_id.as_str())), (events::KEY.to_string(), s(key))])
        });
        // One more than the page: whether another page follows, without
        // answering a cursor that leads to an empty one.
        let page = self
            .client
            .query()
            .table_name(&self.tables.events)
            .key_condition_expression("#user = :user")
            .expression_attribute_names("#user", events::USER_ID)
            .expression_attribute_values(":user", s(user_id.as_str()))
            .scan_index_forward(false)
            .limit(limit as i32 + 1)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(classify)?;
        let mut found =
            page.items.unwrap_or_default().iter().map(ActivityEvent::try_from).collect::<Result<Vec<_>, _>>()?;
        let next = match found.len() > limit {
            true => {
                found.truncate(limit);
                found.last().map(ActivityEvent::key)
            }
            false => None,
        };
        Ok(ActivityPage { events: found, next })
    }
}

/// An optional string attribute: absent is `None`, anything but a string `Failed`.
fn optional_s(item: &Item, name: &str) -> Result<Option<String>, StoreError> {
    match item.contains_key(name) {
        true => get_s(item, name).map(|value| Some(value.to_string())),
        false => Ok(None),
    }
}

impl TryFrom<&Item> for ActivityEvent {
    type Error = StoreError;

    fn try_from(item: &Item) -> Result<Self, StoreError> {
        let (at_millis, suffix) = parsed(item, events::KEY, ActivityEvent::parse_key)?;
        let client = match (optional_s(item, events::SOURCE_IP)?, optional_s(item, events::USER_AGENT)?) {
            (Some(source_ip), Some(user_agent)) => Some(Client { source_ip, user_agent }),
            (None, None) => None,
            _ => return Err(StoreError::Failed("stored event has half of its client".into())),
        };
        let session_id = match item.contains_key(events::SESSION_ID) {
            true => Some(parsed(item, events::SESSION_ID, SessionId::parse)?),
            false => None,
        };
        Ok(ActivityEvent {
            user_id: parsed(item, events::USER_ID, UserId::parse)?,
            kind: parsed(item, events::TYPE, ActivityType::parse)?,
            at_millis,
            suffix,
            client,
            session_id,
            detail: optional_s(item, events::DETAIL)?,
            operator: optional_s(item, events::OPERATOR)?,
        })
    }
}
