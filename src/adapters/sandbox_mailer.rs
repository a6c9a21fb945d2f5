//! The `Mailer` with no mail server (no `BELFRY_SMTP_URL`): it keeps the latest emails it is
//! given in memory, for `GET /api/admin/mail`, as the sandbox carrier does for texts.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::clock::SharedClock;
use crate::mail::{Email, KeptEmail, MailFuture, Mailer};

/// Emails kept; older ones are dropped.
pub const KEPT: usize = 1000;

pub struct SandboxMailer {
    kept: Mutex<VecDeque<KeptEmail>>,
    next_id: AtomicU64,
    clock: SharedClock,
}

impl SandboxMailer {
    pub fn new(clock: SharedClock) -> Self {
        Self {
            kept: Mutex::new(VecDeque::with_capacity(64)),
            next_id: AtomicU64::new(1),
            clock,
        }
    }

    /// The newest `limit` emails `church` may see (every church's for `None`), newest first.
    pub fn latest(&self, church: Option<i64>, limit: usize) -> Vec<KeptEmail> {
        let kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        kept.iter()
            .rev()
            .filter(|m| church.is_none() || m.church_id == church)
            .take(limit)
            .cloned()
            .collect()
    }
}

impl Mailer for SandboxMailer {
    fn send<'a>(&'a self, email: &'a Email) -> MailFuture<'a> {
        let kept = KeptEmail {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            to: email.to.clone(),
            subject: email.subject.clone(),
            text: email.text.clone(),
            html: email.html.clone(),
            sent_at: self.clock.now(),
            church_id: email.church_id,
        };
        let mut all = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        if all.len() == KEPT {
            all.pop_front();
        }
        all.push_back(kept);
        Box::pin(std::future::ready(Ok(())))
    }
}
