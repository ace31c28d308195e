//! A local implementation of the Lambda Runtime API, as a function process
//! sees it: `GET /2018-06-01/runtime/invocation/next` blocks until the
//! harness hands over an event, `POST .../invocation/{id}/response` and
//! `.../error` return the outcome, `POST .../init/error` reports a failed init.
//! HTTP/1.1 with keep-alive, enough for the runtime's client.

use std::sync::Arc;
use std::time::Instant;

use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Mutex};

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
        let event_rx = Arc::new(Mutex::new(event_rx));
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                tokio::spawn(serve(stream, event_rx.clone(), report_tx.clone()));
            }
        });
        Ok(RuntimeApi { address, events, reports })
    }
}

async fn serve(stream: TcpStream, events: Arc<Mutex<mpsc::Receiver<Invocation>>>, reports: mpsc::Sender<Report>) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    while let Some(request) = read_request(&mut reader).await {
        let body = request.body;
        let (method, path) = (request.method.as_str(), request.path.as_str());
        let reply = match (method, path) {
            ("GET", "/2018-06-01/runtime/invocation/next") => {
                let _ = reports.send(Report::Polled(Instant::now())).await;
                let Some(invocation) = events.lock().await.recv().await else { return };
                let deadline = time::OffsetDateTime::now_utc().unix_timestamp() * 1000 + 30_000;
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
