//! A mailer that keeps what it is given, and can be made to fail: for unit
//! tests. Integration tests read mail from moto server's SES instead.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use futures_util::future::BoxFuture;

use super::{Mail, MailError, Mailer};

#[derive(Default)]
pub struct MemoryMailer {
    sent: Mutex<Vec<Mail>>,
    failing: AtomicBool,
}

impl MemoryMailer {
    pub fn sent(&self) -> Vec<Mail> {
        self.sent.lock().unwrap().clone()
    }

    pub fn fail(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }
}

impl Mailer for MemoryMailer {
    fn send(&self, mail: Mail) -> BoxFuture<'_, Result<(), MailError>> {
        Box::pin(async move {
            if self.failing.load(Ordering::SeqCst) {
                return Err(MailError("the mailer is failing, as the test asked".into()));
            }
            self.sent.lock().unwrap().push(mail);
            Ok(())
        })
    }
}
