//! Small, specific rule errors. Each message names the field or transition and says what is allowed.

use crate::domain::status::Status;

/// A value that breaks a validation rule; `field` is the parameter name the caller used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{field}` {reason}")]
pub struct ValidationError {
    /// The name of the offending field, as it appears on the wire.
    pub field: String,
    /// What is wrong and what is allowed, as a sentence fragment.
    pub reason: String,
}

impl ValidationError {
    /// Builds an error for `field` with a reason such as "must be 1–200 characters".
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// A status change the lifecycle does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// The target status cannot be reached from the current one.
    #[error("cannot move from `{from}` to `{to}`; {}", allowed_text(*from, allowed))]
    NotAllowed {
        /// The incident's current status.
        from: Status,
        /// The requested status.
        to: Status,
        /// The statuses reachable from `from`.
        allowed: Vec<Status>,
    },
    /// The incident is already in the requested status.
    #[error("the incident is already `{0}`; nothing to change")]
    AlreadyThere(Status),
    /// A transition needs an argument that was not given.
    #[error("{0}")]
    Requires(String),
}

fn allowed_text(from: Status, allowed: &[Status]) -> String {
    if allowed.is_empty() {
        return format!("`{from}` is terminal: no further status changes are possible");
    }
    let names: Vec<String> = allowed.iter().map(|s| format!("`{s}`")).collect();
    format!("allowed from `{from}`: {}", names.join(", "))
}
