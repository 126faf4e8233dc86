//! Applying an alert delivery: every alert of one payload in one transaction, each decision
//! written to the ledger with its reason. The delivery's group and identity scopes are locked
//! first (in one fixed order), so concurrent deliveries of one group declare one incident and
//! a payload delivered twice at once applies once.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::app::signals::SignalSource;
use crate::app::signals::status::move_status;
use crate::app::{App, Result, commit, incidents, page};
use crate::domain::signals::decision::{
    attached_reason, decide, declared_reason, deduplicated_reason, resolved_reason,
};
use crate::domain::signals::{
    Alert, AlertEvent, Decision, IncidentLink, Known, OpenAlert, ResolvedPolicy, RouteAction,
    Routed, Routing,
};
use crate::domain::timeline::data::{AlertSignal, AlertTransition, EntryData};
use crate::domain::{
    Actor, DeclareRequest, EntryKind, IncidentRef, NewEntry, NewIncident, Status, validation,
};
use crate::store;
use crate::store::alerts::{AlertFilter, GroupQuery, LedgerLine, NewAlert, TimePosition};

/// What one alert of a delivery did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertOutcome {
    /// The alert's identity.
    pub key: String,
    /// `declared`, `attached`, `deduplicated`, `recorded`, `resolved`, `acknowledged` or
    /// `ignored`.
    pub decision: &'static str,
    /// Why, as the ledger records it.
    pub reason: String,
    /// The incident it concerns.
    pub incident: Option<i64>,
    /// The route that matched.
    pub route: Option<String>,
    /// The group key.
    pub group_key: String,
}

/// Which alerts to list.
#[derive(Debug, Clone, Default)]
pub struct AlertQuery {
    /// Alerts of this incident.
    pub incident: Option<IncidentRef>,
    /// From this source.
    pub source: Option<String>,
    /// `firing` or `resolved`.
    pub status: Option<crate::domain::signals::AlertStatus>,
    /// Last seen at or after.
    pub since: Option<DateTime<Utc>>,
    /// Last seen before.
    pub until: Option<DateTime<Utc>>,
    /// Page size.
    pub limit: Option<i64>,
    /// The cursor from the previous page.
    pub cursor: Option<String>,
}

/// A page of alerts.
#[derive(Debug, Clone)]
pub struct AlertPage {
    /// Newest first.
    pub alerts: Vec<Alert>,
    /// The cursor for the next page, if there is one.
    pub next_cursor: Option<String>,
}

impl App {
    /// Applies a delivery of alert events from `source` in one transaction.
    #[tracing::instrument(skip_all, fields(source = source.name, alerts = events.len()))]
    pub async fn ingest_alerts(
        &self,
        source: SignalSource<'_>,
        events: Vec<AlertEvent>,
    ) -> Result<Vec<AlertOutcome>> {
        let now = Utc::now();
        let events = checked(events, now)?;
        let routing = self.settings().routing.current();
        let mut tx = self.begin().await?;
        let outcomes = Delivery::new(source, &routing, now, false)
            .apply(&mut tx, &events)
            .await?;
        commit(tx).await?;
        Ok(outcomes)
    }

    /// What a delivery would do, read against the database but written nowhere.
    pub async fn plan_alerts(
        &self,
        source: SignalSource<'_>,
        events: Vec<AlertEvent>,
    ) -> Result<Vec<AlertOutcome>> {
        let now = Utc::now();
        let events = checked(events, now)?;
        let routing = self.settings().routing.current();
        let mut conn = self.autocommit().await?;
        Delivery::new(source, &routing, now, true)
            .apply(&mut conn, &events)
            .await
    }

    /// Records a refused delivery (bad credentials, a payload not in the source's format) in
    /// the ledger.
    pub async fn record_refusal(&self, source: &str, reason: &str) -> Result<()> {
        let mut conn = self.autocommit().await?;
        store::alerts::record_refusal(&mut conn, source, reason, Utc::now()).await?;
        Ok(())
    }

