//! TODO(issue 3): runbook use cases.

use std::fmt;
use std::path::Path;

use crate::app::{App, Result};

/// What a folder sync did.
#[derive(Debug, Clone, Default)]
pub struct SyncReport {}

impl fmt::Display for SyncReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("nothing synced yet")
    }
}

impl App {
    /// Loads a folder of runbooks into the database.
    pub async fn sync_runbooks(&self, _dir: &Path) -> Result<SyncReport> {
        Ok(SyncReport::default())
    }
}
