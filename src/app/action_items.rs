//! TODO(issue 3): action items use cases.
