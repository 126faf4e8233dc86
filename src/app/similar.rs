//! Similar past incidents: "have we seen this before, and what fixed it?", over all history.
//!
//! Four reads on one connection: the incident (or the words of a description), the
//! candidates found through indexes, and the history of the best of them, which can still move
//! them (a shared runbook or change kind). The words' statistics are cached for a few minutes.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::app::{App, Result, load};
use crate::domain::similarity::{Candidate, Probe, Reason, TermStats, TextSearch, any_of, score};
use crate::domain::{IncidentRef, Severity, Status, ValidationError, validation};
use crate::store::similar::{CandidateRow, CandidateSearch, PastHistory};
use crate::store::{self, Lock};

/// Most similar incidents one call returns.
pub const SIMILAR_MAX: i64 = 20;
/// Similar incidents returned when no limit is given.
pub const SIMILAR_DEFAULT: i64 = 5;
/// Most bytes of a description.
const TEXT_MAX_BYTES: usize = 8 * 1024;
/// Characters of a resolution or postmortem section shown.
const EXCERPT_CHARS: i32 = 280;
/// How long the words' statistics are reused before being read again.
const STATS_TTL: Duration = Duration::from_secs(600);
/// The best candidates whose history is read (it can still reorder them).
const RESCORED: usize = 15;
/// Candidates scoring below this are not similar enough to show.
const SCORE_FLOOR: f64 = 0.1;

/// What to compare with: an incident, or a description with optional services and labels.
#[derive(Debug, Clone, Default)]
pub struct SimilarRequest {
    /// An incident (`INC-42`, `42` or a UUID).
    pub incident: Option<String>,
    /// A description of what is happening.
    pub text: Option<String>,
    /// Affected services.
    pub services: Vec<String>,
    /// Labels (an `alertname` counts as the alert).
    pub labels: BTreeMap<String, String>,
    /// How many to return (1–20, default 5).
    pub limit: Option<i64>,
    /// Also consider declined incidents.
    pub include_declined: bool,
    /// Also consider incidents labelled `test`.
    pub include_test: bool,
}

/// The most similar past incidents, best first.
#[derive(Debug, Clone)]
pub struct SimilarAnswer {
    /// The incident compared with, when one was named.
    pub incident: Option<i64>,
    /// The similar incidents, best first.
    pub similar: Vec<SimilarIncident>,
    /// Incidents merged with the one compared (left out of `similar`).
    pub merged: Vec<MergedWith>,
    /// How many candidates were scored.
    pub candidates: usize,
}

/// An incident merged with the one compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergedWith {
    /// Its number.
    pub number: i64,
    /// True when the compared incident was merged into it; false when it was merged in.
    pub is_target: bool,
}

/// A similar past incident, how it was resolved, and why it matched.
#[derive(Debug, Clone)]
pub struct SimilarIncident {
    /// Identity.
    pub id: Uuid,
    /// `INC-<number>`.
    pub number: i64,
    /// Title.
    pub title: String,
    /// Severity.
    pub severity: Severity,
    /// Status.
    pub status: Status,
    /// Declared.
    pub declared_at: DateTime<Utc>,
    /// Resolved.
    pub resolved_at: Option<DateTime<Utc>>,
    /// Seconds from impact start (else detection, else declaration) to resolution.
    pub time_to_resolve_seconds: Option<i64>,
    /// 0–1; higher is more similar.
    pub score: f64,
    /// What matched, strongest first.
    pub reasons: Vec<Reason>,
    /// What was done about it.
    pub history: Option<PastHistory>,
}

/// The words' statistics, read at most every [`STATS_TTL`].
#[derive(Debug, Default)]
pub(crate) struct StatsCache(Mutex<Option<(Instant, TermStats)>>);

/// How long the brief reuses the similar incidents it found for one version of an incident.
const BRIEF_TTL: Duration = Duration::from_secs(300);
/// Most incidents whose similar incidents the brief remembers.
const BRIEF_CACHED: usize = 1024;
/// How many similar incidents the brief shows, and the least score to be shown.
const BRIEF_SIMILAR: i64 = 2;
const BRIEF_SIMILAR_SCORE: f64 = 0.5;

/// The similar incidents briefs showed, by incident and version: a brief is read again and
/// again while an incident is worked, and its past does not change by the minute.
#[derive(Debug, Default)]
pub(crate) struct BriefCache(Mutex<HashMap<(Uuid, i64), BriefSimilar>>);

/// When the brief's similar incidents were found, and which.
type BriefSimilar = (Instant, Vec<SimilarIncident>);

