//! TODO(issue 3): postmortems use cases.
