//! Runbooks: matches with their reasons, whole runbooks with their steps, steps recorded.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;

use crate::app::runbooks::{RecordedStep, RemoteRead, RunbookMatches, RunbookRead};
use crate::domain::runbook::{Body, FrontMatter, Step, StepKind, StoredRunbook};
use crate::mcp::views::EntryView;

/// A runbook that matched, and why.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct RunbookMatchView {
    /// Pass to `get_runbook` as `slug`.
    pub(crate) slug: String,
    /// Title.
    pub(crate) title: String,
    /// Services it applies to.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) services: Vec<String>,
    /// Alert names it answers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) alerts: Vec<String>,
    /// Tags.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) tags: Vec<String>,
    /// The severity its incidents usually have.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) severity_hint: Option<String>,
    /// Newest version.
    pub(crate) version: i64,
    /// Ranking score: 4 per matching alert, 2 per matching service, plus the text rank (0–1).
    pub(crate) score: f32,
    /// Why it matched, e.g. "alert `HighErrorRate`", "service `checkout-api`", "text rank 0.41".
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) reasons: Vec<String>,
    /// The searched services it lists.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) matched_services: Vec<String>,
    /// The searched alerts it answers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) matched_alerts: Vec<String>,
    /// How well the words matched, 0–1 (0 when no words matched).
    pub(crate) text_rank: f32,
}

/// What was looked for.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct CriteriaView {
    /// Services looked for.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) services: Vec<String>,
    /// Alert names looked for.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) alerts: Vec<String>,
    /// Words looked for (any of them).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) words: Vec<String>,
    /// The incident whose facts were added, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) incident: Option<String>,
}

/// The answer to `find_runbooks`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct FoundRunbooksView {
    /// Matches, best first.
    pub(crate) runbooks: Vec<RunbookMatchView>,
    /// Everything that was looked for, including what the incident contributed.
    pub(crate) criteria: CriteriaView,
    /// True when more runbooks matched than `limit` allowed.
    pub(crate) truncated: bool,
    /// The server time of this answer.
    pub(crate) now: DateTime<Utc>,
}

impl From<&RunbookMatches> for FoundRunbooksView {
    fn from(found: &RunbookMatches) -> Self {
        let runbooks = found
            .matches
            .iter()
            .map(|m| {
                let mut reasons: Vec<String> = m
                    .matched_alerts
                    .iter()
                    .map(|a| format!("alert `{a}`"))
                    .collect();
                reasons.extend(m.matched_services.iter().map(|s| format!("service `{s}`")));
                if m.text_rank > 0.0 {
                    reasons.push(format!("text rank {:.2}", m.text_rank));
                }
                RunbookMatchView {
                    slug: m.meta.slug.clone(),
                    title: m.meta.title.clone(),
                    services: m.meta.services.clone(),
                    alerts: m.meta.alerts.clone(),
                    tags: m.meta.tags.clone(),
                    severity_hint: m.meta.severity_hint.map(|s| s.to_string()),
                    version: m.version,
                    score: m.score,
                    reasons,
                    matched_services: m.matched_services.clone(),
                    matched_alerts: m.matched_alerts.clone(),
                    text_rank: m.text_rank,
                }
            })
            .collect();
        FoundRunbooksView {
            runbooks,
            criteria: CriteriaView {
                services: found.criteria.services.clone(),
                alerts: found.criteria.alerts.clone(),
                words: found.criteria.words.clone(),
                incident: found.incident.map(|r| r.to_string()),
            },
            truncated: found.is_truncated,
            now: found.now,
        }
    }
}

/// A numbered step.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct StepView {
    /// Pass to `record_runbook_step` as `step`.
    pub(crate) number: i64,
    /// `diagnostic` (read-only) or `risky` (changes production: get approval first).
    pub(crate) kind: String,
    /// True when the step changes production; unmarked steps count as risky.
    pub(crate) risky: bool,
    /// True when the author marked the step `[risky]` or `[diagnostic]`.
    pub(crate) marked: bool,
    /// The step's first paragraph, without its marker.
    pub(crate) text: String,
    /// The whole step as written (commands, sub-steps) when it has more than `text`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) detail: Option<String>,
    /// The section it is in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) section: Option<String>,
    /// Its line in the document.
    pub(crate) line: u64,
}

impl From<&Step> for StepView {
    fn from(step: &Step) -> Self {
        let has_more = step.markdown.lines().count() > 1;
        StepView {
            number: step.number,
            kind: step.kind.as_str().to_owned(),
            risky: step.kind == StepKind::Risky,
            marked: step.is_marked,
            text: step.text.clone(),
            detail: has_more.then(|| step.markdown.clone()),
            section: step.section.clone(),
            line: step.line,
        }
    }
}

/// A level-2 section.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct SectionView {
    /// The heading (`Meaning`, `Impact`, `Diagnosis`, `Mitigation`, …).
    pub(crate) name: String,
    /// Its line in the document.
    pub(crate) line: u64,
}

