//! Limits of their own for some churches (`BELFRY_LIMIT_CHURCH_OVERRIDES`): a large church may
//! need more than the defaults, a trial one less. They replace the role's limit for every user
//! of the church.

use std::collections::HashMap;

use belfry_actors::limiter::{Limit, Policy};

use super::spec::{API, NOTIFY, SMS, WS_USER, parse_limit};
use crate::config::{ConfigError, Source};
use crate::db::new_message::DailyQuota;

/// The name of the daily quota in `BELFRY_LIMIT_CHURCH_OVERRIDES`.
const RECIPIENTS_PER_DAY: &str = "recipients-per-day";
pub(super) const OVERRIDES_VAR: &str = "BELFRY_LIMIT_CHURCH_OVERRIDES";

/// `BELFRY_LIMIT_CHURCH_OVERRIDES`: `church:policy=value` entries separated by commas, e.g.
/// `7:api=5000/3600/500, 7:sms=500/3600, 12:recipients-per-day=50000`.
#[derive(Default)]
pub(super) struct ChurchOverrides {
    /// (church, policy name) → limit.
    limits: HashMap<(i64, &'static str), Limit>,
    pub(super) quotas: HashMap<i64, Option<DailyQuota>>,
}

impl ChurchOverrides {
    pub(super) fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        let mut overrides = Self::default();
        let Some(text) = src.get(OVERRIDES_VAR) else {
            return Ok(overrides);
        };
        let problem = |problem: String| ConfigError {
            var: OVERRIDES_VAR,
            problem,
        };
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let parsed = entry
                .split_once('=')
                .and_then(|(who, value)| Some((who.split_once(':')?, value.trim())));
            let Some(((church, policy), value)) = parsed else {
                return Err(problem(format!("{entry:?} is not church:policy=value")));
            };
            let church: i64 = church
                .trim()
                .parse()
                .map_err(|_| problem(format!("{entry:?}: {church:?} is not a church id")))?;
            match policy.trim() {
                RECIPIENTS_PER_DAY => {
                    let quota: u32 = value.parse().map_err(|_| {
                        problem(format!(
                            "{entry:?}: {value:?} is not a number of recipients"
                        ))
                    })?;
                    overrides
                        .quotas
                        .insert(church, (quota > 0).then_some(DailyQuota(quota)));
                }
                name => {
                    let Some(name) = [API, SMS, NOTIFY, WS_USER].into_iter().find(|p| *p == name)
                    else {
                        return Err(problem(format!(
                            "{entry:?}: a church may set {API}, {SMS}, {NOTIFY}, {WS_USER} or \
                             {RECIPIENTS_PER_DAY}"
                        )));
                    };
                    let limit =
                        parse_limit(value).map_err(|e| problem(format!("{entry:?}: {e}")))?;
                    overrides.limits.insert((church, name), limit);
                }
            }
        }
        Ok(overrides)
    }

    /// The churches' own limits of one policy.
    pub(super) fn policies(&self, name: &'static str) -> HashMap<i64, Policy> {
        self.limits
            .iter()
            .filter(|((_, policy), _)| *policy == name)
            .map(|((church, _), limit)| (*church, Policy::new(name, *limit)))
            .collect()
    }
}
