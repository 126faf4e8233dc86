//! One alert delivery being applied: route each event, lock the delivery's scopes, read what
//! is known about its identities and groups, decide each event in order, then write all of it
//! in a handful of set-based statements, ledger last.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::app::signals::{AlertOutcome, SignalSource};
use crate::app::{Result, incidents};
use crate::domain::signals::decision::{
    attached_reason, decide, declared_reason, deduplicated_reason, resolved_reason,
};
use crate::domain::signals::{
    AlertEvent, Decision, IncidentLink, Known, OpenAlert, RouteAction, Routed, Routing,
};
use crate::domain::timeline::data::{AlertSignal, AlertTransition, EntryData};
use crate::domain::{Actor, DeclareRequest, EntryKind, NewEntry, NewIncident};
use crate::store;
use crate::store::alerts::{GroupQuery, LedgerLine, NewAlert};

mod write;

/// The groups of routes that may attach or declare, once each, with their windows' starts.
fn group_queries(routed: &[Routed], now: DateTime<Utc>) -> Vec<GroupQuery> {
    let mut seen = BTreeSet::new();
    routed
        .iter()
        .filter(|r| r.action != RouteAction::Record)
        .filter_map(|r| {
            let route = r.route.clone()?;
            seen.insert((route.clone(), r.group_key.clone()))
                .then(|| GroupQuery {
                    since: r
                        .group_window
                        .and_then(|w| chrono::Duration::from_std(w).ok())
                        .map(|w| now - w),
                    route,
                    group_key: r.group_key.clone(),
                })
        })
        .collect()
}

/// A resolve waiting for its incident's final count.
struct PendingResolve {
    line: usize,
    incident: IncidentLink,
    entry: NewEntry,
}

/// One delivery being applied: what is known, and what it will write.
pub(super) struct Delivery<'a> {
    source: SignalSource<'a>,
    actor: Actor,
    routing: &'a Routing,
    now: DateTime<Utc>,
    dry_run: bool,
    open: HashMap<String, OpenAlert>,
    groups: HashMap<(String, String), IncidentLink>,
    /// The groups alerts fired in (new or repeated), with their incidents: kept for the next
    /// delivery's lookup and group window.
    fired_groups: BTreeMap<(String, String), Uuid>,
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
    pub(super) fn new(
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
            fired_groups: BTreeMap::new(),
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

    pub(super) async fn apply(
        mut self,
        conn: &mut PgConnection,
        events: &[AlertEvent],
    ) -> Result<Vec<AlertOutcome>> {
        let routed: Vec<Routed> = events
            .iter()
            .map(|e| self.routing.route(self.source.name, e))
            .collect();
        let groups = group_queries(&routed, self.now);
        self.groups = self.read_groups(conn, &groups).await?;
        if !self.dry_run {
            // Lock each identity (two deliveries of one new alert must not both insert it), and
            // the groups that have no open incident yet (only there can a delivery declare).
            // Groups that have one take no lock, so deliveries that attach run side by side.
            let unowned: Vec<GroupQuery> = groups
                .into_iter()
                .filter(|g| {
                    !self
                        .groups
                        .contains_key(&(g.route.clone(), g.group_key.clone()))
                })
                .collect();
            store::alerts::lock_scopes(conn, &self.scopes(events, &unowned)).await?;
            // Another delivery may have declared while this one waited.
            let declared = self.read_groups(conn, &unowned).await?;
            self.groups.extend(declared);
        }
        self.read_identities(conn, events).await?;
        for (event, routed) in events.iter().zip(&routed) {
            self.decide_one(conn, event, routed).await?;
        }
        if !self.dry_run {
            self.write(conn).await?;
        }
        Ok(self.outcomes)
    }

    /// The advisory-lock scopes: each identity, and each of `groups`.
    fn scopes(&self, events: &[AlertEvent], groups: &[GroupQuery]) -> Vec<String> {
        let source = self.source.name;
        let identities = events.iter().map(|e| format!("alert:{source}:{}", e.key));
        let groups = groups
            .iter()
            .map(|g| format!("alert-group:{source}:{}:{}", g.route, g.group_key));
        let mut scopes: Vec<String> = identities.chain(groups).collect();
        scopes.sort();
        scopes.dedup();
        scopes
    }

    /// The firing alerts with the delivery's identities.
    async fn read_identities(
        &mut self,
        conn: &mut PgConnection,
        events: &[AlertEvent],
    ) -> Result<()> {
        let mut keys: Vec<String> = events.iter().map(|e| e.key.clone()).collect();
        keys.sort();
        keys.dedup();
        self.open = store::alerts::open_alerts(conn, self.source.name, &keys)
            .await?
            .into_iter()
            .collect();
        Ok(())
    }

    /// The open incidents of `groups`.
    async fn read_groups(
        &self,
        conn: &mut PgConnection,
        groups: &[GroupQuery],
    ) -> Result<HashMap<(String, String), IncidentLink>> {
        if groups.is_empty() {
            return Ok(HashMap::new());
        }
        Ok(
            store::alerts::group_incidents(conn, self.source.name, groups)
                .await?
                .into_iter()
                .collect(),
        )
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
        let decision = decide(event, routed, known);
        // A group's row changes when it gets a new incident (a declaration); its last alert
        // matters only to a route with a group window, so only those keep it current.
        let windowed = routed.group_window.is_some();
        let fired_in = match &decision {
            _ if !windowed => None,
            // A repeat keeps its group recent only if it is on the group's current incident.
            Decision::Deduplicate(open) => {
                open.incident.filter(|i| Some(*i) == known.group_incident)
            }
            Decision::Attach(incident) => Some(*incident),
            _ => None,
        };
        if let (Some(group), Some(incident)) = (&group, fired_in) {
            self.fired_groups.insert(group.clone(), incident.id);
        }
        match decision {
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
                    self.fired_groups.insert(group.clone(), incident.id);
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
                let reason = if incident.id.is_nil() {
                    format!("would attach to the incident declared above: {routed}")
                } else {
                    attached_reason(incident.number, routed)
                };
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
        self.new_alerts.push(NewAlert {
            id,
            key: event.key.clone(),
            status: "firing",
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
}
