//! TODO(issue 3): remote runbooks through the client.
