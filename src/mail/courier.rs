//! The mail courier: about once a second every node claims the notification emails that are
//! due (see `db::notification_mail`), decides what happens to each now (`domain::email_plan`:
//! send, wait for its fallback delay or quiet hours to end, gather into a digest, or drop
//! because it was read in the app), sends what goes, and records the outcome.
//!
//! A send refused for now is retried as `domain::delivery_retry` says (backoff, then `failed`
//! after its last try); one refused for good (a 5xx answer) is recorded `failed` with the
//! server's reason at once.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use futures_util::{StreamExt, stream};
use tokio::sync::watch;

use super::compose::{self, Addressee, Item};
use super::{MailError, Mailer};
use crate::auth::OpenSockets;
use crate::clock::SharedClock;
use crate::db::notification_mail::{self, DueEmail, Outcome};
use crate::db::{DbError, DbPool};
use crate::domain::delivery_retry;
use crate::domain::email_plan::{self, DIGEST, Due, EmailPlan, READ_IN_APP, Step};
use crate::periodic::drain;
use crate::telemetry::Metrics;

/// Deliveries claimed at once.
const BATCH: i64 = 200;
/// Users whose digests are claimed at once.
const DIGEST_USERS: i64 = 50;
/// Emails being sent at once.
const CONCURRENCY: usize = 16;
/// How long a claim holds a delivery: longer than any send takes.
const LEASE_SECS: f64 = 120.0;

pub struct Courier {
    pub pool: DbPool,
    pub clock: SharedClock,
    pub mailer: Arc<dyn Mailer>,
    /// This node's authenticated sockets: who is online, for `offline` emails.
    pub sockets: OpenSockets,
    pub metrics: Arc<Metrics>,
    /// Where the console is served, for the emails' links.
    pub console: String,
    /// How long a notification may stay unread before it is emailed.
    pub fallback: TimeDelta,
}

/// Runs the courier every `every` until shutdown.
pub fn spawn(courier: Arc<Courier>, every: Duration, shutdown: watch::Receiver<bool>) {
    crate::periodic::spawn_every(every, shutdown, move || {
        let courier = Arc::clone(&courier);
        async move { courier.pass().await }
    });
}

impl Courier {
    /// Works through what is due now.
    pub async fn pass(&self) {
        if drain(BATCH, "notification emails", || self.singles()).await {
            drain(DIGEST_USERS, "notification digests", || self.digests()).await;
        }
    }

