//! Refusals counted since the process started, by policy: the counters `GET /metrics` exposes.
//! The ledger keeps the last hour's refusals with their keys for the abuse view; these only
//! grow, as Prometheus counters must.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::policies;

/// Every policy that can refuse, so each series exists (at 0) from the start.
const POLICIES: [&str; 8] = [
    policies::API,
    policies::SMS,
    policies::LOGIN_IP,
    policies::LOGIN_EMAIL,
    policies::LOGIN_ACCOUNT,
    policies::WS_IP,
    policies::WS_USER,
    policies::CHURCH_RECIPIENTS,
];

pub struct Denials(Mutex<BTreeMap<&'static str, u64>>);

impl Default for Denials {
    fn default() -> Self {
        Self(Mutex::new(POLICIES.iter().map(|p| (*p, 0)).collect()))
    }
}

impl Denials {
    pub fn record(&self, policy: &'static str) {
        let mut counts = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *counts.entry(policy).or_default() += 1;
    }

    pub fn snapshot(&self) -> Vec<(&'static str, u64)> {
        let counts = self.0.lock().unwrap_or_else(|p| p.into_inner());
        counts.iter().map(|(p, n)| (*p, *n)).collect()
    }
}
