//! TODO(issue 3): SQL for runbook cache.
