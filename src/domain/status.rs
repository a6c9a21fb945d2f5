//! A recipient's delivery status and the order in which statuses may follow each other.
//!
//! Carriers report out of order; the rank makes the latest stage win whatever order the
//! reports arrive in, and a final status is never left.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecipientStatus {
    Pending,
    /// Accepted by the carrier.
    Queued,
    Sending,
    Sent,
    DeliveryUnconfirmed,
    Delivered,
    DeliveryFailed,
    SendingFailed,
    Expired,
    /// Given up by Belfry (dead-lettered).
    Failed,
    /// Not sent: the member opted out before it was their turn.
    Skipped,
}

impl RecipientStatus {
    /// Parses a Telnyx `to[].status` value (and Belfry's own).
    pub fn parse(input: &str) -> Option<Self> {
        Some(match input {
            "pending" => Self::Pending,
            "queued" => Self::Queued,
            "sending" => Self::Sending,
            "sent" => Self::Sent,
            "delivery_unconfirmed" => Self::DeliveryUnconfirmed,
            "delivered" => Self::Delivered,
            "delivery_failed" => Self::DeliveryFailed,
            "sending_failed" => Self::SendingFailed,
            "expired" => Self::Expired,
            "failed" => Self::Failed,
            "skipped" => Self::Skipped,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Queued => "queued",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::DeliveryUnconfirmed => "delivery_unconfirmed",
            Self::Delivered => "delivered",
            Self::DeliveryFailed => "delivery_failed",
            Self::SendingFailed => "sending_failed",
            Self::Expired => "expired",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
        }
    }

    pub fn rank(self) -> i16 {
        match self {
            Self::Pending => 0,
            Self::Queued => 1,
            Self::Sending => 2,
            Self::Sent => 3,
            Self::DeliveryUnconfirmed => 4,
            _ => 5,
        }
    }

    pub fn is_final(self) -> bool {
        self.rank() == 5
    }

    pub fn is_failure(self) -> bool {
        matches!(
            self,
            Self::DeliveryFailed
                | Self::SendingFailed
                | Self::Expired
                | Self::Failed
                | Self::Skipped
        )
    }
}

#[cfg(test)]
mod tests {
    use super::RecipientStatus::*;

    #[test]
    fn later_stages_outrank_earlier_ones() {
        assert!(Sent.rank() > Queued.rank());
        assert!(Delivered.rank() > Sent.rank());
        assert!(DeliveryFailed.rank() > Sent.rank());
        assert!(Delivered.is_final() && !Delivered.is_failure());
        assert!(Expired.is_final() && Expired.is_failure());
    }
}