    /// One batch of emails that go one by one; how many were claimed.
    async fn singles(&self) -> Result<usize, DbError> {
        let now = self.clock.now();
        let due = notification_mail::claim_due(&self.pool, now, LEASE_SECS, BATCH).await?;
        let claimed = due.len();
        let outcomes: Vec<(i64, Outcome)> = stream::iter(due)
            .map(|email| async move {
                let id = email.notification_id;
                (id, self.settle(email, now).await)
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        self.record(&outcomes).await?;
        Ok(claimed)
    }

    async fn settle(&self, email: DueEmail, now: DateTime<Utc>) -> Outcome {
        let online = email.plan == EmailPlan::Offline && self.sockets.holds(email.user_id);
        let step = email_plan::when_due(
            due_of(&email, online),
            &email.preferences,
            now,
            self.fallback,
        );
        if let Some(outcome) = unsent(step) {
            return outcome;
        }
        let to = addressee(&email);
        let written = match &email.written {
            Some(w) => {
                compose::written(to, (&w.subject, &w.text, w.html.as_deref()), &self.console)
            }
            None => {
                let item = Item {
                    title: &email.title,
                    body: &email.body,
                };
                compose::notification(to, item, &self.console)
            }
        };
        let sent = self.mailer.send(&written).await;
        after_send(sent, email.plan, email.attempts, now, false)
    }

    /// One batch of users' digests; how many users were claimed.
    async fn digests(&self) -> Result<usize, DbError> {
        let now = self.clock.now();
        let due =
            notification_mail::claim_digests(&self.pool, now, LEASE_SECS, DIGEST_USERS).await?;
        let mut by_user: BTreeMap<i64, Vec<DueEmail>> = BTreeMap::new();
        for email in due {
            by_user.entry(email.user_id).or_default().push(email);
        }
        let users = by_user.len();
        let outcomes: Vec<Vec<(i64, Outcome)>> = stream::iter(by_user.into_values())
            .map(|emails| self.digest(emails, now))
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        self.record(&outcomes.concat()).await?;
        Ok(users)
    }

    /// One user's digest: what they already read is dropped, the rest goes as one email.
    async fn digest(&self, emails: Vec<DueEmail>, now: DateTime<Utc>) -> Vec<(i64, Outcome)> {
        let (read, unread): (Vec<_>, Vec<_>) = emails.into_iter().partition(|e| e.dealt_with);
        let mut outcomes: Vec<(i64, Outcome)> = read
            .iter()
            .map(|e| (e.notification_id, Outcome::Skipped(READ_IN_APP)))
            .collect();
        let Some(first) = unread.first() else {
            return outcomes;
        };
        let step =
            email_plan::when_due(due_of(first, false), &first.preferences, now, self.fallback);
        let outcome = match unsent(step) {
            Some(outcome) => outcome,
            None => {
                let items: Vec<Item<'_>> = unread
                    .iter()
                    .map(|e| Item {
                        title: &e.title,
                        body: &e.body,
                    })
                    .collect();
                let email = compose::digest(addressee(first), &items, &self.console);
                let sent = self.mailer.send(&email).await;
                after_send(sent, EmailPlan::Digest, first.attempts, now, true)
            }
        };
        outcomes.extend(unread.iter().map(|e| (e.notification_id, outcome.clone())));
        outcomes
    }

    async fn record(&self, outcomes: &[(i64, Outcome)]) -> Result<(), DbError> {
        notification_mail::record(&self.pool, "email", outcomes, self.clock.now()).await?;
        for status in ["sent", "failed", "skipped", "held"] {
            let n = outcomes
                .iter()
                .filter(|(_, o)| o.status() == status)
                .count();
            self.metrics
                .notification_deliveries("email", status, n as u64);
        }
        Ok(())
    }
}

/// What a due email becomes when it is not sent now; `None` when it is to be sent.
fn unsent(step: Step) -> Option<Outcome> {
    match step {
        Step::Send => None,
        Step::Skip(why) => Some(Outcome::Skipped(why)),
        Step::Later {
            plan,
            due,
            held,
            reason,
        } => Some(Outcome::Later {
            plan,
            due,
            held,
            reason: reason.map(str::to_owned),
            tried: false,
        }),
    }
}

fn due_of(email: &DueEmail, online: bool) -> Due {
    Due {
        plan: email.plan,
        priority: email.priority,
        created_at: email.created_at,
        dealt_with: email.dealt_with,
        online,
        digest_window: email.digest_window,
    }
}

fn addressee(email: &DueEmail) -> Addressee<'_> {
    Addressee {
        email: &email.to,
        name: &email.name,
        church_id: email.church_id,
    }
}

/// What a send's result makes of the delivery, after `attempts` earlier tries.
fn after_send(
    sent: Result<(), MailError>,
    plan: EmailPlan,
    attempts: i32,
    now: DateTime<Utc>,
    digest: bool,
) -> Outcome {
    match sent {
        Ok(()) => Outcome::Sent,
        Err(MailError::Permanent(why)) => Outcome::Failed(why),
        Err(MailError::Transient(why)) => match delivery_retry::retry_at(attempts, now) {
            None => Outcome::Failed(delivery_retry::gave_up(&why)),
            Some(due) => Outcome::Later {
                plan,
                due,
                // A digest waits as a digest, so that it goes again as one email.
                held: digest,
                reason: Some(if digest { DIGEST.to_owned() } else { why }),
                tried: true,
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_failures_back_off_then_give_up_and_permanent_ones_fail_at_once() {
        let now = DateTime::<Utc>::UNIX_EPOCH;
        let busy = || Err(MailError::Transient("421 busy".into()));
        let later = |attempts| match after_send(busy(), EmailPlan::Now, attempts, now, false) {
            Outcome::Later {
                due,
                tried: true,
                held: false,
                ..
            } => due - now,
            other => panic!("not retried: {other:?}"),
        };
        assert_eq!(later(0), TimeDelta::seconds(30));
        assert_eq!(later(1), TimeDelta::seconds(60));
        assert_eq!(later(7), delivery_retry::RETRY_MOST);
        assert_eq!(
            after_send(
                busy(),
                EmailPlan::Now,
                delivery_retry::ATTEMPTS - 1,
                now,
                false
            ),
            Outcome::Failed("gave up after 10 tries: 421 busy".into())
        );
        let refused = Err(MailError::Permanent("550 no such user".into()));
        assert_eq!(
            after_send(refused, EmailPlan::Now, 0, now, false),
            Outcome::Failed("550 no such user".into())
        );
    }
}
