//! The one error type that `mcp` sees, with stable codes the agent can act on.

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
        incident: String,
        /// The rule that refused it.
        source: TransitionError,
    },
    /// The caller's `expected_version` is stale.
    #[error(
        "{incident} is at version {current_version} (status `{current_status}`), not {expected}: someone changed it meanwhile; read it again with get_incident and retry with expected_version {current_version}"
    )]
    StaleVersion {
        /// The incident's reference.
        incident: String,
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
    /// The database cannot be reached right now.
    #[error("the database is unavailable right now; retry in a few seconds")]
    Unavailable(#[source] store::Error),
    /// Anything else: logged where it meets the wire, never shown in detail.
    #[error("internal error")]
    Internal(#[source] store::Error),
}

impl Error {
    /// The stable code for this error: `not_found`, `invalid_argument`, `invalid_transition`,
    /// `conflict`, `unavailable` or `internal`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::NotFound(_) => "not_found",
            Error::Invalid(_) => "invalid_argument",
            Error::Transition { .. } => "invalid_transition",
            Error::StaleVersion { .. } | Error::Conflict(_) => "conflict",
            Error::Unavailable(_) => "unavailable",
            Error::Internal(_) => "internal",
        }
    }

    /// Wraps a lifecycle refusal with the incident it concerns.
    pub(crate) fn transition(incident: String, source: TransitionError) -> Self {
        Error::Transition { incident, source }
    }
}

impl From<store::Error> for Error {
    fn from(err: store::Error) -> Self {
        if err.is_unavailable() {
            return Error::Unavailable(err);
        }
        match &err {
            store::Error::Conflict { constraint } => Error::Conflict(conflict_message(constraint)),
            store::Error::Database(sqlx::Error::Database(db))
                if matches!(db.code().as_deref(), Some("40001" | "40P01")) =>
            {
                Error::Conflict(
                    "another change to the same incidents happened at the same moment; retry the call".into(),
                )
            }
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
