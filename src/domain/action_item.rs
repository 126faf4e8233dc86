//! TODO(issue 3): action item rules.
