//! An instant DynamoDB for measuring a function's own time, answering
//! without doing any work, whatever the keys:
//!
//! - `GetItem` with one canned user on the users table and one canned
//!   session on the sessions table, each under the key asked for (as a
//!   function checks that its token's user is the one it read), and no item
//!   on any other;
//! - `Query` with the canned sessions on the sessions table, in one page,
//!   and no item on any other (an account's activity is empty);
//! - `DeleteItem` with the first canned session as the deleted one on the
//!   sessions table, and nothing on any other;
//! - `PutItem` and `UpdateItem` with success.
//!
//! What a warm invocation costs against it is the function's own time plus
//! the SDK's work and a loopback round trip per call: an upper bound of the
//! time beyond DynamoDB, free of DynamoDB Local's jitter.

use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{json, Value};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use user_auth_core::store::TableNames;

use crate::database::Item;
use crate::http1::{aws_json_reply, read_request};
use crate::BoxError;

pub struct DynamoStub {
    pub endpoint: String,
}

struct Canned {
    tables: TableNames,
    user: Value,
    /// Active sessions of one user; the first answers for any session.
    sessions: Vec<Value>,
}

impl DynamoStub {
    /// Starts the stub on a thread of its own, so that the harness's calls to
    /// it wake another thread as a function's calls wake another process:
    /// the same round trip on both sides of the own-time difference.
    pub fn start(tables: &TableNames, user: &Item, sessions: &[Item]) -> Result<Self, BoxError> {
        if sessions.is_empty() {
            return Err("the stub needs a session to answer with".into());
        }
        let canned = Arc::new(Canned {
            tables: tables.clone(),
            user: wire_item(user)?,
            sessions: sessions.iter().map(wire_item).collect::<Result<_, _>>()?,
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        std::thread::spawn(move || {
            runtime.block_on(async move {
                let Ok(listener) = TcpListener::from_std(listener) else { return };
                while let Ok((stream, _)) = listener.accept().await {
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(serve(stream, canned.clone()));
                }
            })
        });
        Ok(DynamoStub { endpoint })
    }
}

async fn serve(stream: TcpStream, canned: Arc<Canned>) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    while let Some(request) = read_request(&mut reader).await {
        let operation = request.header("x-amz-target").and_then(|t| t.strip_prefix("DynamoDB_20120810.")).unwrap_or("");
        let body = serde_json::from_slice::<Value>(&request.body).unwrap_or_default();
        let table = body["TableName"].as_str().unwrap_or_default();
        let (users, sessions) = (table == canned.tables.users, table == canned.tables.sessions);
        let (status, body) = match operation {
            "GetItem" if users => ("200 OK", json!({ "Item": under_key(&canned.user, &body["Key"]) })),
            "GetItem" if sessions => ("200 OK", json!({ "Item": under_key(&canned.sessions[0], &body["Key"]) })),
            "Query" if sessions => {
                let count = canned.sessions.len();
                ("200 OK", json!({ "Items": canned.sessions, "Count": count, "ScannedCount": count }))
            }
            "Query" => ("200 OK", json!({ "Items": [], "Count": 0, "ScannedCount": 0 })),
            "DeleteItem" if sessions => ("200 OK", json!({ "Attributes": canned.sessions[0] })),
            "GetItem" | "DeleteItem" | "PutItem" | "UpdateItem" => ("200 OK", json!({})),
            other => (
                "400 Bad Request",
                json!({
                    "__type": "com.amazon.coral.validate#ValidationException",
                    "message": format!("the benchmark's stub does not answer {other:?}")
                }),
            ),
        };
        let reply = aws_json_reply(status, "1.0", &body.to_string());
        if write.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// `item` with the key attributes of `key` (a request's `Key`) in place of
/// its own.
fn under_key(item: &Value, key: &Value) -> Value {
    let mut item = item.clone();
    if let (Some(fields), Some(key)) = (item.as_object_mut(), key.as_object()) {
        fields.extend(key.iter().map(|(name, value)| (name.clone(), value.clone())));
    }
    item
}

/// An item in DynamoDB's JSON wire form, for the types the store writes.
fn wire_item(item: &Item) -> Result<Value, BoxError> {
    item.iter()
        .map(|(name, value)| {
            let wire = match value {
                AttributeValue::S(s) => json!({ "S": s }),
                AttributeValue::N(n) => json!({ "N": n }),
                AttributeValue::Bool(b) => json!({ "BOOL": b }),
                other => return Err(format!("the stub cannot send {name} = {other:?}").into()),
            };
            Ok((name.clone(), wire))
        })
        .collect::<Result<serde_json::Map<_, _>, BoxError>>()
        .map(Value::Object)
}
