//! Changes: stored once per source and external id, listed, scored against an incident as
//! suspects, and linked to it by responders (suspected, confirmed, ruled out).

use chrono::{DateTime, Duration, Utc};
use sqlx::PgConnection;

use crate::app::audit::{self, AuditRecord};
use crate::app::signals::SignalSource;
use crate::app::write::{Write, Written};
use crate::app::{App, Error, Result, commit, load, page};
use crate::domain::signals::change::Change;
use crate::domain::signals::correlation::{self, Candidate, Scored, Subject};
use crate::domain::signals::{ChangeKind, ChangeRelation, NewChange};
use crate::domain::timeline::data::{ChangeLinked, EntryData};
use crate::domain::{EntryKind, Incident, IncidentRef, NewEntry, ValidationError, validation};
use crate::store::alerts::TimePosition;
use crate::store::changes::ChangeFilter;
use crate::store::{self, Lock};

/// Most changes of the window scored for one incident.
const CANDIDATES_MAX: i64 = 200;

/// What one change of a delivery did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeOutcome {
    /// `CHG-<n>`.
    pub change: String,
    /// Its external id.
    pub external_id: String,
    /// False when the source had sent it before.
    pub is_new: bool,
}

/// A change scored for an incident.
#[derive(Debug, Clone)]
pub struct Suspect {
    /// The change.
    pub change: Change,
    /// Its score and reasons.
    pub scored: Scored,
}

/// Which changes to list.
#[derive(Debug, Clone, Default)]
pub struct ChangeQuery {
    /// Scored for this incident (best first) instead of newest first.
    pub incident: Option<IncidentRef>,
    /// Touching this service.
    pub service: Option<String>,
    /// Of this kind.
    pub kind: Option<ChangeKind>,
    /// Happened at or after.
    pub since: Option<DateTime<Utc>>,
    /// Happened before.
    pub until: Option<DateTime<Utc>>,
    /// Page size.
    pub limit: Option<i64>,
    /// The cursor from the previous page.
    pub cursor: Option<String>,
}

/// A page of changes: newest first, or for an incident, suspects best first.
#[derive(Debug, Clone)]
pub struct ChangePage {
    /// The changes, each with its score when an incident was named.
    pub changes: Vec<(Change, Option<Scored>)>,
    /// The cursor for the next page (lists by time only).
    pub next_cursor: Option<String>,
    /// The incident's window, when one was named: from, impact start, to.
    pub window: Option<(DateTime<Utc>, DateTime<Utc>, DateTime<Utc>)>,
}

/// A link recorded by `link_change`.
#[derive(Debug, Clone)]
pub struct LinkedChange {
    /// The incident's number.
    pub incident: i64,
    /// The change.
    pub change: Change,
    /// The relation now.
    pub relation: ChangeRelation,
    /// The relation before, if any.
    pub previous: Option<ChangeRelation>,
}

impl App {
    /// Stores a delivery of changes from `source` in one transaction; a change the source sent
    /// before is left as it was.
    pub async fn ingest_changes(
        &self,
        source: SignalSource<'_>,
        changes: Vec<NewChange>,
        audit: Option<&AuditRecord>,
    ) -> Result<Vec<ChangeOutcome>> {
        let now = Utc::now();
        let changes = changes
            .into_iter()
            .enumerate()
            .map(|(i, c)| c.checked(&format!("changes[{i}]"), now))
            .collect::<std::result::Result<Vec<_>, ValidationError>>()?;
        let mut tx = self.begin().await?;
        let mut outcomes = Vec::with_capacity(changes.len());
        for change in &changes {
            let (stored, is_new) =
                store::changes::insert(&mut tx, source.name, change, now).await?;
            outcomes.push(ChangeOutcome {
                change: stored.reference(),
                external_id: stored.change.external_id,
                is_new,
            });
        }
        if let Some(record) = audit {
            audit::record_in(&mut tx, record).await?;
        }
        commit(tx).await?;
        Ok(outcomes)
    }

    /// Changes newest first, or, for an incident, its suspects best first.
    pub async fn list_changes(&self, query: ChangeQuery) -> Result<ChangePage> {
        let limit = validation::limit("limit", query.limit, 20, 100)?;
        let mut conn = self.autocommit().await?;
        if let Some(reference) = query.incident {
            if query.cursor.is_some() {
                return Err(ValidationError::new(
                    "cursor",
                    "is not used with `incident`: the suspects come in one page, best first",
                )
                .into());
            }
            let incident = load(&mut conn, reference, Lock::None).await?;
            let (window, mut suspects) = self.suspects(&mut conn, &incident).await?;
            suspects.truncate(usize::try_from(limit).unwrap_or(20));
            return Ok(ChangePage {
                changes: suspects
                    .into_iter()
                    .map(|s| (s.change, Some(s.scored)))
                    .collect(),
                next_cursor: None,
                window: Some(window),
            });
        }
        let after: Option<TimePosition> = page::position(query.cursor.as_deref())?;
        let service = query
            .service
            .map(|s| validation::services("service", vec![s.to_ascii_lowercase()]))
            .transpose()?
            .and_then(|mut s| s.pop());
        let filter = ChangeFilter {
            service,
            kind: query.kind.map(|k| k.as_str()),
            since: query.since,
            until: query.until,
        };
        let rows =
            store::changes::list(&mut conn, &filter, after, page::fetch_limit(limit)).await?;
        let page = page::cut(rows, limit, |c| TimePosition {
            at: c.occurred_at,
            id: c.id,
        });
        Ok(ChangePage {
            changes: page.rows.into_iter().map(|c| (c, None)).collect(),
            next_cursor: page.next_cursor,
            window: None,
        })
    }

