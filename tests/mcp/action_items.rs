//! TODO(issue 3): action items through the client.
