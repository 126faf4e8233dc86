//! Declaring, reading and editing incidents.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::app::signals::score_suspects;
use crate::app::write::{Write, Written};
use crate::app::{App, Error, Result, check_version, load};
use crate::domain::action_item::ActionItem;
use crate::domain::runbook::StepTaken;
use crate::domain::timeline::data::{Declaration, FieldChanged, RepeatSignal, RoleChanged};
use crate::domain::{
    Actor, DeclareRequest, EntryData, EntryKind, FieldChange, Incident, IncidentChanges,
    IncidentRef, NewEntry, NewIncident, NewRoleAssignment, Role, RoleAssignment, SpanMeasure,
    Status, TimelineEntry, ValidChanges, durations::durations,
};
use crate::store::{self, Lock};

/// How many timeline entries the brief shows.
const BRIEF_TIMELINE_ENTRIES: i64 = 20;
/// How many open action items the brief shows.
const BRIEF_ACTION_ITEMS: i64 = 20;
/// How many runbook steps taken the brief lists.
const BRIEF_RUNBOOK_STEPS: i64 = 100;
/// How many merged-in incidents the brief names.
const BRIEF_MERGED_FROM: i64 = 50;
/// How many suspect changes the brief shows, and the least score to be shown.
const BRIEF_SUSPECTS: usize = 3;
const BRIEF_SUSPECT_SCORE: f64 = 0.3;
/// How often an edit is applied again when other writers keep changing the incident.
const OPTIMISTIC_ATTEMPTS: usize = 16;

/// The answer to a declaration.
#[derive(Debug, Clone)]
pub struct Declared {
    /// The incident (new, deduplicated into, or replayed).
    pub incident: Incident,
    /// True when an open incident with the same `dedup_key` absorbed this signal.
    pub is_deduplicated: bool,
}

/// Everything an agent needs to pick up an incident.
#[derive(Debug, Clone)]
pub struct IncidentBrief {
    /// The incident.
    pub incident: Incident,
    /// Current role holders.
    pub roles: Vec<RoleAssignment>,
    /// The newest timeline entries, oldest first.
    pub recent_timeline: Vec<TimelineEntry>,
    /// How many timeline entries exist in all.
    pub timeline_total: i64,
    /// Durations so far.
    pub durations: Vec<SpanMeasure>,
    /// The number of the incident this one was merged into.
    pub merged_into_number: Option<i64>,
    /// Numbers of incidents merged into this one.
    pub merged_from: Vec<i64>,
    /// Runbook steps taken, oldest first (at most 100).
    pub runbook_steps: Vec<StepTaken>,
    /// Open and in-progress action items, soonest due first (at most 20).
    pub open_action_items: Vec<ActionItem>,
    /// Its alerts in numbers.
    pub alert_counts: crate::domain::signals::alert::AlertCounts,
    /// Its newest alerts.
    pub newest_alerts: Vec<crate::domain::signals::alert::AlertBrief>,
    /// The changes most likely to have caused it (at most three, score at least 0.3).
    pub suspects: Vec<crate::app::signals::Suspect>,
    /// The past incidents most like it (at most two, score at least 0.5; open incidents only).
    pub similar: Vec<crate::app::similar::SimilarIncident>,
    /// The newest stakeholder update for each audience.
    pub last_updates: Vec<crate::app::status_updates::LastUpdate>,
    /// Its notifications that failed or are failing, newest first (at most five).
    pub troubled_deliveries: Vec<crate::domain::delivery::DeliveryRecord>,
    /// The server time the durations were measured at.
    pub now: DateTime<Utc>,
}

impl App {
    /// Declares an incident, honouring the write's idempotency key (same key, same answer) and
    /// `dedup_key` (an open incident with the key absorbs the signal).
    #[tracing::instrument(skip_all, fields(title = %request.title))]
    pub async fn declare_incident(
        &self,
        write: &Write<'_, Declared>,
        request: DeclareRequest,
    ) -> Result<Written<Declared>> {
        let now = Utc::now();
        let new = NewIncident::parse(request, now)?;
        let actor = write.actor();
        if new.dedup_key.is_none() {
            // Nothing to serialise on: without a key, two statements (a number, then one
            // insert of the incident, its entries and its role), no BEGIN/COMMIT.
            return self
                .write_autocommit_unless_keyed(write, now, async |conn| {
                    insert(conn, actor, &new, now).await
                })
                .await;
        }
        self.write_in_transaction(write, now, async |tx| {
            match deduplicate(tx, actor, &new, now).await? {
                Some(existing) => Ok(existing),
                None => insert(tx, actor, &new, now).await,
            }
        })
        .await
    }

