//! TODO(issue 3): runbook rules.
