//! A Secrets Manager that holds one secret: it answers every
//! `GetSecretValue` with the signing key, as the deployed login and refresh
//! read it during init. Plain HTTP; the TLS benchmark puts a terminator in
//! front of it, so that the key costs what it costs in Lambda: a connection
//! and a full TLS handshake to a second host before the first request.

use std::sync::Arc;

use serde_json::json;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use crate::http1::{aws_json_reply, read_request};
use crate::BoxError;

/// The ARN the functions are given; the stub answers whatever they ask for.
pub const SECRET_ARN: &str = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:bench-signing-key-AbCdEf";

pub struct SecretsStub {
    pub endpoint: String,
    task: tokio::task::JoinHandle<()>,
}

impl SecretsStub {
    pub async fn start(secret_string: String) -> Result<Self, BoxError> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let answer = Arc::new(
            json!({
                "ARN": SECRET_ARN,
                "Name": "bench-signing-key",
                "VersionId": "00000000-0000-4000-8000-000000000000",
                "SecretString": secret_string,
                "VersionStages": ["AWSCURRENT"],
                "CreatedDate": 1.7e9,
            })
            .to_string(),
        );
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                tokio::spawn(serve(stream, answer.clone()));
            }
        });
        Ok(SecretsStub { endpoint, task })
    }
}

impl Drop for SecretsStub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(stream: TcpStream, answer: Arc<String>) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    while let Some(request) = read_request(&mut reader).await {
        let (status, body) = if request.header("x-amz-target") == Some("secretsmanager.GetSecretValue") {
            ("200 OK", answer.as_str().to_owned())
        } else {
            let message = "the benchmark's Secrets Manager answers GetSecretValue only";
            ("400 Bad Request", json!({ "__type": "InvalidRequestException", "message": message }).to_string())
        };
        let reply = aws_json_reply(status, "1.1", &body);
        if write.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}
