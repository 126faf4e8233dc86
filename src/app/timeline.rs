//! Writing to and reading an incident's timeline.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::app::write::{Write, Written};
use crate::app::{App, Error, Result, load, page};
use crate::domain::{
    Actor, EntryKind, IncidentRef, NewEntry, TimelineEntry, Visibility, validation,
};
use crate::store::timeline::EntryPosition;
use crate::store::{self, Lock};

/// Most entries per timeline page.
pub(super) const TIMELINE_PAGE_MAX: i64 = 200;
/// Entries per timeline page when no limit is given.
pub(super) const TIMELINE_PAGE_DEFAULT: i64 = 50;

/// A page of a timeline.
#[derive(Debug, Clone)]
pub struct TimelinePage {
    /// The incident's reference.
    pub incident: IncidentRef,
    /// Entries, oldest first.
    pub entries: Vec<TimelineEntry>,
    /// Pass back to get the next page; `None` at the end.
    pub next_cursor: Option<String>,
}

/// An entry a responder writes.
#[derive(Debug, Clone)]
pub struct ManualEntry {
    /// note, finding, hypothesis, decision or action.
    pub kind: EntryKind,
    /// What happened (markdown).
    pub body: String,
    /// When it happened, if earlier than now.
    pub occurred_at: Option<DateTime<Utc>>,
    /// `internal` or `public`.
    pub visibility: Visibility,
}

/// An entry that was appended, with its incident's reference (`INC-<n>`).
#[derive(Debug, Clone)]
pub struct AddedEntry {
    /// The incident's reference.
    pub incident: IncidentRef,
    /// The stored entry.
    pub entry: TimelineEntry,
}

impl App {
    /// Appends a responder's entry (note, finding, hypothesis, decision or action).
    #[tracing::instrument(skip_all, fields(incident = %reference, kind = %entry.kind))]
    pub async fn add_timeline_entry(
        &self,
        write: &Write<'_, AddedEntry>,
        reference: IncidentRef,
        entry: ManualEntry,
    ) -> Result<Written<AddedEntry>> {
        let now = Utc::now();
        let entry = NewEntry::parse_manual(
            entry.kind,
            entry.body,
            entry.occurred_at,
            entry.visibility,
            now,
        )?;
        // Without a key, one statement finds the incident and appends: no transaction needed.
        let actor = write.actor();
        self.write_autocommit_unless_keyed(write, now, async |conn| {
            append(conn, actor, reference, entry, now).await
        })
        .await
    }

    /// A page of the timeline in chronological order.
    #[tracing::instrument(skip_all, fields(incident = %reference))]
    pub async fn timeline(
        &self,
        reference: IncidentRef,
        kinds: Option<Vec<EntryKind>>,
        limit: Option<i64>,
        cursor: Option<&str>,
    ) -> Result<TimelinePage> {
        let limit = validation::limit("limit", limit, TIMELINE_PAGE_DEFAULT, TIMELINE_PAGE_MAX)?;
        let after: Option<EntryPosition> = page::position(cursor)?;
        let mut conn = self.autocommit().await?;
        let incident = load(&mut conn, reference, Lock::None).await?;
        let entries = store::timeline::page(
            &mut conn,
            incident.id,
            kinds.as_deref(),
            after,
            page::fetch_limit(limit),
        )
        .await?;
        let page = page::cut(entries, limit, |entry| EntryPosition::from(entry));
        Ok(TimelinePage {
            incident: incident.reference(),
            entries: page.rows,
            next_cursor: page.next_cursor,
        })
    }
}

async fn append(
    conn: &mut PgConnection,
    actor: &Actor,
    reference: IncidentRef,
    entry: NewEntry,
    now: DateTime<Utc>,
) -> Result<AddedEntry> {
    let (number, mut stored) = store::timeline::append_to(conn, reference, &[entry], actor, now)
        .await?
        .ok_or(Error::NotFound(reference))?;
    Ok(AddedEntry {
        incident: IncidentRef::Number(number),
        entry: stored.remove(0),
    })
}