/// A runbook, local or remote.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct RunbookView {
    /// `local` (synced from the runbooks folder) or `remote` (fetched from `url`).
    pub(crate) source: String,
    /// The slug (local runbooks, and remote ones with front matter).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) slug: Option<String>,
    /// The URL it was fetched from (remote runbooks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) url: Option<String>,
    /// Title, from the front matter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) title: Option<String>,
    /// Services it applies to.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) services: Vec<String>,
    /// Alert names it answers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) alerts: Vec<String>,
    /// Tags.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) tags: Vec<String>,
    /// The severity its incidents usually have.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) severity_hint: Option<String>,
    /// This version (local runbooks); pass it to `record_runbook_step`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) version: Option<i64>,
    /// The newest version (local runbooks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) latest_version: Option<i64>,
    /// SHA-256 of the markdown: identifies the exact text.
    pub(crate) content_hash: String,
    /// When this version was loaded (local runbooks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) loaded_at: Option<DateTime<Utc>>,
    /// When its file left the runbooks folder; archived runbooks are kept for old incidents.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) archived_at: Option<DateTime<Utc>>,
    /// The last time the host confirmed this content (remote runbooks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) fetched_at: Option<DateTime<Utc>>,
    /// True when the host could not be reached and this is the cached copy.
    pub(crate) stale: bool,
    /// Why the copy is stale.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) stale_reason: Option<String>,
    /// Why the front matter of a remote document was not used (it is then read as plain markdown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) front_matter_error: Option<String>,
    /// Level-2 sections.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) sections: Vec<SectionView>,
    /// Numbered steps.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) steps: Vec<StepView>,
    /// The whole document.
    pub(crate) markdown: String,
}

impl RunbookView {
    /// The view of a stored (local) runbook version.
    pub(crate) fn local(stored: &StoredRunbook) -> Self {
        let mut view = RunbookView::new(
            "local",
            Some(&stored.runbook.meta),
            &stored.runbook.body,
            &stored.markdown,
        );
        view.version = Some(stored.version);
        view.latest_version = Some(stored.latest_version);
        view.content_hash.clone_from(&stored.content_hash);
        view.loaded_at = Some(stored.loaded_at);
        view.archived_at = stored.archived_at;
        view
    }

    /// The view of a remote runbook as read.
    pub(crate) fn remote(read: &RemoteRead) -> Self {
        let document = &read.document;
        let mut view = RunbookView::new(
            "remote",
            document.meta.as_ref(),
            &document.body,
            &read.copy.markdown,
        );
        view.url = Some(read.copy.url.clone());
        view.content_hash.clone_from(&read.copy.content_hash);
        view.fetched_at = Some(read.copy.fetched_at);
        view.stale = read.stale_reason.is_some();
        view.stale_reason.clone_from(&read.stale_reason);
        view.front_matter_error = document.meta_error.as_ref().map(ToString::to_string);
        view
    }

    fn new(source: &str, meta: Option<&FrontMatter>, body: &Body, markdown: &str) -> Self {
        RunbookView {
            source: source.to_owned(),
            slug: meta.map(|m| m.slug.clone()),
            url: None,
            title: meta.map(|m| m.title.clone()),
            services: meta.map(|m| m.services.clone()).unwrap_or_default(),
            alerts: meta.map(|m| m.alerts.clone()).unwrap_or_default(),
            tags: meta.map(|m| m.tags.clone()).unwrap_or_default(),
            severity_hint: meta.and_then(|m| m.severity_hint).map(|s| s.to_string()),
            version: None,
            latest_version: None,
            content_hash: String::new(),
            loaded_at: None,
            archived_at: None,
            fetched_at: None,
            stale: false,
            stale_reason: None,
            front_matter_error: None,
            sections: body
                .sections
                .iter()
                .map(|s| SectionView {
                    name: s.name.clone(),
                    line: s.line,
                })
                .collect(),
            steps: body.steps.iter().map(StepView::from).collect(),
            markdown: markdown.to_owned(),
        }
    }
}

/// The answer to `record_runbook_step`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct StepRecordedView {
    /// The incident.
    pub(crate) incident: String,
    /// The runbook's slug.
    pub(crate) runbook: String,
    /// The runbook version the step belongs to.
    pub(crate) version: i64,
    /// The step number.
    pub(crate) step: i64,
    /// The step's text.
    pub(crate) text: String,
    /// True when the step changes production.
    pub(crate) risky: bool,
    /// `succeeded`, `failed` or `skipped`.
    pub(crate) outcome: String,
    /// The `runbook_step` timeline entry written.
    pub(crate) entry: EntryView,
}

impl From<&RecordedStep> for StepRecordedView {
    fn from(recorded: &RecordedStep) -> Self {
        let record = &recorded.record;
        StepRecordedView {
            incident: recorded.incident.to_string(),
            runbook: record.runbook.clone(),
            version: record.version,
            step: record.step,
            text: record.text.clone(),
            risky: record.kind == StepKind::Risky,
            outcome: record.outcome.to_string(),
            entry: EntryView::from(&recorded.entry),
        }
    }
}

impl From<&RunbookRead> for RunbookView {
    fn from(read: &RunbookRead) -> Self {
        match read {
            RunbookRead::Local(stored) => RunbookView::local(stored),
            RunbookRead::Remote(remote) => RunbookView::remote(remote),
        }
    }
}
