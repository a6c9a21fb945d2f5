//! Email: what one outgoing email is, the `Mailer` that sends it (SMTP, or the sandbox that
//! keeps what it is given; both in `crate::adapters`), how a notification becomes an email
//! (`compose`), and the courier that sends notifications' emails when they are due.

pub mod compose;
pub mod courier;

use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Utc};

/// One email, written and addressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub to: String,
    pub to_name: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The church of the person it is for (none for operators): whose mail it is.
    pub church_id: Option<i64>,
}

/// Why an email was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// Refused for good (a 5xx answer, an address that cannot be written): retrying will not help.
    #[error("{0}")]
    Permanent(String),
    /// Refused or unreachable for now: worth trying again later.
    #[error("{0}")]
    Transient(String),
}

pub type MailFuture<'a> = Pin<Box<dyn Future<Output = Result<(), MailError>> + Send + 'a>>;

/// Sends email.
pub trait Mailer: Send + Sync + 'static {
    fn send<'a>(&'a self, email: &'a Email) -> MailFuture<'a>;
}

/// An email the sandbox mailer kept instead of sending.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeptEmail {
    pub id: u64,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub sent_at: DateTime<Utc>,
    #[serde(skip)]
    pub church_id: Option<i64>,
}
