//! An MCP client that records the `notifications/resources/updated` it receives, and a wait
//! for the servers' live-update listeners: shared by the live-update and session tests.

use std::time::Duration;

use rmcp::RoleClient;
use rmcp::handler::client::ClientHandler;
use rmcp::model::{ClientConfig, ResourceUpdatedNotificationParam};
use rmcp::service::{NotificationContext, RunningService};
use tokio::sync::mpsc;

use super::children::PATIENCE;
use super::{TestDb, client_config};

/// What `pg_stat_activity` shows as the last query of a connection listening for changes.
pub(crate) const LISTENING: &str = "LISTEN \"firebreak_incident_changes\"%";

/// A client that records every `notifications/resources/updated` it receives.
pub(crate) struct Watcher {
    /// Where the updated URIs go, in order.
    pub(crate) updates: mpsc::UnboundedSender<String>,
}

impl ClientHandler for Watcher {
    fn get_info(&self) -> ClientConfig {
        client_config()
    }

    async fn on_resource_updated(
        &self,
        params: ResourceUpdatedNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        let _ = self.updates.send(params.uri);
    }
}

/// A connected [`Watcher`].
pub(crate) type Watching = RunningService<RoleClient, Watcher>;

/// Waits until `n` processes listen for incident changes on `db`; `context` is shown if not.
pub(crate) async fn wait_listening(db: &TestDb, n: i64, context: impl Fn() -> String) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let (listening,): (i64,) = sqlx::query_as(
            "select count(*) from pg_stat_activity \
             where query ilike $1 and datname = current_database()",
        )
        .bind(LISTENING)
        .fetch_one(&db.pool)
        .await
        .unwrap();
        if listening == n {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{listening} listeners instead of {n} after {PATIENCE:?}:\n{}",
            context()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
