//! The carrier and the delivery pipeline's settings: Telnyx or the sandbox, retries, pacing,
//! the sender pool, the outbox, the circuit breaker and asking the carrier about late reports.

use std::time::Duration;

use belfry_actors::delivery::DeliveryConfig;
use belfry_actors::delivery::backoff::Backoff;
use belfry_actors::delivery::breaker::BreakerConfig;
use belfry_actors::delivery::reconciler::ReconcileConfig;

use super::CarrierConfig;
use super::source::{ConfigError, Source, err, millis, parsed};

pub(super) fn carrier(src: &dyn Source) -> Result<CarrierConfig, ConfigError> {
    let from_number = src.get("TELNYX_FROM_NUMBER");
    let Some(api_key) = src.get("TELNYX_API_KEY") else {
        let failure_rate: f64 = parsed(src, "BELFRY_SANDBOX_FAILURE_RATE", 0.0)?;
        if !(0.0..=1.0).contains(&failure_rate) {
            return Err(err(
                "BELFRY_SANDBOX_FAILURE_RATE",
                "must be between 0 and 1",
            ));
        }
        let reply_rate: f64 = parsed(src, "BELFRY_SANDBOX_REPLY_RATE", 0.0)?;
        if !(0.0..=1.0).contains(&reply_rate) {
            return Err(err("BELFRY_SANDBOX_REPLY_RATE", "must be between 0 and 1"));
        }
        return Ok(CarrierConfig::Sandbox {
            from_number: from_number.unwrap_or_else(|| "+15550100000".to_owned()),
            failure_rate,
            reply_rate,
            report_delay: millis(src, "BELFRY_SANDBOX_DELAY_MS", 800)?,
        });
    };
    let base_url = src
        .get("TELNYX_BASE_URL")
        .unwrap_or_else(|| "https://api.telnyx.com".to_owned());
    url::Url::parse(&base_url).map_err(|e| err("TELNYX_BASE_URL", e.to_string()))?;
    let public_key = src.get("TELNYX_PUBLIC_KEY").ok_or_else(|| {
        err(
            "TELNYX_PUBLIC_KEY",
            "is required with TELNYX_API_KEY (webhooks cannot be verified without it)",
        )
    })?;
    crate::telnyx::signature::WebhookVerifier::from_base64(&public_key, Duration::ZERO)
        .map_err(|e| err("TELNYX_PUBLIC_KEY", e.to_string()))?;
    let from_number =
        from_number.ok_or_else(|| err("TELNYX_FROM_NUMBER", "is required with TELNYX_API_KEY"))?;
    Ok(CarrierConfig::Telnyx {
        api_key,
        base_url: base_url.trim_end_matches('/').to_owned(),
        public_key,
        from_number,
        messaging_profile_id: src.get("TELNYX_MESSAGING_PROFILE_ID"),
    })
}

pub(super) fn breaker(src: &dyn Source) -> Result<BreakerConfig, ConfigError> {
    let d = BreakerConfig::default();
    let percent = |var: &'static str, default: f64| -> Result<f64, ConfigError> {
        let v: f64 = parsed(src, var, default)?;
        if !(0.0..=100.0).contains(&v) || v == 0.0 {
            return Err(err(var, "must be a percentage above 0 and at most 100"));
        }
        Ok(v)
    };
    let at_least_one = |var: &'static str, default: usize| -> Result<usize, ConfigError> {
        let v: usize = parsed(src, var, default)?;
        if v == 0 {
            return Err(err(var, "must be at least 1"));
        }
        Ok(v)
    };
    Ok(BreakerConfig {
        window_size: at_least_one("BELFRY_BREAKER_WINDOW", d.window_size)?,
        minimum_calls: at_least_one("BELFRY_BREAKER_MIN_CALLS", d.minimum_calls)?,
        failure_rate_threshold: percent("BELFRY_BREAKER_FAILURE_RATE", d.failure_rate_threshold)?,
        slow_call_threshold: millis(src, "BELFRY_BREAKER_SLOW_CALL_MS", 5_000)?,
        slow_call_rate_threshold: percent(
            "BELFRY_BREAKER_SLOW_CALL_RATE",
            d.slow_call_rate_threshold,
        )?,
        wait_in_open: millis(src, "BELFRY_BREAKER_OPEN_MS", 30_000)?,
        half_open_calls: at_least_one("BELFRY_BREAKER_HALF_OPEN_CALLS", d.half_open_calls)?,
    })
}

