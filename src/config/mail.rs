//! Email's settings: the SMTP server (or the sandbox mailer), the sender, and how the mail
//! courier times notifications' emails.

use std::time::Duration;

use lettre::message::Mailbox;

use super::source::{ConfigError, Source, err, millis, parsed};

#[derive(Clone, Debug)]
pub struct MailConfig {
    /// `BELFRY_SMTP_URL`; `None` keeps emails in the sandbox mailer.
    pub smtp_url: Option<String>,
    /// `BELFRY_MAIL_FROM`.
    pub from: Mailbox,
    /// `BELFRY_NOTIFY_FALLBACK_SECS`: how long a notification may stay unread before it is
    /// emailed.
    pub fallback: Duration,
    /// How often the courier looks for emails that are due (`BELFRY_MAIL_EVERY_MS`).
    pub every: Duration,
}

pub(super) fn mail(src: &dyn Source) -> Result<MailConfig, ConfigError> {
    let smtp_url = match src.get("BELFRY_SMTP_URL").filter(|u| !u.trim().is_empty()) {
        Some(raw) => {
            let url =
                url::Url::parse(raw.trim()).map_err(|e| err("BELFRY_SMTP_URL", e.to_string()))?;
            if !matches!(url.scheme(), "smtp" | "smtps") {
                return Err(err("BELFRY_SMTP_URL", "must start smtp:// or smtps://"));
            }
            if url.host_str().is_none_or(str::is_empty) {
                return Err(err("BELFRY_SMTP_URL", "must name the mail server's host"));
            }
            Some(raw.trim().to_owned())
        }
        None => None,
    };
    let from = src
        .get("BELFRY_MAIL_FROM")
        .unwrap_or_else(|| "Belfry <belfry@localhost>".to_owned())
        .parse::<Mailbox>()
        .map_err(|e| err("BELFRY_MAIL_FROM", format!("is not an address: {e}")))?;
    let every = millis(src, "BELFRY_MAIL_EVERY_MS", 1000)?;
    if every.is_zero() {
        return Err(err("BELFRY_MAIL_EVERY_MS", "must be more than 0"));
    }
    Ok(MailConfig {
        smtp_url,
        from,
        fallback: Duration::from_secs(parsed(src, "BELFRY_NOTIFY_FALLBACK_SECS", 300)?),
        every,
    })
}
