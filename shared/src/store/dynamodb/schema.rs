//! Table keys and attribute names: the single source of truth for the code,
//! the table set-up of local runs and tests, and the template checks.
//!
//! All partition keys are high-cardinality (a UUID, a username, a token id),
//! so no key design makes a hot partition.

use aws_sdk_dynamodb::error::{BuildError, ProvideErrorMetadata};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;

use crate::store::TableNames;

/// `users`: one item per user, the public profile.
pub mod users {
    pub const ID: &str = "id";
    pub const USERNAME: &str = "username";
    pub const CREATED_AT: &str = "created_at";
    /// Moves on with every password change, with the usernames item's.
    pub const CREDENTIAL_GENERATION: &str = "credential_generation";
    /// The address on the profile, trimmed and lower-cased; absent when none.
    pub const EMAIL: &str = "email";
    /// Whether the owner proved the address theirs; present with `email`.
    pub const EMAIL_VERIFIED: &str = "email_verified";
    /// The active TOTP secret, sealed (binary); absent without a factor.
    pub const TOTP_SECRET: &str = "totp_secret";
    /// The last TOTP time step a code was accepted for; present with the secret.
    pub const TOTP_LAST_STEP: &str = "totp_last_step";
    /// A secret shown at enrolment and not yet confirmed, sealed (binary).
    pub const TOTP_PENDING: &str = "totp_pending";
    /// The keyed hashes of the recovery codes left (a string set, absent
    /// when none is: DynamoDB stores no empty set).
    pub const RECOVERY_CODES: &str = "recovery_codes";
    /// Unix seconds an operator disabled the account at; absent when enabled.
    pub const DISABLED_AT: &str = "disabled_at";
    /// Why, in the operator's words; present with `disabled_at`.
    pub const DISABLED_REASON: &str = "disabled_reason";
    /// The operator who disabled it; present with `disabled_at`.
    pub const DISABLED_BY: &str = "disabled_by";
}

/// `email-addresses`: one item per verified address, naming the account that
/// holds it. The address is its key, so one account at most holds it (a
/// conditional write at verification); an unverified address claims nothing.
pub mod email_addresses {
    pub const EMAIL: &str = "email";
    pub const USER_ID: &str = "user_id";
}

/// `codes`: one item per user and purpose, the code sent last (a new one
/// is written over the old, which voids it). Only the code's keyed hash is
/// stored. Using it deletes the item, on the condition that it is still the
/// same code with tries left, so two concurrent uses cannot both pass.
pub mod codes {
    /// `{purpose}#{user id}`: see [`code_key`].
    pub const CODE_KEY: &str = "code_key";
    pub const USER_ID: &str = "user_id";
    pub const CODE_HASH: &str = "code_hash";
    pub const EMAIL: &str = "email";
    pub const TRIES_LEFT: &str = "tries_left";
    /// Unix seconds: the code is refused from then on; the table's TTL attribute.
    pub const EXPIRES_AT: &str = "expires_at";

    pub fn code_key(purpose: crate::domain::CodePurpose, user_id: &crate::domain::UserId) -> String {
        format!("{}#{}", purpose.as_str(), user_id)
    }

    /// The item counting a user's recovery requests: `last_at`, and the
    /// hour's start and count; it goes by TTL when its hour ends.
    pub fn recovery_requests_key(user_id: &crate::domain::UserId) -> String {
        format!("recovery-requests#{user_id}")
    }
    pub const LAST_AT: &str = "last_at";
    pub const HOUR_START: &str = "hour_start";
    pub const HOUR_COUNT: &str = "hour_count";

    /// The item of a login waiting for its second factor: the SHA-256 of
    /// its token, so that the token is the only way to it.
    pub fn sign_in_key(token_hash: &str) -> String {
        format!("second-factor#{token_hash}")
    }
    pub const CREDENTIAL_GENERATION: &str = "credential_generation";
    pub const USER_AGENT: &str = "user_agent";
    pub const SOURCE_IP: &str = "source_ip";
}

/// `usernames`: one item per claimed username, holding the credentials. The
/// username is its key, so uniqueness is a conditional write, and login reads
/// it with a strongly consistent `GetItem`.
pub mod usernames {
    pub const USERNAME: &str = "username";
    pub const USER_ID: &str = "user_id";
    pub const PASSWORD_HASH: &str = "password_hash";
    /// The generation of the hash: moves on with it, and with the user's.
    pub const CREDENTIAL_GENERATION: &str = "credential_generation";
    /// Whether a login must be completed with a second factor (absent: no).
    pub const SECOND_FACTOR: &str = "second_factor";
    /// Whether an operator disabled the account (absent: no).
    pub const DISABLED: &str = "disabled";
}

