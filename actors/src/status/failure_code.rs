//! The code a failed recipient's failure is counted under, read from its stored reason.
//!
//! Failures are ranked by carrier code in delivery analytics. A reason is written in one of two
//! ways: a carrier's report, `40008 Undeliverable: ...` (its error code first), or Belfry giving
//! up on a send, `rejected by carrier: HTTP 422, code 40300 (...)` (see the sender's
//! `describe`, which writes [`CODE_MARK`]). A failure with no carrier code at all (the carrier
//! was never reached, the member opted out) counts under its status's name. [`sql`] is the same
//! rule for queries that count stored failures.

use super::RecipientStatus;

/// What precedes the carrier's code in a reason Belfry writes.
pub const CODE_MARK: &str = "code ";

/// The code `reason` names, else the status's own name.
pub fn code_of(status: RecipientStatus, reason: Option<&str>) -> String {
    reason
        .and_then(|r| leading_code(r).or_else(|| marked_code(r)))
        .map(str::to_owned)
        .unwrap_or_else(|| status.as_str().to_owned())
}

fn leading_code(reason: &str) -> Option<&str> {
    let digits = reason.len()
        - reason
            .trim_start_matches(|c: char| c.is_ascii_digit())
            .len();
    let rest = &reason[digits..];
    (digits > 0 && (rest.is_empty() || rest.starts_with(' '))).then(|| &reason[..digits])
}

fn marked_code(reason: &str) -> Option<&str> {
    reason.match_indices(CODE_MARK).find_map(|(at, mark)| {
        let after = &reason[at + mark.len()..];
        let digits = after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        (digits > 0).then(|| &after[..digits])
    })
}

/// [`code_of`] as a SQL expression over a reason column and a status column.
pub fn sql(reason: &str, status: &str) -> String {
    format!(
        "COALESCE(substring({reason} from '^([0-9]+)(?: |$)'), \
         substring({reason} from '{CODE_MARK}([0-9]+)'), {status})"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_carrier_report_counts_under_its_leading_code() {
        let code = code_of(
            RecipientStatus::DeliveryFailed,
            Some("30003 Unreachable destination handset: phone off"),
        );
        assert_eq!(code, "30003");
        assert_eq!(code_of(RecipientStatus::Expired, Some("40008")), "40008");
    }

    #[test]
    fn belfry_giving_up_counts_under_the_code_it_wrote() {
        let reason = format!("rejected by carrier: HTTP 422, {CODE_MARK}40310 (invalid number)");
        assert_eq!(code_of(RecipientStatus::Failed, Some(&reason)), "40310");
    }

    #[test]
    fn a_failure_without_a_code_counts_under_its_status() {
        assert_eq!(
            code_of(
                RecipientStatus::Failed,
                Some("gave up after 5 attempts: HTTP 503 (busy)")
            ),
            "failed"
        );
        assert_eq!(
            code_of(RecipientStatus::Skipped, Some("opted out")),
            "skipped"
        );
        assert_eq!(code_of(RecipientStatus::Expired, None), "expired");
        // Digits that run into words are not a code.
        assert_eq!(code_of(RecipientStatus::Failed, Some("404x")), "failed");
    }

    #[test]
    fn the_sql_form_reads_the_same_columns() {
        let sql = sql("r.failure_reason", "r.status");
        assert!(sql.contains("substring(r.failure_reason from '^([0-9]+)(?: |$)')"));
        assert!(sql.ends_with("r.status)"));
    }
}
