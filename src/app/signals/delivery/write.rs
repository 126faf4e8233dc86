//! The write phase of a delivery: new alerts, repeat counts, resolves and acknowledgements in
//! one statement each; then each resolve's count of alerts still firing, the resolved policy,
//! status moves, timeline entries and the ledger.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::app::Result;
use crate::app::signals::delivery::Delivery;
use crate::app::signals::status::move_status;
use crate::domain::signals::ResolvedPolicy;
use crate::domain::signals::decision::resolved_reason;
use crate::domain::timeline::data::EntryData;
use crate::domain::{EntryKind, IncidentRef, NewEntry, Status};
use crate::store;

impl Delivery<'_> {
    /// Writes what the delivery decided, a statement per kind of change.
    pub(super) async fn write(&mut self, conn: &mut PgConnection) -> Result<()> {
        let (now, name) = (self.now, self.source.name);
        store::alerts::insert(conn, name, &self.new_alerts, now).await?;
        // Every group an alert of this delivery fired in: its incident and latest alert.
        let groups: Vec<(String, String, Uuid)> = std::mem::take(&mut self.fired_groups)
            .into_iter()
            .map(|((route, key), incident)| (route, key, incident))
            .collect();
        store::alerts::keep_groups(conn, name, &groups, now).await?;
        let (ids, times): (Vec<Uuid>, Vec<i32>) =
            self.touches.iter().map(|(id, n)| (*id, *n)).unzip();
        store::alerts::touch(conn, &ids, &times, now).await?;
        let (ids, ends): (Vec<Uuid>, Vec<DateTime<Utc>>) = self.resolves.iter().copied().unzip();
        store::alerts::resolve(conn, &ids, &ends, now).await?;
        store::alerts::acknowledge(conn, &self.acks, now).await?;
        self.settle_resolves(conn).await?;
        self.leave_triage(conn).await?;
        let entries: Vec<(Uuid, NewEntry)> = std::mem::take(&mut self.entries)
            .into_iter()
            .flat_map(|(incident, entries)| entries.into_iter().map(move |e| (incident, e)))
            .collect();
        store::timeline::append_across(conn, &entries, &self.actor, now).await?;
        store::alerts::record(conn, name, &self.ledger, now).await?;
        Ok(())
    }

    /// Gives each resolve its count (alerts still firing after it) and applies the policy to
    /// incidents whose alerts all resolved.
    async fn settle_resolves(&mut self, conn: &mut PgConnection) -> Result<()> {
        if self.pending_resolves.is_empty() {
            return Ok(());
        }
        let incidents: Vec<Uuid> = self
            .pending_resolves
            .iter()
            .map(|p| p.incident.id)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let counts: HashMap<Uuid, (i64, i64)> = store::alerts::firing_counts(conn, &incidents)
            .await?
            .into_iter()
            .map(|(id, firing, total)| (id, (firing, total)))
            .collect();
        // Resolves later in the delivery were still firing when an earlier one resolved.
        let mut later: HashMap<Uuid, i64> = HashMap::new();
        for pending in self.pending_resolves.iter_mut().rev() {
            let (firing, total) = counts.get(&pending.incident.id).copied().unwrap_or((0, 0));
            let after = later.entry(pending.incident.id).or_default();
            let still = firing + *after;
            *after += 1;
            self.ledger[pending.line].reason =
                resolved_reason(Some(pending.incident.number), still, total);
            self.outcomes[pending.line].reason = self.ledger[pending.line].reason.clone();
            if let Some(EntryData::AlertSignal(data)) = &mut pending.entry.data {
                data.still_firing = Some(still);
            }
            pending
                .entry
                .body
                .push_str(&format!(" ({still} of {total} alerts still firing)"));
        }
        for pending in std::mem::take(&mut self.pending_resolves) {
            self.entries
                .entry(pending.incident.id)
                .or_default()
                .push(pending.entry);
        }
        for (incident, (firing, total)) in counts {
            if firing == 0 {
                self.all_resolved(conn, incident, total).await?;
            }
        }
        Ok(())
    }

    async fn all_resolved(
        &mut self,
        conn: &mut PgConnection,
        incident: Uuid,
        total: i64,
    ) -> Result<()> {
        let policy = self.routing.on_all_resolved;
        let note = format!("all {total} alerts resolved ({})", self.source.name);
        let status = store::incidents::find(conn, IncidentRef::Id(incident), store::Lock::None)
            .await?
            .map(|i| i.status);
        let moved = match policy {
            ResolvedPolicy::Note => Err("policy `note`: the responders decide".to_owned()),
            // An automatic move out of triage would claim an acknowledgement nobody made.
            _ if status == Some(Status::Triage) => Err(format!(
                "policy `{policy}` applies once a responder has acknowledged it (it is in triage)"
            )),
            ResolvedPolicy::Monitoring => {
                move_status(
                    conn,
                    incident,
                    Status::Monitoring,
                    &note,
                    &self.actor,
                    self.now,
                )
                .await?
            }
            ResolvedPolicy::Resolve => {
                move_status(
                    conn,
                    incident,
                    Status::Resolved,
                    &note,
                    &self.actor,
                    self.now,
                )
                .await?
            }
        };
        if let Err(why) = moved {
            let body =
                format!("All {total} alerts of this incident resolved; status unchanged: {why}");
            let entry = NewEntry::system(EntryKind::Alert, body, None, self.now);
            self.entries.entry(incident).or_default().push(entry);
        }
        Ok(())
    }

    /// An acknowledge at the sender moves its incident out of triage.
    async fn leave_triage(&mut self, conn: &mut PgConnection) -> Result<()> {
        for incident in std::mem::take(&mut self.acked_incidents) {
            let found =
                store::incidents::find(conn, IncidentRef::Id(incident), store::Lock::None).await?;
            if found.is_some_and(|i| i.status == Status::Triage) {
                let note = format!("acknowledged at {}", self.source.name);
                let _ = move_status(
                    conn,
                    incident,
                    Status::Investigating,
                    &note,
                    &self.actor,
                    self.now,
                )
                .await?;
            }
        }
        Ok(())
    }
}
