//! TODO(issue 3): fetch remote runbooks.