    /// The brief of one incident: fields, roles, recent timeline, durations.
    #[tracing::instrument(skip_all, fields(incident = %reference))]
    pub async fn incident_brief(&self, reference: IncidentRef) -> Result<IncidentBrief> {
        let mut conn = self.autocommit().await?;
        let now = Utc::now();
        let limits = store::brief::BriefLimits {
            timeline_entries: BRIEF_TIMELINE_ENTRIES,
            runbook_steps: BRIEF_RUNBOOK_STEPS,
            action_items: BRIEF_ACTION_ITEMS,
            merged_from: BRIEF_MERGED_FROM,
        };
        let window = self.change_window();
        let changes = store::brief::ChangeWindow {
            before: window.before,
            after: window.after,
            dependencies: &window.dependencies,
        };
        let mut record = store::brief::load(&mut conn, reference, limits, changes)
            .await?
            .ok_or(Error::NotFound(reference))?;
        let candidates = std::mem::take(&mut record.candidate_changes);
        let mut suspects =
            score_suspects(&record.incident, &record.dependencies, candidates, &window);
        suspects.retain(|s| s.scored.score >= BRIEF_SUSPECT_SCORE);
        suspects.truncate(BRIEF_SUSPECTS);
        drop(conn);
        // While it is worked: "what fixed it last time" helps the response, and a closed
        // incident's brief should not pay for a search nobody needs from it.
        let similar = match record.incident.status.is_open() {
            true => {
                self.similar_for_brief(record.incident.id, record.incident.version)
                    .await
            }
            false => Vec::new(),
        };
        Ok(IncidentBrief {
            similar,
            last_updates: record
                .last_updates
                .iter()
                .filter_map(|entry| {
                    crate::app::status_updates::LastUpdate::from_entry(
                        entry,
                        record.incident.status.is_open(),
                        now,
                    )
                })
                .collect(),
            troubled_deliveries: record.troubled_deliveries,
            alert_counts: record.alert_counts,
            newest_alerts: record.newest_alerts,
            suspects,
            durations: durations(&record.incident, now),
            runbook_steps: record
                .runbook_step_entries
                .iter()
                .filter_map(StepTaken::from_entry)
                .collect(),
            incident: record.incident,
            roles: record.roles,
            recent_timeline: record.recent_timeline,
            timeline_total: record.timeline_total,
            merged_into_number: record.merged_into_number,
            merged_from: record.merged_from,
            open_action_items: record.open_action_items,
            now,
        })
    }

    /// Edits fields; each change becomes a timeline entry. Nothing changes → nothing is written
    /// (but a stale `expected_version` is still a conflict).
    #[tracing::instrument(skip_all, fields(incident = %reference))]
    pub async fn update_incident(
        &self,
        write: &Write<'_, Incident>,
        reference: IncidentRef,
        expected_version: Option<i64>,
        changes: IncidentChanges,
    ) -> Result<Written<Incident>> {
        let changes = changes.parse()?;
        if changes.is_empty() {
            return Err(validation_error(
                "update_incident",
                "needs at least one field to change: title, summary, impact, severity, services or labels",
            ));
        }
        let now = Utc::now();
        let actor = write.actor();
        self.write_autocommit_unless_keyed(write, now, async |conn| {
            apply_changes(conn, actor, reference, expected_version, &changes, now).await
        })
        .await
    }
}