    /// Alerts newest first, filtered, keyset-paged.
    pub async fn list_alerts(&self, query: AlertQuery) -> Result<AlertPage> {
        let limit = validation::limit("limit", query.limit, 20, 100)?;
        let after: Option<TimePosition> = page::position(query.cursor.as_deref())?;
        let mut conn = self.autocommit().await?;
        let incident_id = match query.incident {
            Some(reference) => Some(
                crate::app::load(&mut conn, reference, store::Lock::None)
                    .await?
                    .id,
            ),
            None => None,
        };
        let source = validation::optional_name("source", query.source)?;
        let filter = AlertFilter {
            incident_id,
            source,
            status: query.status.map(|s| s.as_str()),
            since: query.since,
            until: query.until,
        };
        let alerts =
            store::alerts::list(&mut conn, &filter, after, page::fetch_limit(limit)).await?;
        let page = page::cut(alerts, limit, |a| TimePosition {
            at: a.last_seen,
            id: a.id,
        });
        Ok(AlertPage {
            alerts: page.rows,
            next_cursor: page.next_cursor,
        })
    }
}

/// Checks every event, naming the one at fault (`alerts[3].key`).
fn checked(events: Vec<AlertEvent>, now: DateTime<Utc>) -> Result<Vec<AlertEvent>> {
    events
        .into_iter()
        .enumerate()
        .map(|(i, e)| e.checked(&format!("alerts[{i}]"), now).map_err(Into::into))
        .collect()
}

/// A resolve waiting for its incident's final count.
struct PendingResolve {
    line: usize,
    alert: Uuid,
    incident: IncidentLink,
    entry: NewEntry,
}

/// One delivery being applied: what is known, and what it will write.
struct Delivery<'a> {
    source: SignalSource<'a>,
    actor: Actor,
    routing: &'a Routing,
    now: DateTime<Utc>,
    dry_run: bool,
    open: HashMap<String, OpenAlert>,
    groups: HashMap<(String, String), IncidentLink>,
    new_alerts: Vec<NewAlert>,
    touches: BTreeMap<Uuid, i32>,
    resolves: Vec<(Uuid, DateTime<Utc>)>,
    acks: Vec<Uuid>,
    acked_incidents: BTreeSet<Uuid>,
    pending_resolves: Vec<PendingResolve>,
    entries: BTreeMap<Uuid, Vec<NewEntry>>,
    ledger: Vec<LedgerLine>,
    outcomes: Vec<AlertOutcome>,
}

impl<'a> Delivery<'a> {
    fn new(
        source: SignalSource<'a>,
        routing: &'a Routing,
        now: DateTime<Utc>,
        dry_run: bool,
    ) -> Self {
        Delivery {
            actor: source.actor(),
            source,
            routing,
            now,
            dry_run,
            open: HashMap::new(),
            groups: HashMap::new(),
            new_alerts: Vec::new(),
            touches: BTreeMap::new(),
            resolves: Vec::new(),
            acks: Vec::new(),
            acked_incidents: BTreeSet::new(),
            pending_resolves: Vec::new(),
            entries: BTreeMap::new(),
            ledger: Vec::new(),
            outcomes: Vec::new(),
        }
    }

    async fn apply(
        mut self,
        conn: &mut PgConnection,
        events: &[AlertEvent],
    ) -> Result<Vec<AlertOutcome>> {
        let routed: Vec<Routed> = events
            .iter()
            .map(|e| self.routing.route(self.source.name, e))
            .collect();
        if !self.dry_run {
            store::alerts::lock_scopes(conn, &self.scopes(events, &routed)).await?;
        }
        self.load_state(conn, events, &routed).await?;
        for (event, routed) in events.iter().zip(&routed) {
            self.decide_one(conn, event, routed).await?;
        }
        if !self.dry_run {
            self.write(conn).await?;
        }
        Ok(self.outcomes)
    }

    /// The advisory-lock scopes of the delivery: each group and each identity.
    fn scopes(&self, events: &[AlertEvent], routed: &[Routed]) -> Vec<String> {
        let source = self.source.name;
        let mut scopes: Vec<String> = events
            .iter()
            .zip(routed)
            .flat_map(|(e, r)| {
                let route = r.route.as_deref().unwrap_or("");
                [
                    format!("alert-group:{source}:{route}:{}", r.group_key),
                    format!("alert:{source}:{}", e.key),
                ]
            })
            .collect();
        scopes.sort();
        scopes.dedup();
        scopes
    }