/// `sessions`: one item per session, keyed by its user and its id, so that
/// a token's session is one `GetItem` and a user's sessions one `Query`.
/// Ended sessions are deleted; TTL removes those that ran out, at the
/// latest at their absolute end (one left idle is refused before then).
pub mod sessions {
    pub const USER_ID: &str = "user_id";
    pub const SID: &str = "sid";
    pub const CREATED_AT: &str = "created_at";
    pub const LAST_REFRESHED_AT: &str = "last_refreshed_at";
    /// Unix seconds: the absolute end; the table's TTL attribute.
    pub const EXPIRES_AT: &str = "expires_at";
    /// Unix seconds: the end if not refreshed before.
    pub const IDLE_ENDS_AT: &str = "idle_ends_at";
    pub const GENERATION: &str = "generation";
    /// The user's credential generation the session belongs to.
    pub const CREDENTIAL_GENERATION: &str = "credential_generation";
    pub const REFRESH_HASH: &str = "refresh_hash";
    /// The hash of the token spent last, and when (both absent before the first refresh).
    pub const PREVIOUS_HASH: &str = "previous_hash";
    pub const PREVIOUS_SPENT_AT: &str = "previous_spent_at";
    pub const USER_AGENT: &str = "user_agent";
    pub const SOURCE_IP: &str = "source_ip";
    /// How the session was signed in, its `amr` values joined by spaces
    /// (absent: a password alone, as every session before second factors).
    pub const AMR: &str = "amr";
}

/// `login-attempts`: failed password checks, for the lockout. Usernames are
/// kept only as their keyed hash ([`name_key`]): a name alone (known or not)
/// holds its failures from unknown addresses; `{name}#{address}` holds one
/// address's failures at that name, its lock and whether it is known (a hash
/// contains no `#`).
pub mod login_attempts {
    pub const USERNAME: &str = "username";
    pub const FAILURES: &str = "failures";
    pub const LOCKED_UNTIL: &str = "locked_until";
    pub const KNOWN_UNTIL: &str = "known_until";
    /// The user the address logged in as; empty when it never did.
    pub const KNOWN_FOR: &str = "known_for";
    /// Unix seconds: when the item may go; the table's TTL attribute. For a
    /// name, the end of its counting window.
    pub const EXPIRES_AT: &str = "expires_at";
    /// Unix seconds: the end of an address's counting window (its item may
    /// stay longer, while the address is known).
    pub const WINDOW_ENDS_AT: &str = "window_ends_at";

    /// The key of a name's item: the HMAC-SHA-256 of the name under `key`,
    /// in hex. The logs' pseudonym of the name is its first 16 characters.
    pub fn name_key(key: &ring::hmac::Key, username: &str) -> String {
        ring::hmac::sign(key, username.as_bytes()).as_ref().iter().map(|byte| format!("{byte:02x}")).collect()
    }

    /// The key of an address's item at a name, from the name's key.
    pub fn address_key(name_key: &str, address: &str) -> String {
        format!("{name_key}#{address}")
    }
}

/// `sign-ups`: sign-ups per source address, one item per address and hour,
/// so that a new hour is a new item and no count is ever reset; and, keyed
/// apart, recovery requests per source address and hour.
pub mod sign_ups {
    pub const WINDOW: &str = "window";
    pub const COUNT: &str = "count";
    /// Unix seconds: the end of the hour; the table's TTL attribute.
    pub const EXPIRES_AT: &str = "expires_at";

    /// The key of an address's count in the window that starts at `start`.
    pub fn window_key(address: &str, start: u64) -> String {
        format!("{address}@{start}")
    }

    /// The key of an address's count of recovery requests in that window:
    /// the same table, counts of another kind.
    pub fn recovery_window_key(address: &str, start: u64) -> String {
        format!("recovery:{address}@{start}")
    }
}

/// `events`: each user's security activity, keyed by the user and the
/// event's time (to the millisecond) with a random suffix, so that a user's
/// events, newest first, are one `Query`; TTL forgets them.
pub mod events {
    pub const USER_ID: &str = "user_id";
    /// `{Unix milliseconds, 13 digits}#{8 hex digits}`: sorts as time does.
    pub const KEY: &str = "event_key";
    pub const TYPE: &str = "type";
    pub const SOURCE_IP: &str = "source_ip";
    pub const USER_AGENT: &str = "user_agent";
    pub const SESSION_ID: &str = "session_id";
    pub const DETAIL: &str = "detail";
    pub const OPERATOR: &str = "operator";
    /// Unix seconds: `EVENT_RETENTION_DAYS` after the event; the table's TTL attribute.
    pub const EXPIRES_AT: &str = "expires_at";
}

