//! A runbook step taken during an incident: which runbook version, which step, and how it went.

use chrono::{DateTime, Utc};

use crate::domain::ValidationError;
use crate::domain::actor::Actor;
use crate::domain::runbook::{StepKind, StoredRunbook};
use crate::domain::timeline::{EntryData, TimelineEntry, data::RunbookStep};
use crate::domain::validation;
use crate::domain::vocabulary::vocabulary;

vocabulary! {
    /// How a step went.
    pub enum StepOutcome ("step outcome") {
        /// It ran and did what it should.
        Succeeded = "succeeded" | "success" | "succeed" | "ok" | "passed" | "done",
        /// It ran and did not work.
        Failed = "failed" | "failure" | "fail",
        /// It was not run (not applicable, not approved, or overtaken by events).
        Skipped = "skipped" | "skip" | "not_run",
    }
}

/// A validated record of one step taken, ready to go on the timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepRecord {
    /// The runbook's slug.
    pub runbook: String,
    /// The runbook version the step belongs to.
    pub version: i64,
    /// That version's content hash.
    pub content_hash: String,
    /// The step number.
    pub step: i64,
    /// The step's text, as the runbook says it.
    pub text: String,
    /// Diagnostic or risky.
    pub kind: StepKind,
    /// How it went.
    pub outcome: StepOutcome,
    /// What the step printed or showed (up to 64 KiB).
    pub output: Option<String>,
}

impl StepRecord {
    /// Checks that `step` exists in this runbook version and that `output` fits.
    pub fn parse(
        runbook: &StoredRunbook,
        step: i64,
        outcome: StepOutcome,
        output: Option<String>,
    ) -> Result<StepRecord, ValidationError> {
        let body = &runbook.runbook.body;
        let Some(found) = body.step(step) else {
            let count = body.steps.len();
            return Err(ValidationError::new(
                "step",
                format!(
                    "is {step}, but runbook `{}` version {} has steps 1–{count}; read them with get_runbook",
                    runbook.runbook.meta.slug, runbook.version
                ),
            ));
        };
        Ok(StepRecord {
            runbook: runbook.runbook.meta.slug.clone(),
            version: runbook.version,
            content_hash: runbook.content_hash.clone(),
            step,
            text: found.text.clone(),
            kind: found.kind,
            outcome,
            output: output.map(|o| validation::text("output", o)).transpose()?,
        })
    }

    /// The timeline text: `Runbook high-error-rate v2, step 3 (risky) succeeded: Roll back …`.
    pub fn summary(&self) -> String {
        format!(
            "Runbook {} v{}, step {} ({}) {}: {}",
            self.runbook,
            self.version,
            self.step,
            self.kind.as_str(),
            self.outcome,
            self.text
        )
    }
}

/// A step taken, as read back from the timeline for the incident brief.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepTaken {
    /// The runbook's slug.
    pub runbook: String,
    /// The runbook version.
    pub version: i64,
    /// The step number.
    pub step: i64,
    /// The step's text.
    pub text: String,
    /// Diagnostic or risky.
    pub kind: StepKind,
    /// How it went.
    pub outcome: StepOutcome,
    /// When it was taken.
    pub at: DateTime<Utc>,
    /// Who recorded it.
    pub actor: Actor,
}

impl StepRecord {
    /// The structured data of the `runbook_step` entry that records this step.
    pub fn data(&self) -> RunbookStep {
        RunbookStep {
            runbook: self.runbook.clone(),
            version: self.version,
            content_hash: self.content_hash.clone(),
            step: self.step,
            text: self.text.clone(),
            kind: self.kind,
            risky: self.kind == StepKind::Risky,
            outcome: self.outcome,
            output: self.output.clone(),
        }
    }
}

impl StepTaken {
    /// The step a `runbook_step` entry records, or `None` for any other entry.
    pub fn from_entry(entry: &TimelineEntry) -> Option<StepTaken> {
        let Some(EntryData::RunbookStep(step)) = &entry.data else {
            return None;
        };
        Some(StepTaken {
            runbook: step.runbook.clone(),
            version: step.version,
            step: step.step,
            text: step.text.clone(),
            kind: step.kind,
            outcome: step.outcome,
            at: entry.occurred_at,
            actor: entry.actor.clone(),
        })
    }
}
