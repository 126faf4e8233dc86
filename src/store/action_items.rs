//! TODO(issue 3): SQL for action items.