pub(super) fn delivery(src: &dyn Source) -> Result<DeliveryConfig, ConfigError> {
    let d = DeliveryConfig::default();
    let max_attempts: u32 = parsed(src, "BELFRY_SEND_MAX_ATTEMPTS", d.max_attempts)?;
    if max_attempts == 0 {
        return Err(err("BELFRY_SEND_MAX_ATTEMPTS", "must be at least 1"));
    }
    let factor: f64 = parsed(src, "BELFRY_SEND_BACKOFF_FACTOR", d.backoff.factor)?;
    if !(1.0..=10.0).contains(&factor) {
        return Err(err(
            "BELFRY_SEND_BACKOFF_FACTOR",
            "must be between 1 and 10",
        ));
    }
    let workers: usize = parsed(src, "BELFRY_SENDER_WORKERS", d.workers)?;
    if workers == 0 {
        return Err(err("BELFRY_SENDER_WORKERS", "must be at least 1"));
    }
    Ok(DeliveryConfig {
        max_attempts,
        backoff: Backoff {
            base: millis(src, "BELFRY_SEND_BACKOFF_BASE_MS", 1000)?,
            factor,
            max: millis(src, "BELFRY_SEND_BACKOFF_MAX_MS", 60_000)?,
        },
        send_timeout: millis(src, "BELFRY_SEND_TIMEOUT_MS", 10_000)?,
        workers,
        send_rate: {
            let rate: f64 = parsed(src, "BELFRY_SEND_RATE", d.send_rate)?;
            if !rate.is_finite() || rate < 0.0 {
                return Err(err("BELFRY_SEND_RATE", "must be 0 (unpaced) or more"));
            }
            rate
        },
        breaker: breaker(src)?,
        outbox_batch: parsed(src, "BELFRY_OUTBOX_BATCH", d.outbox_batch)?.max(1),
        outbox_poll: millis(src, "BELFRY_OUTBOX_POLL_MS", 1000)?.max(Duration::from_millis(10)),
        outbox_reap: millis(src, "BELFRY_OUTBOX_REAP_MS", 5000)?.max(Duration::from_millis(100)),
        reconcile: reconcile(src)?,
    })
}

fn reconcile(src: &dyn Source) -> Result<ReconcileConfig, ConfigError> {
    let d = ReconcileConfig::default();
    let after = parsed(src, "BELFRY_RECONCILE_AFTER_SECS", d.after.as_secs())?;
    if after == 0 {
        return Err(err("BELFRY_RECONCILE_AFTER_SECS", "must be at least 1"));
    }
    let unconfirmed = parsed(
        src,
        "BELFRY_UNCONFIRMED_AFTER_SECS",
        d.unconfirmed_after.as_secs(),
    )?;
    if unconfirmed < after {
        return Err(err(
            "BELFRY_UNCONFIRMED_AFTER_SECS",
            "must be at least BELFRY_RECONCILE_AFTER_SECS",
        ));
    }
    let rate: f64 = parsed(src, "BELFRY_RECONCILE_RATE", d.rate)?;
    if !rate.is_finite() || rate <= 0.0 {
        return Err(err("BELFRY_RECONCILE_RATE", "must be more than 0"));
    }
    Ok(ReconcileConfig {
        after: Duration::from_secs(after),
        unconfirmed_after: Duration::from_secs(unconfirmed),
        rate,
        batch: parsed(src, "BELFRY_RECONCILE_BATCH", d.batch)?.max(1),
        poll: millis(src, "BELFRY_RECONCILE_POLL_MS", 10_000)?.max(Duration::from_millis(10)),
    })
}
