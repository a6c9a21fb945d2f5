//! The `Mailer` over SMTP (lettre): a pool of connections to `BELFRY_SMTP_URL`, messages as
//! multipart text and HTML from `BELFRY_MAIL_FROM`. The server's own answer decides whether a
//! refusal is for good (5xx) or worth retrying (4xx, no connection, a timeout).

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::mail::{Email, MailError, MailFuture, Mailer};

/// Connections kept open to the mail server.
const POOL: u32 = 16;
/// How long one SMTP exchange may take.
const TIMEOUT: Duration = Duration::from_secs(15);

pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

#[derive(Debug, thiserror::Error)]
#[error("BELFRY_SMTP_URL cannot be used: {0}")]
pub struct SmtpUrlError(String);

impl SmtpMailer {
    /// A mailer for `url` (`smtp://host:port`, `smtps://user:pass@host`, `?tls=required` for
    /// STARTTLS), sending from `from`.
    pub fn new(url: &str, from: Mailbox) -> Result<Self, SmtpUrlError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| SmtpUrlError(e.to_string()))?
            .timeout(Some(TIMEOUT))
            .pool_config(PoolConfig::new().max_size(POOL))
            .build();
        Ok(Self { transport, from })
    }

    fn message(&self, email: &Email) -> Result<Message, MailError> {
        let address = email.to.parse().map_err(|e| {
            MailError::Permanent(format!("the address {:?} cannot be used: {e}", email.to))
        })?;
        let to = Mailbox::new(Some(email.to_name.clone()), address);
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&email.subject)
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(email.text.clone()),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(email.html.clone()),
                    ),
            )
            .map_err(|e| MailError::Permanent(format!("the email cannot be written: {e}")))
    }
}

impl Mailer for SmtpMailer {
    fn send<'a>(&'a self, email: &'a Email) -> MailFuture<'a> {
        Box::pin(async move {
            let message = self.message(email)?;
            match self.transport.send(message).await {
                Ok(_) => Ok(()),
                Err(e) if e.is_permanent() => Err(MailError::Permanent(e.to_string())),
                Err(e) => Err(MailError::Transient(e.to_string())),
            }
        })
    }
}
