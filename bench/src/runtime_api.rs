//! A local implementation of the Lambda Runtime API, as a function process
//! sees it: `GET /2018-06-01/runtime/invocation/next` blocks until the
//! harness hands over an event, `POST .../invocation/{id}/response` and
//! `.../error` return the outcome, `POST .../init/error` reports a failed init.
//! The Extensions API's `register` and `event/next`, for an internal
//! extension (start-recovery's): it gets each invocation's `INVOKE` event,
//! and, as in Lambda, the next invocation is handed out only once the
//! extension has asked for its next event (the environment is busy until
//! then). HTTP/1.1 with keep-alive, enough for the runtime's client.

use std::sync::Arc;
use std::time::Instant;

use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Mutex, Notify};

use crate::http1::read_request;

/// What the function did, and when the emulator saw it.
#[derive(Debug)]
pub enum Report {
    /// The runtime asked for the next event.
    Polled(Instant),
    Responded {
        at: Instant,
        request_id: String,
        body: Vec<u8>,
    },
    Failed {
        request_id: String,
        body: Vec<u8>,
    },
    InitFailed {
        body: Vec<u8>,
    },
}

pub struct Invocation {
    pub request_id: String,
    pub body: String,
}

pub struct RuntimeApi {
    pub address: String,
    pub events: mpsc::Sender<Invocation>,
    pub reports: mpsc::Receiver<Report>,
}

impl RuntimeApi {
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?.to_string();
        let (events, event_rx) = mpsc::channel::<Invocation>(1);
        let (report_tx, reports) = mpsc::channel::<Report>(64);
        let (extension_tx, extension_rx) = mpsc::unbounded_channel::<String>();
        let shared = Arc::new(Shared {
            events: Mutex::new(event_rx),
            reports: report_tx,
            extension: Mutex::new(None),
            extension_events: extension_tx,
            extension_inbox: Mutex::new(extension_rx),
            extension_polling: Notify::new(),
        });
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                tokio::spawn(serve(stream, shared.clone()));
            }
        });
        Ok(RuntimeApi { address, events, reports })
    }
}

struct Shared {
    events: Mutex<mpsc::Receiver<Invocation>>,
    reports: mpsc::Sender<Report>,
    /// Whether an extension registered, and whether it is waiting for its
    /// next event (so the environment is free for the next invocation).
    extension: Mutex<Option<bool>>,
    extension_events: mpsc::UnboundedSender<String>,
    extension_inbox: Mutex<mpsc::UnboundedReceiver<String>>,
    extension_polling: Notify,
}

impl Shared {
    /// Waits, when an extension registered, until it has asked for its next
    /// event: until then Lambda hands the environment no invocation.
    async fn environment_free(&self) {
        loop {
            let polling = self.extension_polling.notified();
            if *self.extension.lock().await != Some(false) {
                return;
            }
            polling.await;
        }
    }
}

const EXTENSION_ID: &str = "bench-extension";

async fn serve(stream: TcpStream, shared: Arc<Shared>) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    while let Some(request) = read_request(&mut reader).await {
        let body = request.body;
        let (method, path) = (request.method.as_str(), request.path.as_str());
        let reports = &shared.reports;
        let reply = match (method, path) {
            ("POST", "/2020-01-01/extension/register") => {
                *shared.extension.lock().await = Some(false);
                let body = r#"{"functionName":"bench","functionVersion":"$LATEST","handler":"bootstrap"}"#;
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nlambda-extension-identifier: {EXTENSION_ID}\r\n\
                     content-length: {}\r\n\r\n{body}",
                    body.len()
                )
            }
            ("GET", "/2020-01-01/extension/event/next") => {
                *shared.extension.lock().await = Some(true);
                shared.extension_polling.notify_waiters();
                let Some(event) = shared.extension_inbox.lock().await.recv().await else { return };
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{event}",
                    event.len()
                )
            }
            ("GET", "/2018-06-01/runtime/invocation/next") => {
                // Idle once its extension, if any, is done with the last
                // invocation too: init and each invocation end there.
                shared.environment_free().await;
                let _ = reports.send(Report::Polled(Instant::now())).await;
                let Some(invocation) = shared.events.lock().await.recv().await else { return };
                let deadline = time::OffsetDateTime::now_utc().unix_timestamp() * 1000 + 30_000;
                let mut extension = shared.extension.lock().await;
                if extension.is_some() {
                    *extension = Some(false);
                    let event = serde_json::json!({
                        "eventType": "INVOKE",
                        "deadlineMs": deadline,
                        "requestId": invocation.request_id,
                        "invokedFunctionArn": "arn:aws:lambda:eu-west-1:123456789012:function:bench",
                    });
                    let _ = shared.extension_events.send(event.to_string());
                }
                drop(extension);
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
                     lambda-runtime-aws-request-id: {}\r\nlambda-runtime-deadline-ms: {deadline}\r\n\
                     lambda-runtime-invoked-function-arn: arn:aws:lambda:eu-west-1:123456789012:function:bench\r\n\
                     lambda-runtime-trace-id: Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0\r\n\r\n{}",
                    invocation.body.len(),
                    invocation.request_id,
                    invocation.body
                )
            }
            ("POST", path) if path.starts_with("/2018-06-01/runtime/invocation/") => {
                let at = Instant::now();
                let rest = &path["/2018-06-01/runtime/invocation/".len()..];
                let (request_id, kind) = rest.split_once('/').unwrap_or((rest, ""));
                let request_id = request_id.to_owned();
                let report = if kind == "response" {
                    Report::Responded { at, request_id, body }
                } else {
                    Report::Failed { request_id, body }
                };
                let _ = reports.send(report).await;
                accepted()
            }
            ("POST", "/2018-06-01/runtime/init/error") => {
                let _ = reports.send(Report::InitFailed { body }).await;
                accepted()
            }
            _ => "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n".to_owned(),
        };
        if write.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}

fn accepted() -> String {
    let body = r#"{"status":"OK"}"#;
    format!("HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}", body.len())
}
