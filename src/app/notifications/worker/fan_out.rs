//! Turning outbox events into deliveries, for every configured target (as the database
//! knows them, so a process fans out for targets it does not itself send to).

use chrono::Utc;

use super::Notifier;
use crate::app::notifications::FAN_OUT_BATCH;
use crate::app::notifications::events::event_of;
use crate::app::{Result, commit};
use crate::store::outbox;

impl Notifier {
    /// Turns new events into deliveries for the targets that want them, a batch per
    /// transaction, until none is left.
    pub(super) async fn fan_out(&self) -> Result<()> {
        loop {
            let now = Utc::now();
            let mut tx = self.app.begin().await?;
            outbox::relax_durability(&mut tx).await?;
            let rows = outbox::claim_events(&mut tx, FAN_OUT_BATCH).await?;
            if rows.is_empty() {
                return Ok(());
            }
            let targets = outbox::fan_out_targets(&mut tx).await?;
            let events: Vec<_> = rows.iter().map(|row| (row, event_of(row))).collect();
            let mut deliveries = Vec::new();
            for (row, event) in &events {
                let Some(event) = event else {
                    tracing::warn!(event = %row.id, kind = %row.kind,
                        "outbox event of a shape this version cannot read: sent to no one");
                    continue;
                };
                let event_type = event.event_type().wire_type();
                for target in &targets {
                    let configured = row.recorded_at >= target.first_seen_at;
                    if configured && target.subscription.0.wants(event) {
                        deliveries.push(outbox::NewDelivery {
                            event_id: row.id,
                            target: &target.name,
                            incident_id: row.incident_id,
                            event_type,
                            config_digest: &target.config_digest,
                        });
                    }
                }
            }
            let ids: Vec<uuid::Uuid> = rows.iter().map(|r| r.id).collect();
            outbox::fan_out(&mut tx, &ids, &deliveries, now).await?;
            commit(tx).await?;
            if (rows.len() as i64) < FAN_OUT_BATCH {
                return Ok(());
            }
        }
    }
}