/// `passkeys`: each user's passkeys, keyed by the user and the credential's
/// id, so that a sign-in's passkey is one `GetItem` (the browser names both)
/// and a user's passkeys one `Query`. Two accounts may hold the same id: a
/// passkey is only ever looked up under the user its sign-in names.
pub mod passkeys {
    pub const USER_ID: &str = "user_id";
    /// The credential's id, base64url without padding.
    pub const ID: &str = "passkey_id";
    pub const NAME: &str = "name";
    pub const CREATED_AT: &str = "created_at";
    /// Unix seconds of the last sign-in with it; absent before the first.
    pub const LAST_USED_AT: &str = "last_used_at";
    /// The credential as webauthn-rs keeps it, JSON.
    pub const CREDENTIAL: &str = "credential";
}

/// WebAuthn ceremonies waiting for the browser, in the codes table (their
/// TTL is its): a user's registration, or a sign-in by its random id.
pub mod ceremonies {
    use crate::domain::CeremonyKey;

    pub fn key(key: &CeremonyKey) -> String {
        match key {
            CeremonyKey::Registration(user_id) => format!("passkey-registration#{user_id}"),
            CeremonyKey::SignIn(id) => format!("passkey-sign-in#{id}"),
        }
    }
    /// webauthn-rs's state of the ceremony, JSON.
    pub const STATE: &str = "state";
}

/// A table's name, its keys (strings) and its TTL attribute.
pub struct Table<'a> {
    pub name: &'a str,
    pub partition_key: &'static str,
    pub sort_key: Option<&'static str>,
    pub ttl: Option<&'static str>,
}

/// Every table of the service.
pub fn tables(names: &TableNames) -> [Table<'_>; 9] {
    let table = |name, partition_key, sort_key, ttl| Table { name, partition_key, sort_key, ttl };
    [
        table(names.login_attempts.as_str(), login_attempts::USERNAME, None, Some(login_attempts::EXPIRES_AT)),
        table(names.users.as_str(), users::ID, None, None),
        table(names.usernames.as_str(), usernames::USERNAME, None, None),
        table(names.sessions.as_str(), sessions::USER_ID, Some(sessions::SID), Some(sessions::EXPIRES_AT)),
        table(names.sign_ups.as_str(), sign_ups::WINDOW, None, Some(sign_ups::EXPIRES_AT)),
        table(names.email_addresses.as_str(), email_addresses::EMAIL, None, None),
        table(names.codes.as_str(), codes::CODE_KEY, None, Some(codes::EXPIRES_AT)),
        table(names.events.as_str(), events::USER_ID, Some(events::KEY), Some(events::EXPIRES_AT)),
        table(names.passkeys.as_str(), passkeys::USER_ID, Some(passkeys::ID), None),
    ]
}

fn key_element(name: &str, key_type: KeyType) -> Result<(AttributeDefinition, KeySchemaElement), BuildError> {
    let definition =
        AttributeDefinition::builder().attribute_name(name).attribute_type(ScalarAttributeType::S).build()?;
    Ok((definition, KeySchemaElement::builder().attribute_name(name).key_type(key_type).build()?))
}

/// Creates the tables (on-demand, as deployed) where they do not exist yet.
/// For local runs and tests; deployed tables come from `template.yaml`.
pub async fn create_tables(client: &Client, names: &TableNames) -> Result<(), aws_sdk_dynamodb::Error> {
    let existing = client.list_tables().send().await?.table_names.unwrap_or_default();
    for table in tables(names) {
        if existing.iter().any(|name| name == table.name) {
            continue;
        }
        let mut keys = vec![key_element(table.partition_key, KeyType::Hash)?];
        if let Some(sort_key) = table.sort_key {
            keys.push(key_element(sort_key, KeyType::Range)?);
        }
        let (definitions, schema) = keys.into_iter().unzip();
        let created = client
            .create_table()
            .table_name(table.name)
            .billing_mode(BillingMode::PayPerRequest)
            .set_attribute_definitions(Some(definitions))
            .set_key_schema(Some(schema))
            .send()
            .await;
        // An attempt that timed out may have created the table before the
        // SDK's retry asked again: the table is there, as wanted.
        match created {
            Err(err) if err.as_service_error().is_some_and(|err| err.is_resource_in_use_exception()) => {}
            Err(err) => return Err(err.into()),
            Ok(_) => {}
        }
        if let Some(attribute) = table.ttl {
            let enabled = client
                .update_time_to_live()
                .table_name(table.name)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder().enabled(true).attribute_name(attribute).build()?,
                )
                .send()
                .await;
            // Likewise, a retry after an attempt that enabled it.
            match enabled {
                Err(err) if err.message().is_some_and(|message| message.contains("already enabled")) => {}
                Err(err) => return Err(err.into()),
                Ok(_) => {}
            }
        }
    }
    Ok(())
}