    async fn load_state(
        &mut self,
        conn: &mut PgConnection,
        events: &[AlertEvent],
        routed: &[Routed],
    ) -> Result<()> {
        let mut keys: Vec<String> = events.iter().map(|e| e.key.clone()).collect();
        keys.sort();
        keys.dedup();
        self.open = store::alerts::open_alerts(conn, self.source.name, &keys)
            .await?
            .into_iter()
            .collect();
        let mut seen = BTreeSet::new();
        let groups: Vec<GroupQuery> = routed
            .iter()
            .filter(|r| r.action != RouteAction::Record)
            .filter_map(|r| {
                let route = r.route.clone()?;
                seen.insert((route.clone(), r.group_key.clone()))
                    .then(|| GroupQuery {
                        since: r
                            .group_window
                            .and_then(|w| chrono::Duration::from_std(w).ok())
                            .map(|w| self.now - w),
                        route,
                        group_key: r.group_key.clone(),
                    })
            })
            .collect();
        self.groups = store::alerts::group_incidents(conn, self.source.name, &groups)
            .await?
            .into_iter()
            .collect();
        Ok(())
    }

    async fn decide_one(
        &mut self,
        conn: &mut PgConnection,
        event: &AlertEvent,
        routed: &Routed,
    ) -> Result<()> {
        let group = routed
            .route
            .clone()
            .map(|route| (route, routed.group_key.clone()));
        let known = Known {
            open_alert: self.open.get(&event.key).copied(),
            group_incident: group.as_ref().and_then(|g| self.groups.get(g)).copied(),
        };
        match decide(event, routed, known) {
            Decision::Deduplicate(open) => {
                *self.touches.entry(open.id).or_default() += 1;
                let reason = deduplicated_reason(&open);
                self.line(
                    event,
                    routed,
                    Some(open.id),
                    open.incident,
                    "deduplicated",
                    reason,
                );
            }
            Decision::Declare => {
                let incident = self.declare(conn, event, routed).await?;
                if let Some(group) = group {
                    self.groups.insert(group, incident);
                }
                let reason = if self.dry_run {
                    format!(
                        "would declare a new incident: {routed}, {}",
                        routed.severity_reason
                    )
                } else {
                    declared_reason(incident.number, routed)
                };
                let id = self.new_alert(event, routed, Some(incident));
                self.line(event, routed, Some(id), Some(incident), "declared", reason);
            }
            Decision::Attach(incident) => {
                let id = self.new_alert(event, routed, Some(incident));
                let reason = attached_reason(incident.number, routed);
                self.line(event, routed, Some(id), Some(incident), "attached", reason);
            }
            Decision::Record(reason) => {
                let id = self.new_alert(event, routed, None);
                self.line(event, routed, Some(id), None, "recorded", reason);
            }
            Decision::Resolve(open) => self.resolve(event, routed, open),
            Decision::Acknowledge(open) => {
                self.acks.push(open.id);
                if let Some(incident) = open.incident {
                    self.acked_incidents.insert(incident.id);
                }
                let reason = "acknowledged at the sender".to_owned();
                self.line(
                    event,
                    routed,
                    Some(open.id),
                    open.incident,
                    "acknowledged",
                    reason,
                );
            }
            Decision::Ignore(reason) => self.line(event, routed, None, None, "ignored", reason),
        }
        Ok(())
    }

    /// Declares the group's incident (a placeholder in a dry run).
    async fn declare(
        &self,
        conn: &mut PgConnection,
        event: &AlertEvent,
        routed: &Routed,
    ) -> Result<IncidentLink> {
        if self.dry_run {
            return Ok(IncidentLink {
                id: Uuid::nil(),
                number: 0,
            });
        }
        let request = DeclareRequest {
            title: routed.title.clone(),
            severity: routed.severity,
            summary: event
                .description
                .clone()
                .map(|d| crate::domain::signals::alert::cut(&d, 4000)),
            impact: None,
            services: routed.services.clone(),
            labels: routed.labels.clone(),
            commander: None,
            impact_started_at: None,
            detected_at: event.starts_at,
            dedup_key: None,
        };
        let new = NewIncident::parse(request, self.now)?;
        let declared = incidents::insert(conn, &self.actor, &new, self.now).await?;
        Ok(IncidentLink {
            id: declared.incident.id,
            number: declared.incident.number,
        })
    }