impl App {
    /// The past incidents most similar to an incident or a description, best first, with how
    /// each was resolved and why it matched. Merged, declined and `test` incidents are left out
    /// unless asked for.
    #[tracing::instrument(skip_all)]
    pub async fn find_similar_incidents(&self, request: SimilarRequest) -> Result<SimilarAnswer> {
        let limit = validation::limit("limit", request.limit, SIMILAR_DEFAULT, SIMILAR_MAX)?;
        let wanted = Wanted::parse(request)?;
        let mut conn = self.for_reading().await?;
        let stats = self.term_stats(&mut conn).await?;
        let (mut probe, incident, merged, mut excluded) = match &wanted.about {
            About::Incident(reference) => {
                let incident = load(&mut conn, *reference, Lock::None).await?;
                let found = store::similar::probe_of_incident(&mut conn, incident.id).await?;
                let merged_from = store::similar::merged_into(&mut conn, incident.id).await?;
                let mut merged: Vec<MergedWith> = Vec::new();
                let mut excluded = vec![incident.id];
                if let Some((target, number)) = found.merged_into {
                    excluded.push(target);
                    merged.push(MergedWith {
                        number,
                        is_target: true,
                    });
                }
                for (id, number) in merged_from {
                    excluded.push(id);
                    merged.push(MergedWith {
                        number,
                        is_target: false,
                    });
                }
                (found.probe, Some(incident.number), merged, excluded)
            }
            About::Description {
                text,
                services,
                labels,
            } => {
                let terms = match text {
                    Some(text) => store::similar::terms_of_text(&mut conn, text).await?,
                    None => Vec::new(),
                };
                let mut labels = labels.clone();
                let alert_names = labels.remove("alertname").into_iter().collect();
                let probe = Probe {
                    title: text.clone().unwrap_or_default(),
                    terms,
                    alert_names,
                    services: services.clone(),
                    labels,
                    ..Probe::default()
                };
                (probe, None, Vec::new(), Vec::new())
            }
        };
        excluded.sort();
        excluded.dedup();
        probe.keep_terms(&stats);
        let plan = TextSearch::plan(&probe.terms, &stats);
        let search = CandidateSearch {
            probe: &probe,
            text_query: plan.tsquery(),
            text_newest: plan.is_newest(),
            rank_query: (!probe.terms.is_empty()).then(|| any_of(&probe.terms)),
            excluded,
            include_declined: wanted.include_declined,
            include_test: wanted.include_test,
        };
        let rows = store::similar::candidates(&mut conn, &search).await?;
        let candidates = rows.len();
        let stats = match stats.is_small() {
            true => TermStats::from_documents(
                stats.total,
                &probe.terms,
                rows.iter().map(|row| row.terms.as_slice()),
            ),
            false => stats,
        };
        let mut ranked = rank(&probe, &stats, rows);
        ranked.truncate(RESCORED);
        let ids: Vec<Uuid> = ranked.iter().map(|(row, _, _)| row.id).collect();
        let histories = store::similar::histories(&mut conn, &ids, EXCERPT_CHARS).await?;
        let mut similar: Vec<SimilarIncident> = ranked
            .into_iter()
            .map(|(row, mut candidate, _)| {
                let history = histories.iter().find(|h| h.id == row.id).cloned();
                if let Some(history) = &history {
                    candidate.runbooks = history.runbooks.clone();
                    candidate.change_kinds = history.change_kinds.clone();
                }
                let scored = score(&probe, &stats, &candidate);
                similar_incident(row, scored.score, scored.reasons, history)
            })
            .filter(|s| s.score >= SCORE_FLOOR)
            .collect();
        similar.sort_by(|a, b| b.score.total_cmp(&a.score).then(b.number.cmp(&a.number)));
        similar.truncate(limit as usize);
        Ok(SimilarAnswer {
            incident,
            similar,
            merged,
            candidates,
        })
    }

