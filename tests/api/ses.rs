//! Amazon SES as the functions reach it locally: moto server's SES v2 API,
//! started for a test that reads mail, with the sender identity created.
//! What was sent is read back from moto's data endpoint, never from logs.

use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;
use user_auth_core::sdk_settings::{SdkSettings, Service};

use crate::helpers::free_port;

/// The sender the functions are configured with, an identity of the local SES.
pub const MAIL_FROM: &str = "no-reply@auth.example.com";

/// One message the local SES accepted.
#[derive(Debug, Clone)]
pub struct SentMail {
    pub to: Vec<String>,
    pub subject: String,
    /// The HTML body: moto keeps one body, the HTML one when there are two.
    pub body: String,
}

/// moto server on a free port; killed when dropped.
pub struct LocalSes {
    child: Mutex<Option<Child>>,
    pub port: u16,
}

impl LocalSes {
    /// Starts it and creates the sender identity. Panics (never skips) when
    /// it cannot.
    pub async fn start() -> Self {
        Self::start_on(free_port()).await
    }

    /// Starts it on `port`: a restarted SES keeps the port the functions know.
    pub async fn start_on(port: u16) -> Self {
        let server = std::env::var("MOTO_SERVER")
            .expect("MOTO_SERVER is not set: run the tests with scripts/test, which installs moto server");
        let child = Command::new(server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto server starts");
        let ses = LocalSes { child: Mutex::new(Some(child)), port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while ses.data().await.is_none() {
            assert!(Instant::now() < deadline, "moto server did not answer on port {port} within 30 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let client = aws_sdk_sesv2::Client::new(&SdkSettings::local(&ses.endpoint()).sdk_config(Service::SesV2));
        client.create_email_identity().email_identity(MAIL_FROM).send().await.expect("the sender identity is created");
        ses
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    async fn data(&self) -> Option<Value> {
        let url = format!("{}/moto-api/data.json", self.endpoint());
        let response = reqwest::get(url).await.ok()?;
        response.json().await.ok()
    }

    /// Every message sent, oldest first.
    pub async fn sent(&self) -> Vec<SentMail> {
        let data = self.data().await.expect("moto server answers");
        let messages = data["ses"]["Message"].as_array().cloned().unwrap_or_default();
        messages
            .iter()
            .map(|message| SentMail {
                to: message["destinations"]["ToAddresses"]
                    .as_array()
                    .map(|to| to.iter().filter_map(|a| a.as_str().map(String::from)).collect())
                    .unwrap_or_default(),
                subject: message["subject"].as_str().unwrap_or_default().to_owned(),
                body: message["body"].as_str().unwrap_or_default().to_owned(),
            })
            .collect()
    }

    /// The messages sent to `to`, oldest first.
    pub async fn sent_to(&self, to: &str) -> Vec<SentMail> {
        self.sent().await.into_iter().filter(|mail| mail.to.iter().any(|a| a == to)).collect()
    }

    /// The code of the newest message to `to`, read as a person reads it
    /// ("Your code: 12345678").
    pub async fn code_sent_to(&self, to: &str) -> String {
        let sent = self.sent_to(to).await;
        let newest = sent.last().unwrap_or_else(|| panic!("no mail was sent to {to}"));
        code_in(&newest.body).unwrap_or_else(|| panic!("the newest mail to {to} carries no code: {newest:?}"))
    }

    /// Kills it (SIGKILL), as an outage of SES would look.
    pub fn stop(&self) {
        let child = self.child.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
        if let Some(mut child) = child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for LocalSes {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The eight digits after "Your code: ", if a message has them.
pub fn code_in(body: &str) -> Option<String> {
    let at = body.find("Your code: ")? + "Your code: ".len();
    let code: String = body[at..].chars().take(8).collect();
    (code.len() == 8 && code.bytes().all(|b| b.is_ascii_digit())).then_some(code)
}
