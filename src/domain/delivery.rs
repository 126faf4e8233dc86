//! Where the delivery of one notification to one target stands.

use chrono::{DateTime, Utc};

use crate::domain::vocabulary::vocabulary;

vocabulary! {
    /// A delivery's state.
    pub enum DeliveryState ("delivery state") {
        /// Not delivered yet: waiting for its first attempt or its next retry.
        Pending = "pending",
        /// The receiver accepted it (2xx).
        Delivered = "delivered",
        /// Retries ran out (a day of them), or an operator's test failed.
        Failed = "failed",
        /// The receiver said it is gone (410, or Slack's 404/410): nothing more is sent there.
        Gone = "gone",
    }
}

/// One delivery, as operators and the brief see it.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct DeliveryRecord {
    /// Its number: what `firebreak notifications redeliver` takes.
    pub id: i64,
    /// The target's name.
    pub target: String,
    /// The event's wire type, e.g. `incident.resolved`.
    pub event_type: String,
    /// Where it stands.
    pub state: DeliveryState,
    /// Attempts so far.
    pub attempts: i32,
    /// The last HTTP status answered, if any.
    pub last_status: Option<i32>,
    /// The last error, if any.
    pub last_error: Option<String>,
    /// When the next attempt is due (pending deliveries).
    pub next_attempt_at: DateTime<Utc>,
}

impl DeliveryRecord {
    /// One line for the brief: what failed, how, and what happens next.
    pub fn line(&self) -> String {
        let how = match (self.last_status, &self.last_error) {
            (Some(status), Some(error)) => format!("HTTP {status}: {error}"),
            (Some(status), None) => format!("HTTP {status}"),
            (None, Some(error)) => error.clone(),
            (None, None) => "no answer".to_owned(),
        };
        let next = match self.state {
            DeliveryState::Pending => format!(
                "retrying at {}",
                self.next_attempt_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
            DeliveryState::Gone => "the target is disabled".to_owned(),
            _ => "not retried".to_owned(),
        };
        format!(
            "{} to {} {} after {} attempt{} ({how}); {next}; an operator can resend it with `firebreak notifications redeliver {}`",
            self.event_type,
            self.target,
            match self.state {
                DeliveryState::Pending => "is failing",
                DeliveryState::Gone => "was refused for good",
                _ => "failed",
            },
            self.attempts,
            if self.attempts == 1 { "" } else { "s" },
            self.id
        )
    }
}
