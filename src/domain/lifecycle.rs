//! Status changes on an incident: the rule check (see [`Status::can_move_to`]), the merge
//! target check, and the first-entry timestamps each move stamps.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::error::TransitionError;
use crate::domain::incident::Incident;
use crate::domain::reference::IncidentRef;
use crate::domain::status::Status;

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
            self.resolution = None;
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
                "cannot merge into {} because it is `{}`; merge into an incident that is not closed, declined or merged",
                IncidentRef::Number(target.number),
                target.status
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

#[cfg(test)]
mod tests;
