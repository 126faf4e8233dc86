//! A runbook step taken during an incident: which runbook version, which step, and how it went.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};

use crate::domain::ValidationError;
use crate::domain::actor::Actor;
use crate::domain::runbook::{StepKind, StoredRunbook};
use crate::domain::validation;

/// How a step went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StepOutcome {
    /// It ran and did what it should.
    Succeeded,
    /// It ran and did not work.
    Failed,
    /// It was not run (not applicable, not approved, or overtaken by events).
    Skipped,
}

impl StepOutcome {
    /// Every outcome.
    pub const ALL: [StepOutcome; 3] = [
        StepOutcome::Succeeded,
        StepOutcome::Failed,
        StepOutcome::Skipped,
    ];

    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            StepOutcome::Succeeded => "succeeded",
            StepOutcome::Failed => "failed",
            StepOutcome::Skipped => "skipped",
        }
    }
}

impl fmt::Display for StepOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for StepOutcome {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        StepOutcome::ALL
            .into_iter()
            .find(|o| o.as_str() == s)
            .ok_or_else(|| format!("unknown step outcome `{s}`"))
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
