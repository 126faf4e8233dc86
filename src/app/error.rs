//! The one error type that `mcp` sees, with stable codes the agent can act on.

use crate::domain::action_item::ActionItemRef;
use crate::domain::postmortem::TemplateError;
use crate::domain::{IncidentRef, Status, TransitionError, ValidationError};
use crate::store;

/// A use-case failure.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The referenced incident does not exist.
    #[error("incident {0} does not exist; check the reference with list_incidents")]
    NotFound(IncidentRef),
    /// An argument breaks a rule.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The lifecycle does not allow the requested status change.
    #[error("{incident}: {source}")]
    Transition {
        /// The incident's reference.
        incident: IncidentRef,
        /// The rule that refused it.
        source: TransitionError,
    },
    /// The caller's `expected_version` is stale.
    #[error(
        "{incident} is at version {current_version} (status `{current_status}`), not {expected}: someone changed it meanwhile; read it again with get_incident and retry with expected_version {current_version}"
    )]
    StaleVersion {
        /// The incident's reference.
        incident: IncidentRef,
        /// What the caller expected.
        expected: i64,
        /// The stored version.
        current_version: i64,
        /// The stored status.
        current_status: Status,
    },
    /// The request conflicts with stored state in another way.
    #[error("{0}")]
    Conflict(String),
    /// The referenced runbook (or runbook version) does not exist; the message says which.
    #[error("{0}")]
    RunbookNotFound(String),
    /// A remote system (e.g. a runbook host) failed or did not answer; the message says how.
    #[error("{0}")]
    Upstream(String),
    /// The referenced action item does not exist.
    #[error("action item {0} does not exist; find it with list_action_items")]
    ActionItemNotFound(ActionItemRef),
    /// The incident has no postmortem yet (the message names the incident).
    #[error("{0} has no postmortem yet; create it with draft_postmortem")]
    NoPostmortem(IncidentRef),
    /// The caller's `expected_version` of a postmortem or action item is stale.
    #[error(
        "{object} is at version {current_version}, not {expected}: someone changed it meanwhile; read it again with {read_with} and retry with expected_version {current_version}"
    )]
    StaleObject {
        /// What was changed, e.g. `AI-7` or `the postmortem of INC-4`.
        object: String,
        /// What the caller expected.
        expected: i64,
        /// The stored version.
        current_version: i64,
        /// The tool that reads it.
        read_with: &'static str,
    },
    /// The postmortem template does not render (the message names the line).
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// No live token has this name (the message names it and says how to list them).
    #[error("{0}")]
    TokenNotFound(String),
    /// The caller's credential lacks the scope the call needs.
    #[error("{0}")]
    InsufficientScope(crate::domain::MissingScope),
    /// The database cannot be reached right now.
    #[error(
        "the database is unavailable right now; retry in a few seconds (retry a write with the same idempotency_key, so it applies at most once)"
    )]
    Unavailable(#[source] store::Error),
    /// Anything else: logged where it meets the wire, never shown in detail.
    #[error("internal error")]
    Internal(#[source] store::Error),
}

impl Error {
    /// The stable code for this error: `not_found`, `invalid_argument`, `invalid_transition`,
    /// `conflict`, `invalid_template` (the operator's postmortem template), `insufficient_scope`,
    /// `unavailable` or `internal`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::NotFound(_)
            | Error::RunbookNotFound(_)
            | Error::ActionItemNotFound(_)
            | Error::NoPostmortem(_)
            | Error::TokenNotFound(_) => "not_found",
            Error::Invalid(_) => "invalid_argument",
            Error::Transition { .. } => "invalid_transition",
            Error::StaleVersion { .. } | Error::StaleObject { .. } | Error::Conflict(_) => {
                "conflict"
            }
            Error::Template(_) => "invalid_template",
            Error::InsufficientScope(_) => "insufficient_scope",
            Error::Unavailable(_) | Error::Upstream(_) => "unavailable",
            Error::Internal(_) => "internal",
        }
    }

    /// Wraps a lifecycle refusal with the incident it concerns.
    pub(crate) fn transition(incident: IncidentRef, source: TransitionError) -> Self {
        Error::Transition { incident, source }
    }
}

impl From<store::Error> for Error {
    fn from(err: store::Error) -> Self {
        if err.is_unavailable() {
            return Error::Unavailable(err);
        }
        if err.is_concurrent_conflict() {
            return Error::Conflict(
                "another change to the same incidents happened at the same moment; retry the call"
                    .into(),
            );
        }
        if err.is_unstorable_text() {
            // Validation refuses such text field by field; this is the backstop for a field
            // that escaped it, so the caller still gets an answer it can act on.
            return Error::Invalid(ValidationError::new(
                "arguments",
                "contain a character that cannot be stored (NUL, U+0000): remove it and retry",
            ));
        }
        match &err {
            store::Error::Conflict { constraint } => Error::Conflict(conflict_message(constraint)),
            _ => Error::Internal(err),
        }
    }
}

fn conflict_message(constraint: &str) -> String {
    match constraint {
        "incident_open_dedup_key" => "another open incident already holds this dedup_key; \
            merge one into the other with change_status (to: merged) or resolve it first"
            .into(),
        "role_assignment_one_holder" | "role_assignment_one_responder" => {
            "the role was assigned by someone else at the same moment; read the incident again and retry".into()
        }
        _ => format!("the change collides with a concurrent one ({constraint}); retry the call"),
    }
}
