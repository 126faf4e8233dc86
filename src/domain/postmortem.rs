//! TODO(issue 3): postmortem rules.
