//! Mail through Amazon SES's v2 API (`SendEmail`), from the sender identity
//! `MAIL_FROM`. Locally and in the tests the same calls go to moto server's
//! SES (`AWS_ENDPOINT_URL_SESV2`), from which the tests read what was sent.

use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use futures_util::future::BoxFuture;

use super::{Mail, MailError, Mailer};
use crate::domain::EmailAddress;
use crate::sdk_settings::{SdkSettings, Service};

pub struct SesMailer {
    client: aws_sdk_sesv2::Client,
    from: EmailAddress,
}

impl SesMailer {
    pub fn new(sdk: &SdkSettings, from: EmailAddress) -> Self {
        SesMailer { client: aws_sdk_sesv2::Client::new(&sdk.sdk_config(Service::SesV2)), from }
    }

    async fn send_now(&self, mail: Mail) -> Result<(), MailError> {
        let content = |data: String| Content::builder().data(data).charset("UTF-8").build();
        let failed = |err: aws_sdk_sesv2::error::BuildError| MailError(err.into());
        let message = Message::builder()
            .subject(content(mail.subject).map_err(failed)?)
            .body(
                Body::builder()
                    .text(content(mail.text).map_err(failed)?)
                    .html(content(mail.html).map_err(failed)?)
                    .build(),
            )
            .build();
        self.client
            .send_email()
            .from_email_address(self.from.as_str())
            .destination(Destination::builder().to_addresses(mail.to.as_str()).build())
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map_err(|err| MailError(err.into()))?;
        Ok(())
    }
}

impl Mailer for SesMailer {
    fn send(&self, mail: Mail) -> BoxFuture<'_, Result<(), MailError>> {
        Box::pin(self.send_now(mail))
    }
}