    /// The incident's suspect changes, best first, and the window searched (from, impact
    /// start, to).
    pub(crate) async fn suspects(
        &self,
        conn: &mut PgConnection,
        incident: &Incident,
    ) -> Result<((DateTime<Utc>, DateTime<Utc>, DateTime<Utc>), Vec<Suspect>)> {
        let window = self.change_window();
        let started = impact_start(incident);
        let mut dependencies = store::alerts::dependencies(conn, incident.id).await?;
        for service in &incident.services {
            for dep in window.dependencies.get(service).into_iter().flatten() {
                if !dependencies.contains(dep) {
                    dependencies.push(dep.clone());
                }
            }
        }
        let mut services = incident.services.clone();
        services.extend(dependencies.iter().cloned());
        let (from, to) = (started - window.before, started + window.after);
        let changes =
            store::changes::candidates(conn, incident.id, &services, from, to, CANDIDATES_MAX)
                .await?;
        let suspects = score_suspects(incident, &dependencies, changes, &window);
        Ok(((from, started, to), suspects))
    }

    /// The correlation window and dependencies of the routing in force.
    pub(crate) fn change_window(&self) -> Window {
        let routing = self.settings().routing.current();
        Window {
            before: Duration::from_std(routing.correlation_before).unwrap_or(Duration::hours(2)),
            after: Duration::from_std(routing.correlation_after).unwrap_or(Duration::minutes(10)),
            dependencies: routing.dependencies.clone(),
        }
    }

    /// Records what a responder decided about a change for an incident, on its timeline.
    pub async fn link_change(
        &self,
        write: &Write<'_, LinkedChange>,
        reference: IncidentRef,
        change: &str,
        relation: ChangeRelation,
        note: Option<String>,
    ) -> Result<Written<LinkedChange>> {
        let number = change_number(change)?;
        let note = note
            .map(|n| validation::required_text("note", n))
            .transpose()?;
        let now = Utc::now();
        let actor = write.actor();
        self.write_in_transaction(write, now, async |tx| {
            let incident = load(tx, reference, Lock::ForUpdate).await?;
            let change = store::changes::find(tx, number).await?.ok_or_else(|| {
                Error::Invalid(ValidationError::new(
                    "change",
                    format!("names CHG-{number}, which does not exist; list_changes shows them"),
                ))
            })?;
            let previous = store::changes::link(
                tx,
                incident.id,
                change.id,
                relation,
                note.as_deref(),
                &actor.principal,
                now,
            )
            .await?;
            let mut body = format!(
                "{} {}: {} ({})",
                change.reference(),
                relation.as_str().replace('_', " "),
                change.change.summary,
                change.change.kind
            );
            if let Some(note) = &note {
                body.push_str(" — ");
                body.push_str(note);
            }
            let data = EntryData::ChangeLinked(ChangeLinked {
                change: change.reference(),
                change_id: change.id,
                relation,
                kind: change.change.kind,
                summary: change.change.summary.clone(),
                note: note.clone(),
            });
            let entry = NewEntry::system(EntryKind::Change, body, Some(data), now);
            store::timeline::append(tx, incident.id, &[entry], actor, now).await?;
            Ok(LinkedChange {
                incident: incident.number,
                change,
                relation,
                previous,
            })
        })
        .await
    }
}

/// How far around impact start changes are considered, and what services depend on.
#[derive(Debug, Clone)]
pub(crate) struct Window {
    pub(crate) before: Duration,
    pub(crate) after: Duration,
    pub(crate) dependencies: std::collections::BTreeMap<String, Vec<String>>,
}

/// When impact started, or else when it was detected, or else declared.
fn impact_start(incident: &Incident) -> DateTime<Utc> {
    incident
        .impact_started_at
        .or(incident.detected_at)
        .unwrap_or(incident.declared_at)
}

/// Scores `changes` for `incident`, best first. A linked change outside the window still
/// shows, with its link as the reason.
pub(crate) fn score_suspects(
    incident: &Incident,
    dependencies: &[String],
    changes: Vec<Change>,
    window: &Window,
) -> Vec<Suspect> {
    let subject = Subject {
        services: &incident.services,
        dependencies,
        impact_started_at: impact_start(incident),
    };
    let mut suspects: Vec<Suspect> = changes
        .into_iter()
        .filter_map(|change| {
            let candidate = Candidate {
                kind: change.change.kind,
                services: &change.change.services,
                failed: change.change.failed,
                occurred_at: change.occurred_at,
                relation: change.relation,
            };
            let scored = correlation::score(&candidate, &subject, window.before, window.after)
                .or_else(|| {
                    change.relation.map(|r| Scored {
                        score: if r == ChangeRelation::Confirmed {
                            1.0
                        } else {
                            0.0
                        },
                        reasons: vec![format!("{} by a responder", r.as_str().replace('_', " "))],
                    })
                })?;
            Some(Suspect { change, scored })
        })
        .collect();
    suspects.sort_by(|a, b| {
        b.scored
            .score
            .total_cmp(&a.scored.score)
            .then(b.change.occurred_at.cmp(&a.change.occurred_at))
    });
    suspects
}

/// The number in `CHG-12` (or `12`).
fn change_number(text: &str) -> Result<i64> {
    let trimmed = text.trim();
    let digits = trimmed
        .strip_prefix("CHG-")
        .or_else(|| trimmed.strip_prefix("chg-"))
        .unwrap_or(trimmed);
    digits
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            ValidationError::new(
                "change",
                format!(
                    "`{text}` is not a change reference: use `CHG-<number>` as list_changes shows"
                ),
            )
            .into()
        })
}
