//! Incident statuses and which moves between them the lifecycle allows.
//!
//! ```text
//! triage ─► investigating ◄─► identified ◄─► monitoring ─► resolved ─► closed
//!   ├─► declined (from triage or any live state)
//!   └─► merged   (from triage or any live state, into an incident that is not terminal)
//!                              resolved ─► investigating (reopen, with a reason)
//! ```

use std::fmt;
use std::str::FromStr;

/// Where an incident is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// Reported, not yet confirmed as an incident.
    Triage,
    /// Live: responders are looking for the cause.
    Investigating,
    /// Live: the cause is known, a fix is under way.
    Identified,
    /// Live: mitigated, responders are watching.
    Monitoring,
    /// Impact has ended; learning follows.
    Resolved,
    /// Terminal: the post-incident work is done.
    Closed,
    /// Terminal: not an incident (false alarm).
    Declined,
    /// Terminal: folded into another incident.
    Merged,
}

impl Status {
    /// Every status, in lifecycle order.
    pub const ALL: [Status; 8] = [
        Status::Triage,
        Status::Investigating,
        Status::Identified,
        Status::Monitoring,
        Status::Resolved,
        Status::Closed,
        Status::Declined,
        Status::Merged,
    ];

    /// The wire spelling, e.g. `investigating`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Triage => "triage",
            Status::Investigating => "investigating",
            Status::Identified => "identified",
            Status::Monitoring => "monitoring",
            Status::Resolved => "resolved",
            Status::Closed => "closed",
            Status::Declined => "declined",
            Status::Merged => "merged",
        }
    }

    /// True for `investigating`, `identified` and `monitoring`.
    pub fn is_live(self) -> bool {
        matches!(
            self,
            Status::Investigating | Status::Identified | Status::Monitoring
        )
    }

    /// True while the incident is being worked (triage or live): such an incident can
    /// absorb repeat signals through its `dedup_key`.
    pub fn is_open(self) -> bool {
        self == Status::Triage || self.is_live()
    }

    /// True for `closed`, `declined` and `merged`: nothing can change the status again.
    pub fn is_terminal(self) -> bool {
        matches!(self, Status::Closed | Status::Declined | Status::Merged)
    }

    /// The statuses reachable from this one, in lifecycle order.
    pub fn allowed_next(self) -> Vec<Status> {
        Status::ALL
            .into_iter()
            .filter(|&to| self.can_move_to(to))
            .collect()
    }

    /// Whether the lifecycle allows moving from `self` to `to`.
    pub fn can_move_to(self, to: Status) -> bool {
        use Status::*;
        match (self, to) {
            (a, b) if a == b => false,
            (Triage, Investigating | Identified | Monitoring) => true,
            (a, b) if a.is_live() && b.is_live() => true,
            (a, Resolved) => a.is_live(),
            (a, Declined | Merged) => a.is_open(),
            (Resolved, Closed | Investigating) => true,
            _ => false,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Status::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| format!("unknown status `{s}`"))
    }
}
