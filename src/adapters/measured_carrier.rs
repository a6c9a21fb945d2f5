//! A carrier that counts its calls: each send's outcome and how long it took, for `/metrics`.
//! It wraps whichever carrier the server uses (Telnyx or the sandbox) so that both are
//! measured alike.

use std::sync::Arc;
use std::time::Instant;

use belfry_actors::ports::{
    CarrierStatus, FailureKind, OutboundSms, PortFuture, SendFailure, SmsGateway,
};
use metrics::{Counter, Histogram, Label};

use crate::telemetry::throughput::Throughput;
use crate::telemetry::{CARRIER_DURATION, Metrics, SEND_ATTEMPTS};

pub struct MeasuredCarrier {
    inner: Arc<dyn SmsGateway>,
    accepted: Counter,
    retryable: Counter,
    permanent: Counter,
    opted_out: Counter,
    duration: Histogram,
    /// Accepted sends, by church, for the dashboard's chart.
    throughput: Arc<Throughput>,
}

impl MeasuredCarrier {
    /// `carrier` names it in the series (`telnyx`, `sandbox`).
    pub fn wrap(
        inner: Arc<dyn SmsGateway>,
        carrier: &'static str,
        metrics: &Metrics,
    ) -> Arc<dyn SmsGateway> {
        let attempts = |outcome: &'static str| {
            metrics.counter(
                SEND_ATTEMPTS,
                vec![
                    Label::from_static_parts("carrier", carrier),
                    Label::from_static_parts("outcome", outcome),
                ],
            )
        };
        Arc::new(Self {
            inner,
            accepted: attempts("accepted"),
            retryable: attempts("retryable"),
            permanent: attempts("permanent"),
            opted_out: attempts("opted_out"),
            duration: metrics.histogram(
                CARRIER_DURATION,
                vec![Label::from_static_parts("carrier", carrier)],
            ),
            throughput: Arc::clone(metrics.throughput()),
        })
    }
}

impl SmsGateway for MeasuredCarrier {
    fn send(&self, sms: OutboundSms) -> PortFuture<'_, Result<String, SendFailure>> {
        Box::pin(async move {
            let started = Instant::now();
            let church = sms.church_id;
            let outcome = self.inner.send(sms).await;
            self.duration.record(started.elapsed().as_secs_f64());
            let counter = match &outcome {
                Ok(_) => {
                    self.throughput.church(church).send_accepted();
                    &self.accepted
                }
                Err(failure) => match failure.kind {
                    FailureKind::Retryable => &self.retryable,
                    FailureKind::Permanent => &self.permanent,
                    FailureKind::RecipientOptedOut => &self.opted_out,
                },
            };
            counter.increment(1);
            outcome
        })
    }

    fn lookup(
        &self,
        provider_message_id: String,
    ) -> PortFuture<'_, Result<Option<CarrierStatus>, SendFailure>> {
        self.inner.lookup(provider_message_id)
    }
}