/// Applies `changes` optimistically: read, apply, then one statement that writes the row and
/// its timeline entries only if the version is still the one read. Outside a transaction that
/// is two round trips; a concurrent writer makes the write match nothing, and the edit is
/// applied again to what that writer left (or refused, if a version was expected).
async fn apply_changes(
    conn: &mut PgConnection,
    actor: &Actor,
    reference: IncidentRef,
    expected_version: Option<i64>,
    changes: &ValidChanges,
    now: DateTime<Utc>,
) -> Result<Incident> {
    for _ in 0..OPTIMISTIC_ATTEMPTS {
        let mut incident = load(conn, reference, Lock::None).await?;
        check_version(&incident, expected_version)?;
        let changed = incident.apply(changes.clone());
        if changed.is_empty() {
            return Ok(incident);
        }
        let entries: Vec<NewEntry> = changed.iter().map(|c| field_entry(c, now)).collect();
        let saved =
            store::incidents::save_with_entries(conn, &incident, &entries, actor, now).await?;
        if let Some(saved) = saved {
            return Ok(saved);
        }
    }
    Err(Error::Conflict(format!(
        "{reference} kept changing while this edit was applied ({OPTIMISTIC_ATTEMPTS} \
         attempts); read it again with get_incident and retry"
    )))
}

fn validation_error(field: &str, reason: &str) -> Error {
    Error::Invalid(crate::domain::ValidationError::new(field, reason))
}

/// Folds the signal into the open incident with the same dedup key, if there is one.
async fn deduplicate(
    conn: &mut PgConnection,
    actor: &Actor,
    new: &NewIncident,
    now: DateTime<Utc>,
) -> Result<Option<Declared>> {
    let Some(key) = &new.dedup_key else {
        return Ok(None);
    };
    store::lock_scope(conn, &format!("dedup:{key}")).await?;
    let Some(incident) = store::incidents::open_with_dedup_key(conn, key).await? else {
        return Ok(None);
    };
    let body = format!(
        "Repeat signal (dedup_key `{key}`): {} [{}]",
        new.title, new.severity
    );
    let data = EntryData::RepeatSignal(RepeatSignal {
        dedup_key: key.clone(),
        title: new.title.clone(),
        severity: new.severity,
        services: new.services.clone(),
        labels: new.labels.clone(),
    });
    let entry = NewEntry::system(EntryKind::Alert, body, Some(data), now);
    store::timeline::append(conn, incident.id, &[entry], actor, now).await?;
    Ok(Some(Declared {
        incident,
        is_deduplicated: true,
    }))
}

/// Writes a new incident with its declaration entries (and first commander) in one statement.
pub(super) async fn insert(
    conn: &mut PgConnection,
    actor: &Actor,
    new: &NewIncident,
    now: DateTime<Utc>,
) -> Result<Declared> {
    let number = store::incidents::next_number(conn).await?;
    let reference = IncidentRef::Number(number);
    let mut entries = vec![NewEntry::system(
        EntryKind::StatusChange,
        format!("Declared {reference} {}: {}", new.severity, new.title),
        Some(EntryData::Declared(Declaration {
            to: Status::Triage,
            severity: new.severity,
        })),
        now,
    )];
    let commander = new.commander.as_ref().map(|commander| NewRoleAssignment {
        role: Role::Commander,
        assignee: commander.clone(),
    });
    if let Some(commander) = &new.commander {
        entries.push(NewEntry::system(
            EntryKind::RoleChange,
            format!("{commander} is commander"),
            Some(EntryData::RoleChanged(RoleChanged {
                role: Role::Commander,
                from: None,
                to: commander.clone(),
            })),
            now,
        ));
    }
    let incident = store::incidents::insert_declared(
        conn,
        Uuid::now_v7(),
        number,
        new,
        &entries,
        commander.as_ref(),
        actor,
        now,
    )
    .await?;
    Ok(Declared {
        incident,
        is_deduplicated: false,
    })
}

/// The timeline entry for one changed field.
fn field_entry(change: &FieldChange, now: DateTime<Utc>) -> NewEntry {
    let kind = if change.field == "severity" {
        EntryKind::SeverityChange
    } else {
        EntryKind::FieldChange
    };
    let body = format!(
        "{} changed from “{}” to “{}”",
        change.field,
        preview(&change.from),
        preview(&change.to)
    );
    let data = EntryData::FieldChanged(FieldChanged {
        field: change.field.to_owned(),
        from: change.from.clone(),
        to: change.to.clone(),
    });
    NewEntry::system(kind, body, Some(data), now)
}

/// The first 120 characters of a value, for timeline bodies (the full value is in `data`).
fn preview(value: &str) -> String {
    const MAX: usize = 120;
    if value.chars().count() <= MAX {
        return value.to_owned();
    }
    let cut: String = value.chars().take(MAX).collect();
    format!("{cut}…")
}
