//! TODO(issue 3): SQL for runbooks.
