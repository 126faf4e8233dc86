//! Recording runbook steps taken on an incident, as `runbook_step` timeline entries.

use chrono::{DateTime, Utc};

use crate::app::runbooks::{find, slug};
use crate::app::write::{Write, Written};
use crate::app::{App, Result, load};
use crate::domain::runbook::{StepOutcome, StepRecord};
use crate::domain::{
    EntryData, EntryKind, IncidentRef, NewEntry, TimelineEntry, Visibility, validation,
};
use crate::store::{self, Lock};

/// A step that was recorded.
#[derive(Debug, Clone)]
pub struct RecordedStep {
    /// The incident's reference.
    pub incident: IncidentRef,
    /// What was recorded.
    pub record: StepRecord,
    /// The timeline entry written.
    pub entry: TimelineEntry,
}

/// A step to record, as the caller gave it.
#[derive(Debug, Clone)]
pub struct StepReport {
    /// The incident.
    pub incident: IncidentRef,
    /// The runbook's slug.
    pub runbook: String,
    /// The runbook version the caller followed; the newest when `None`.
    pub version: Option<i64>,
    /// The step number.
    pub step: i64,
    /// How it went.
    pub outcome: StepOutcome,
    /// What it printed or showed.
    pub output: Option<String>,
    /// When it was taken, if earlier than now.
    pub occurred_at: Option<DateTime<Utc>>,
}

impl App {
    /// Appends a `runbook_step` entry to an incident's timeline after checking that the step
    /// exists in the runbook version followed. One transaction; nothing else changes.
    #[tracing::instrument(skip_all, fields(incident = %report.incident, runbook = %report.runbook, step = report.step))]
    pub async fn record_runbook_step(
        &self,
        write: &Write<'_, RecordedStep>,
        report: StepReport,
    ) -> Result<Written<RecordedStep>> {
        let now = Utc::now();
        let slug = slug("runbook", &report.runbook)?;
        let occurred_at =
            validation::timestamp("occurred_at", report.occurred_at, now)?.unwrap_or(now);
        let actor = write.actor();
        self.write_in_transaction(write, now, async |tx| {
            let incident = load(tx, report.incident, Lock::None).await?;
            let runbook = find(tx, &slug, report.version).await?;
            let record = StepRecord::parse(&runbook, report.step, report.outcome, report.output)?;
            let entry = NewEntry {
                kind: EntryKind::RunbookStep,
                body: record.summary(),
                occurred_at,
                visibility: Visibility::Internal,
                data: Some(EntryData::RunbookStep(record.data())),
            };
            let mut stored = store::timeline::append(tx, incident.id, &[entry], actor, now).await?;
            let recorded = RecordedStep {
                incident: incident.reference(),
                record,
                entry: stored.remove(0),
            };
            Ok(recorded)
        })
        .await
    }
}
