//! An SES v2 that accepts every message at once: the functions that mail
//! (a sign-up with an address, a recovery) send to it, so that what is
//! measured is theirs and not a mail server's.

use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use crate::http1::read_request;
use crate::BoxError;

pub struct SesStub {
    pub endpoint: String,
    task: tokio::task::JoinHandle<()>,
}

impl SesStub {
    pub async fn start() -> Result<Self, BoxError> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                tokio::spawn(serve(stream));
            }
        });
        Ok(SesStub { endpoint, task })
    }
}

impl Drop for SesStub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(stream: TcpStream) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    while read_request(&mut reader).await.is_some() {
        let body = r#"{"MessageId":"bench"}"#;
        let reply = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        if write.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}