    /// Queues a new alert row (and its timeline entry when it has an incident).
    fn new_alert(
        &mut self,
        event: &AlertEvent,
        routed: &Routed,
        incident: Option<IncidentLink>,
    ) -> Uuid {
        let id = Uuid::now_v7();
        let resolved_now = false;
        self.new_alerts.push(NewAlert {
            id,
            key: event.key.clone(),
            status: if resolved_now { "resolved" } else { "firing" },
            title: event.title.clone(),
            severity: (routed.action != RouteAction::Record).then(|| routed.severity.level()),
            services: routed.services.clone(),
            dependencies: routed.dependencies.clone(),
            labels: event.labels.clone(),
            annotations: event.annotations.clone(),
            description: event.description.clone(),
            source_url: event.source_url.clone(),
            runbook_url: event.runbook_url.clone(),
            route: routed.route.clone(),
            group_key: routed.group_key.clone(),
            incident_id: incident.map(|i| i.id),
            starts_at: event.starts_at.unwrap_or(self.now),
            ends_at: None,
        });
        self.open.insert(
            event.key.clone(),
            OpenAlert {
                id,
                first_seen: self.now,
                incident,
            },
        );
        if let Some(incident) = incident {
            let entry = self.entry(id, event, AlertTransition::Fired, None);
            self.entries.entry(incident.id).or_default().push(entry);
        }
        id
    }

    fn resolve(&mut self, event: &AlertEvent, routed: &Routed, open: OpenAlert) {
        let ends_at = event.ends_at.unwrap_or(self.now);
        self.open.remove(&event.key);
        match self.new_alerts.iter_mut().find(|a| a.id == open.id) {
            // Fired and resolved within this delivery.
            Some(pending) => {
                pending.status = "resolved";
                pending.ends_at = Some(ends_at.max(pending.starts_at));
            }
            None => self.resolves.push((open.id, ends_at)),
        }
        let line = self.ledger.len();
        self.line(
            event,
            routed,
            Some(open.id),
            open.incident,
            "resolved",
            resolved_reason(None, 0, 0),
        );
        if let Some(incident) = open.incident {
            let entry = self.entry(open.id, event, AlertTransition::Resolved, None);
            self.pending_resolves.push(PendingResolve {
                line,
                alert: open.id,
                incident,
                entry,
            });
        }
    }

    fn entry(
        &self,
        alert: Uuid,
        event: &AlertEvent,
        transition: AlertTransition,
        still_firing: Option<i64>,
    ) -> NewEntry {
        let verb = match transition {
            AlertTransition::Fired => "Alert firing",
            AlertTransition::Resolved => "Alert resolved",
            AlertTransition::Acknowledged => "Alert acknowledged",
        };
        let mut body = format!("{verb} ({}): {}", self.source.name, event.title);
        if let Some(url) = &event.runbook_url {
            body.push_str(&format!(" — runbook {url}"));
        }
        let data = EntryData::AlertSignal(AlertSignal {
            alert,
            source: self.source.name.to_owned(),
            alert_key: event.key.clone(),
            transition,
            title: event.title.clone(),
            labels: event.labels.clone(),
            annotations: event.annotations.clone(),
            runbook_url: event.runbook_url.clone(),
            source_url: event.source_url.clone(),
            still_firing,
        });
        NewEntry::system(EntryKind::Alert, body, Some(data), self.now)
    }

    fn line(
        &mut self,
        event: &AlertEvent,
        routed: &Routed,
        alert: Option<Uuid>,
        incident: Option<IncidentLink>,
        decision: &'static str,
        reason: String,
    ) {
        self.outcomes.push(AlertOutcome {
            key: event.key.clone(),
            decision,
            reason: reason.clone(),
            incident: incident.map(|i| i.number).filter(|n| *n > 0),
            route: routed.route.clone(),
            group_key: routed.group_key.clone(),
        });
        self.ledger.push(LedgerLine {
            alert_id: alert,
            alert_key: Some(event.key.clone()),
            incident_id: incident.map(|i| i.id).filter(|id| !id.is_nil()),
            decision,
            reason,
        });
    }

    /// Writes what the delivery decided, a statement per kind of change.
    async fn write(&mut self, conn: &mut PgConnection) -> Result<()> {
        let (now, name) = (self.now, self.source.name);
        store::alerts::insert(conn, name, &self.new_alerts, now).await?;
        let (ids, times): (Vec<Uuid>, Vec<i32>) =
            self.touches.iter().map(|(id, n)| (*id, *n)).unzip();
        store::alerts::touch(conn, &ids, &times, now).await?;
        let (ids, ends): (Vec<Uuid>, Vec<DateTime<Utc>>) = self.resolves.iter().copied().unzip();
        store::alerts::resolve(conn, &ids, &ends, now).await?;
        store::alerts::acknowledge(conn, &self.acks, now).await?;
        self.settle_resolves(conn).await?;
        self.leave_triage(conn).await?;
        for (incident, entries) in std::mem::take(&mut self.entries) {
            store::timeline::append(conn, incident, &entries, &self.actor, now).await?;
        }
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
            let _ = pending.alert;
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
