//! TODO(issue 3): postmortems through the client.
