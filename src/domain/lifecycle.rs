//! The status lifecycle: which transitions are allowed, and which timestamps they stamp.
//!
//! ```text
//! triage ─► investigating ◄─► identified ◄─► monitoring ─► resolved ─► closed
//!   ├─► declined (from triage or any live state)
//!   └─► merged   (from triage or any live state; needs a live target)
//!                              resolved ─► investigating (reopen, with a reason)
//! ```

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::error::TransitionError;
use crate::domain::incident::Incident;

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

/// The incident another one is being merged into, as loaded by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeTarget {
    /// The target's id.
    pub id: Uuid,
    /// The target's number (for messages).
    pub number: i64,
    /// The target's current status: it must not be terminal.
    pub status: Status,
}

/// A requested status change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// The status to move to.
    pub to: Status,
    /// Why: required to reopen (`resolved` → `investigating`) and to resolve (the resolution).
    pub note: Option<String>,
    /// Required when `to` is `merged`.
    pub merged_into: Option<MergeTarget>,
}

/// What a successful status change did, for the timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    /// The status before.
    pub from: Status,
    /// The status after.
    pub to: Status,
    /// Lifecycle timestamps that this change set for the first time, by column name.
    pub stamped: Vec<&'static str>,
    /// True when a resolved incident was reopened (its `resolved_at` is cleared).
    pub is_reopen: bool,
}

impl Incident {
    /// Applies a status change: checks the lifecycle rule, stamps first-entry timestamps
    /// and bumps nothing else (the store bumps `version`).
    pub fn change_status(
        &mut self,
        transition: Transition,
        now: DateTime<Utc>,
    ) -> Result<StatusChange, TransitionError> {
        let from = self.status;
        let to = transition.to;
        if from == to {
            return Err(TransitionError::AlreadyThere(from));
        }
        if !from.can_move_to(to) {
            return Err(TransitionError::NotAllowed {
                from,
                to,
                allowed: from.allowed_next(),
            });
        }
        let is_reopen = from == Status::Resolved && to == Status::Investigating;
        if is_reopen && transition.note.is_none() {
            return Err(TransitionError::Requires(
                "reopening a resolved incident needs `note`: say why it is being reopened".into(),
            ));
        }
        if to == Status::Resolved && transition.note.is_none() {
            return Err(TransitionError::Requires(
                "resolving needs a resolution summary (`resolution` in resolve_incident, `note` in change_status)".into(),
            ));
        }
        if to == Status::Merged {
            self.merged_into = Some(self.check_merge_target(transition.merged_into.as_ref())?);
        } else if transition.merged_into.is_some() {
            return Err(TransitionError::Requires(
                "`merged_into` is only allowed when `to` is `merged`".into(),
            ));
        }
        if is_reopen {
            self.resolved_at = None;
        }
        if to == Status::Resolved {
            self.resolution = transition.note;
        }
        self.status = to;
        let stamped = self.stamp_first_entry(from, to, now);
        Ok(StatusChange {
            from,
            to,
            stamped,
            is_reopen,
        })
    }

    fn check_merge_target(&self, target: Option<&MergeTarget>) -> Result<Uuid, TransitionError> {
        let Some(target) = target else {
            return Err(TransitionError::Requires(
                "merging needs `merged_into`: the incident that absorbs this one (e.g. INC-12)"
                    .into(),
            ));
        };
        if target.id == self.id {
            return Err(TransitionError::Requires(
                "an incident cannot be merged into itself; name another incident in `merged_into`"
                    .into(),
            ));
        }
        if target.status.is_terminal() {
            return Err(TransitionError::Requires(format!(
                "cannot merge into INC-{} because it is `{}`; merge into an incident that is not closed, declined or merged",
                target.number, target.status
            )));
        }
        Ok(target.id)
    }

    /// Sets each lifecycle timestamp that this move enters for the first time.
    fn stamp_first_entry(
        &mut self,
        from: Status,
        to: Status,
        now: DateTime<Utc>,
    ) -> Vec<&'static str> {
        let mut stamped = Vec::new();
        let mut stamp = |slot: &mut Option<DateTime<Utc>>, name: &'static str| {
            if slot.is_none() {
                *slot = Some(now);
                stamped.push(name);
            }
        };
        if from == Status::Triage && to != Status::Declined && to != Status::Merged {
            stamp(&mut self.acknowledged_at, "acknowledged_at");
        }
        match to {
            Status::Identified => stamp(&mut self.identified_at, "identified_at"),
            Status::Monitoring => stamp(&mut self.mitigated_at, "mitigated_at"),
            Status::Resolved => {
                stamp(&mut self.mitigated_at, "mitigated_at");
                stamp(&mut self.resolved_at, "resolved_at");
            }
            Status::Closed => stamp(&mut self.closed_at, "closed_at"),
            _ => {}
        }
        stamped
    }
}
