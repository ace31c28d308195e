//! Mail the service sends: what a message holds, the port that sends it,
//! its SES v2 adapter ([`ses`]) and every message's words ([`templates`]).
//!
//! Mail is never what an operation's outcome hangs on: a message that
//! cannot be sent is logged and counted ([`send_or_log`]), and the
//! operation goes on.

use std::sync::Arc;

use futures_util::future::BoxFuture;

use crate::domain::EmailAddress;
use crate::BoxError;

pub mod ses;
pub mod templates;

#[cfg(any(test, feature = "test-support"))]
pub mod memory;

/// One message to one address, as plain text and as simple HTML.
#[derive(Clone, PartialEq, Eq)]
pub struct Mail {
    pub to: EmailAddress,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Its bodies may carry a code: `Debug` shows only whom and what about.
impl std::fmt::Debug for Mail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mail").field("subject", &self.subject).finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the mail could not be sent")]
pub struct MailError(#[source] pub BoxError);

/// Sends mail.
pub trait Mailer: Send + Sync {
    fn send(&self, mail: Mail) -> BoxFuture<'_, Result<(), MailError>>;
}

pub type SharedMailer = Arc<dyn Mailer>;

/// What a message is, for the log line and the metric of one that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailKind {
    VerificationCode,
    AddressInUse,
    AddressChanged,
    RecoveryCode,
    PasswordReset,
    PasswordChanged,
    SecondFactorChanged,
}

impl MailKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MailKind::VerificationCode => "verification_code",
            MailKind::AddressInUse => "address_in_use",
            MailKind::AddressChanged => "address_changed",
            MailKind::RecoveryCode => "recovery_code",
            MailKind::PasswordReset => "password_reset",
            MailKind::PasswordChanged => "password_changed",
            MailKind::SecondFactorChanged => "second_factor_changed",
        }
    }
}

/// Sends `mail`; a failure is logged (never the address or the bodies) and
/// counted in the `MailNotSent` metric, and is not the caller's failure.
/// `true` when it was sent.
pub async fn send_or_log(mailer: &dyn Mailer, kind: MailKind, mail: Mail) -> bool {
    match mailer.send(mail).await {
        Ok(()) => {
            tracing::info!(mail = kind.as_str(), "mail sent");
            true
        }
        Err(err) => {
            tracing::error!(mail = kind.as_str(), error = %err, cause = ?std::error::Error::source(&err), "mail not sent");
            crate::telemetry::count_metric("MailNotSent");
            false
        }
    }
}