    /// The (at most two) past incidents a brief shows: only those scoring at least 0.5.
    /// Cached per incident version for a few minutes; a failure leaves them out of the brief
    /// (logged) rather than failing it.
    pub(crate) async fn similar_for_brief(&self, id: Uuid, version: i64) -> Vec<SimilarIncident> {
        if let Some((at, similar)) = self
            .brief_similar
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(id, version))
            && at.elapsed() < BRIEF_TTL
        {
            return similar.clone();
        }
        let request = SimilarRequest {
            incident: Some(id.to_string()),
            limit: Some(BRIEF_SIMILAR),
            ..SimilarRequest::default()
        };
        let similar: Vec<SimilarIncident> = match self.find_similar_incidents(request).await {
            Ok(answer) => answer
                .similar
                .into_iter()
                .filter(|s| s.score >= BRIEF_SIMILAR_SCORE)
                .collect(),
            Err(err) => {
                tracing::warn!(error = %err, "similar incidents left out of the brief");
                return Vec::new();
            }
        };
        let mut cache = self
            .brief_similar
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if cache.len() >= BRIEF_CACHED {
            cache.retain(|_, (at, _)| at.elapsed() < BRIEF_TTL);
            if cache.len() >= BRIEF_CACHED {
                cache.clear();
            }
        }
        cache.insert((id, version), (Instant::now(), similar.clone()));
        similar
    }

    /// The words' statistics, from the cache when fresh.
    async fn term_stats(&self, conn: &mut sqlx::PgConnection) -> Result<TermStats> {
        if let Some((read_at, stats)) = self
            .stats
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            && read_at.elapsed() < STATS_TTL
        {
            return Ok(stats.clone());
        }
        let stats = store::similar::term_stats(conn).await?;
        *self.stats.0.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((Instant::now(), stats.clone()));
        Ok(stats)
    }
}

/// Candidates scored on what was read so far, best first.
fn rank(
    probe: &Probe,
    stats: &TermStats,
    rows: Vec<CandidateRow>,
) -> Vec<(CandidateRow, Candidate, f64)> {
    let mut ranked: Vec<(CandidateRow, Candidate, f64)> = rows
        .into_iter()
        .map(|row| {
            let mut labels = row.labels.clone();
            let alert_name = labels.remove("alertname");
            let candidate = Candidate {
                alert_name,
                services: row.services.clone(),
                labels,
                shared_terms: probe
                    .terms
                    .iter()
                    .filter(|t| row.terms.contains(t))
                    .cloned()
                    .collect(),
                title_similarity: f64::from(row.title_similarity),
                ..Candidate::default()
            };
            let base = score(probe, stats, &candidate).score;
            (row, candidate, base)
        })
        .collect();
    ranked.sort_by(|a, b| b.2.total_cmp(&a.2).then(b.0.number.cmp(&a.0.number)));
    ranked
}

fn similar_incident(
    row: CandidateRow,
    score: f64,
    reasons: Vec<Reason>,
    history: Option<PastHistory>,
) -> SimilarIncident {
    SimilarIncident {
        id: row.id,
        number: row.number,
        title: row.title,
        severity: row.severity,
        status: row.status,
        declared_at: row.declared_at,
        resolved_at: row.resolved_at,
        time_to_resolve_seconds: row
            .resolved_at
            .map(|resolved| (resolved - row.started_at).num_seconds().max(0)),
        score,
        reasons,
        history,
    }
}

/// A request, checked.
struct Wanted {
    about: About,
    include_declined: bool,
    include_test: bool,
}

enum About {
    Incident(IncidentRef),
    Description {
        text: Option<String>,
        services: Vec<String>,
        labels: BTreeMap<String, String>,
    },
}

impl Wanted {
    fn parse(request: SimilarRequest) -> Result<Wanted> {
        let described = request
            .text
            .as_deref()
            .is_some_and(|t| !t.trim().is_empty())
            || !request.services.is_empty()
            || !request.labels.is_empty();
        let about = match request.incident {
            Some(_) if described => {
                return Err(ValidationError::new(
                    "incident",
                    "give either `incident` or a description (`text`, `services`, `labels`), not both",
                )
                .into());
            }
            Some(raw) => About::Incident(IncidentRef::parse("incident", &raw)?),
            None => {
                let text = match request.text.filter(|t| !t.trim().is_empty()) {
                    Some(text) => Some(description(text)?),
                    None => None,
                };
                let services = validation::services("services", request.services)?;
                let labels = validation::labels("labels", request.labels)?;
                if text.is_none() && services.is_empty() && labels.is_empty() {
                    return Err(ValidationError::new(
                        "incident",
                        "name an incident, or describe what is happening with `text` (and optionally `services`, `labels`)",
                    )
                    .into());
                }
                About::Description {
                    text,
                    services,
                    labels,
                }
            }
        };
        Ok(Wanted {
            about,
            include_declined: request.include_declined,
            include_test: request.include_test,
        })
    }
}

fn description(text: String) -> Result<String> {
    let text = validation::text("text", text)?;
    if text.len() > TEXT_MAX_BYTES {
        return Err(ValidationError::new(
            "text",
            format!(
                "is {} bytes; at most {TEXT_MAX_BYTES} are allowed: describe the symptom in a few lines",
                text.len()
            ),
        )
        .into());
    }
    Ok(text)
}
