//! Incident statuses and which moves between them the lifecycle allows.
//!
//! ```text
//! triage ─► investigating ◄─► identified ◄─► monitoring ─► resolved ─► closed
//!   ├─► declined (from triage or any live state)
//!   └─► merged   (from triage or any live state, into an incident that is not terminal)
//!                              resolved ─► investigating (reopen, with a reason)
//! ```

use crate::domain::vocabulary::vocabulary;

vocabulary! {
    /// Where an incident is in its lifecycle.
    pub enum Status ("incident status") {
        /// Reported, not yet confirmed as an incident.
        Triage = "triage",
        /// Live: responders are looking for the cause.
        Investigating = "investigating",
        /// Live: the cause is known, a fix is under way.
        Identified = "identified",
        /// Live: mitigated, responders are watching.
        Monitoring = "monitoring" | "mitigated",
        /// Impact has ended; learning follows.
        Resolved = "resolved",
        /// Terminal: the post-incident work is done.
        Closed = "closed",
        /// Terminal: not an incident (false alarm).
        Declined = "declined",
        /// Terminal: folded into another incident.
        Merged = "merged",
    }
}

impl Status {
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
