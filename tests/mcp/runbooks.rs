//! TODO(issue 3): runbooks through the client.
