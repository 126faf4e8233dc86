//! SQL for similar past incidents: the words' statistics, what an incident is (its probe), the
//! candidates found through indexes, and the history of the best ones.
//!
//! Candidates come from three bounded index reads, so the cost does not grow with the history:
//! full-text matches of the rarest words (GIN, at most [`TEXT_CANDIDATES`], best `ts_rank`
//! first), the newest incidents raised by the same alert (`incident_alertname`) and the newest
//! of each service (`incident_facet_service`).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{FromRow, PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::domain::similarity::{Probe, TermStats};
use crate::domain::{Severity, Status};
use crate::store::incidents::severity;
use crate::store::{Error, Result};

/// Most full-text candidates ranked.
pub const TEXT_CANDIDATES: i64 = 200;
/// How far back (in incidents) the newest matches of common words are looked for.
pub const NEWEST_REACH: i64 = 5_000;
/// Most candidates raised by the same alert.
pub const ALERT_CANDIDATES: i64 = 60;
/// Most candidates per named service.
pub const SERVICE_CANDIDATES: i64 = 30;

/// PostgreSQL's statistics of the incidents' words (`pg_stats` of `incident.search`, kept by
/// `ANALYZE`), and its estimate of how many incidents there are.
pub async fn term_stats(conn: &mut PgConnection) -> Result<TermStats> {
    let row: (f32, Option<Vec<String>>, Option<Vec<f32>>) = sqlx::query_as(
        "select c.reltuples, s.most_common_elems::text::text[], s.most_common_elem_freqs \
         from pg_class c \
         left join pg_stats s on s.schemaname = current_schema() and s.tablename = 'incident' \
           and s.attname = 'search' \
         where c.oid = 'incident'::regclass",
    )
    .fetch_one(conn)
    .await?;
    let (total, words, frequencies) = row;
    let (words, frequencies) = (words.unwrap_or_default(), frequencies.unwrap_or_default());
    // After one frequency per word come the least and greatest of them, and the null share.
    let floor = frequencies.get(words.len()).copied().unwrap_or(0.0);
    Ok(TermStats {
        total: f64::from(total.max(0.0)),
        frequencies: words
            .into_iter()
            .zip(frequencies.iter().map(|f| f64::from(*f)))
            .collect::<HashMap<_, _>>(),
        floor: f64::from(floor),
    })
}

/// An incident as a probe, and who it was merged with.
pub struct IncidentProbe {
    /// What to look for.
    pub probe: Probe,
    /// The incident this one was merged into, and its number.
    pub merged_into: Option<(Uuid, i64)>,
}

#[derive(FromRow)]
struct ProbeRow {
    title: String,
    terms: Vec<String>,
    alert_names: Vec<String>,
    services: Vec<String>,
    labels: Json<BTreeMap<String, String>>,
    runbooks: Vec<String>,
    change_kinds: Vec<String>,
    merged_into: Option<Uuid>,
    merged_into_number: Option<i64>,
}

/// What incident `id` is: the words of its title and summary, its alert names (label and
/// alerts), services, labels, runbooks followed and suspected change kinds.
pub async fn probe_of_incident(conn: &mut PgConnection, id: Uuid) -> Result<IncidentProbe> {
    let row: ProbeRow = sqlx::query_as(
        "select i.title, i.services, i.labels, i.merged_into, \
           (select m.number from incident m where m.id = i.merged_into) as merged_into_number, \
           array(select u.lexeme from unnest(i.search) u \
                 where u.weights && array['A', 'B']) as terms, \
           array(select distinct n from (select i.labels ->> 'alertname' as n \
                 union all (select a.labels ->> 'alertname' from alert a \
                            where a.incident_id = i.id order by a.last_seen desc limit 20)) x \
                 where n is not null) as alert_names, \
           array(select distinct t.data ->> 'runbook' from timeline_entry t \
                 where t.incident_id = i.id and t.kind = 'runbook_step') as runbooks, \
           array(select distinct c.kind from incident_change l join change c on c.id = l.change_id \
                 where l.incident_id = i.id and l.relation <> 'ruled_out') as change_kinds \
         from incident i where i.id = $1",
    )
    .bind(id)
    .fetch_one(conn)
    .await?;
    let mut labels = row.labels.0;
    labels.remove("alertname");
    Ok(IncidentProbe {
        probe: Probe {
            title: row.title,
            terms: row.terms,
            alert_names: row.alert_names,
            services: row.services,
            labels,
            runbooks: row.runbooks,
            change_kinds: row.change_kinds,
        },
        merged_into: row.merged_into.zip(row.merged_into_number),
    })
}

/// The words (stemmed as the incidents' are) of a free-text description.
pub async fn terms_of_text(conn: &mut PgConnection, text: &str) -> Result<Vec<String>> {
    let (terms,): (Vec<String>,) =
        sqlx::query_as("select array(select lexeme from unnest(to_tsvector('english', $1)))")
            .bind(text)
            .fetch_one(conn)
            .await?;
    Ok(terms)
}

/// What candidates to find and which to leave out.
pub struct CandidateSearch<'a> {
    /// The probe (its terms already kept).
    pub probe: &'a Probe,
    /// Full-text query finding candidates (`tsquery` syntax), if any.
    pub text_query: Option<String>,
    /// Read the newest matches of `text_query` instead of the best (its words are common).
    pub text_newest: bool,
    /// The probe's words as one any-of query, to rank full-text matches.
    pub rank_query: Option<String>,
    /// Incidents never returned (the incident itself, those merged with it).
    pub excluded: Vec<Uuid>,
    /// Also return declined incidents.
    pub include_declined: bool,
    /// Also return incidents labelled `test`.
    pub include_test: bool,
}

/// A candidate as read, before scoring.
#[derive(Debug, Clone)]
pub struct CandidateRow {
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
    /// Services.
    pub services: Vec<String>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Declared.
    pub declared_at: DateTime<Utc>,
    /// Resolved (none while open, or when it never was).
    pub resolved_at: Option<DateTime<Utc>>,
    /// Impact start, else detection, else declaration: where time to resolve starts.
    pub started_at: DateTime<Utc>,
    /// Its words (title, summary and impact, stemmed).
    pub terms: Vec<String>,
    /// Trigram similarity of its title to the probe's.
    pub title_similarity: f32,
}

#[derive(FromRow)]
struct RawCandidate {
    id: Uuid,
    number: i64,
    title: String,
    severity: i16,
    status: String,
    services: Vec<String>,
    labels: Json<BTreeMap<String, String>>,
    declared_at: DateTime<Utc>,
    resolved_at: Option<DateTime<Utc>>,
    started_at: DateTime<Utc>,
    terms: Vec<String>,
    title_similarity: f32,
}

impl TryFrom<RawCandidate> for CandidateRow {
    type Error = Error;

    fn try_from(row: RawCandidate) -> Result<Self> {
        Ok(CandidateRow {
            id: row.id,
            number: row.number,
            title: row.title,
            severity: severity(row.severity)?,
            status: row.status.parse().map_err(Error::Corrupt)?,
            services: row.services,
            labels: row.labels.0,
            declared_at: row.declared_at,
            resolved_at: row.resolved_at,
            started_at: row.started_at,
            terms: row.terms,
            title_similarity: row.title_similarity,
        })
    }
}

/// The candidates of a search, each once.
pub async fn candidates(
    conn: &mut PgConnection,
    search: &CandidateSearch<'_>,
) -> Result<Vec<CandidateRow>> {
    let rows: Vec<RawCandidate> = candidate_statement("", search)
        .build_query_as()
        .fetch_all(conn)
        .await?;
    let mut seen = std::collections::HashSet::new();
    rows.into_iter()
        .filter(|row| seen.insert(row.id))
        .map(CandidateRow::try_from)
        .collect()
}

/// What each arm of the candidate search reads; `i` is the incident.
const ARM_COLUMNS: &str = "i.id, i.number, i.title, i.severity, i.status, i.services, i.labels, \
    i.declared_at, i.resolved_at, i.impact_started_at, i.detected_at, i.search";

/// The statement [`candidates`] sends, after `prefix` (e.g. `explain analyze `): one `union
/// all` of bounded arms (a row found twice is dropped by the caller). Public so that the
/// benchmark explains exactly this statement.
pub fn candidate_statement(prefix: &str, search: &CandidateSearch<'_>) -> QueryBuilder<Postgres> {
    let mut sql: QueryBuilder<Postgres> = QueryBuilder::new(prefix);
    // The words and the title likeness are computed on the found rows only, not on every
    // match the text arm ranks.
    sql.push(
        "select c.id, c.number, c.title, c.severity, c.status, c.services, c.labels, \
         c.declared_at, c.resolved_at, \
         coalesce(c.impact_started_at, c.detected_at, c.declared_at) as started_at, \
         tsvector_to_array(c.search) as terms, similarity(c.title, ",
    )
    .push_bind(search.probe.title.clone())
    .push(") as title_similarity from (");
    let mut arms = 0;
    let mut arm = |sql: &mut QueryBuilder<Postgres>| {
        if arms > 0 {
            sql.push(" union all ");
        }
        arms += 1;
        sql.push("(select ").push(ARM_COLUMNS).push(" from ");
    };
    if let Some(query) = &search.text_query
        && search.text_newest
    {
        // The function, not the `@@` operator: the GIN index would read every match; walking
        // the number index newest first stops after a page (the word is in many incidents),
        // and never goes further back than `NEWEST_REACH` incidents.
        arm(&mut sql);
        sql.push("incident i where ts_match_vq(i.search, ")
            .push_bind(query.clone())
            .push("::tsquery) and i.number > (select max(number) from incident) - ")
            .push_bind(NEWEST_REACH);
        push_exclusions(&mut sql, search);
        sql.push(" order by i.number desc limit ")
            .push_bind(ALERT_CANDIDATES)
            .push(")");
    } else if let Some(query) = &search.text_query {
        arm(&mut sql);
        sql.push("incident i where i.search @@ ")
            .push_bind(query.clone())
            .push("::tsquery");
        push_exclusions(&mut sql, search);
        sql.push(" order by ts_rank(i.search, ")
            .push_bind(search.rank_query.clone().unwrap_or(query.clone()))
            .push("::tsquery) desc, i.number desc limit ")
            .push_bind(TEXT_CANDIDATES)
            .push(")");
    }
    if !search.probe.alert_names.is_empty() {
        arm(&mut sql);
        sql.push("unnest(")
            .push_bind(search.probe.alert_names.clone())
            .push(
                "::text[]) n(name), lateral (select * from incident i \
                 where i.labels ? 'alertname' and i.labels ->> 'alertname' = n.name",
            );
        push_exclusions(&mut sql, search);
        sql.push(" order by i.number desc limit ")
            .push_bind(ALERT_CANDIDATES)
            .push(") i)");
    }
    if !search.probe.services.is_empty() {
        arm(&mut sql);
        sql.push("unnest(")
            .push_bind(search.probe.services.clone())
            .push(
                "::text[]) s(service), lateral (select f.number from incident_facet f \
                 where f.service = s.service and f.status not in ('merged'",
            )
            .push(if search.include_declined {
                ""
            } else {
                ", 'declined'"
            })
            .push(") order by f.number desc limit ")
            .push_bind(SERVICE_CANDIDATES)
            .push(") f join incident i on i.number = f.number where true");
        push_exclusions(&mut sql, search);
        sql.push(")");
    }
    if arms == 0 {
        sql.push("select ")
            .push(ARM_COLUMNS)
            .push(" from incident i where false");
    }
    sql.push(") c");
    sql
}

/// Leaves out merged (always), declined and `test` incidents (unless asked for) and the
/// excluded ones; `i` is the incident.
fn push_exclusions(sql: &mut QueryBuilder<Postgres>, search: &CandidateSearch<'_>) {
    let alias = "i.";
    sql.push(format!(" and {alias}status <> 'merged'"));
    if !search.include_declined {
        sql.push(format!(" and {alias}status <> 'declined'"));
    }
    if !search.include_test {
        sql.push(format!(" and not {alias}is_test"));
    }
    if !search.excluded.is_empty() {
        sql.push(format!(" and {alias}id <> all("))
            .push_bind(search.excluded.clone())
            .push(")");
    }
}

/// What a past incident's history says: how it was resolved and what was done.
#[derive(Debug, Clone, FromRow)]
pub struct PastHistory {
    /// The incident.
    pub id: Uuid,
    /// Its resolution, shortened.
    pub resolution: Option<String>,
    /// Its postmortem's status, when there is one.
    pub postmortem_status: Option<String>,
    /// The postmortem's root causes, shortened.
    pub root_causes: Option<String>,
    /// The postmortem's resolution section, shortened.
    pub postmortem_resolution: Option<String>,
    /// Runbooks whose steps were recorded on it.
    pub runbooks: Vec<String>,
    /// Kinds of the changes suspected or confirmed for it.
    pub change_kinds: Vec<String>,
    /// Action items not done yet (open or in progress).
    pub open_action_items: i64,
    /// Action items done (or decided against).
    pub done_action_items: i64,
}

/// The history of incidents `ids`, texts cut at `text_chars` characters.
pub async fn histories(
    conn: &mut PgConnection,
    ids: &[Uuid],
    text_chars: i32,
) -> Result<Vec<PastHistory>> {
    Ok(sqlx::query_as(
        "select i.id, left(i.resolution, $2) as resolution, p.status as postmortem_status, \
           (select left(s.body, $2) from postmortem_section s \
            where s.incident_id = i.id and s.name = 'root_causes') as root_causes, \
           (select left(s.body, $2) from postmortem_section s \
            where s.incident_id = i.id and s.name = 'resolution') as postmortem_resolution, \
           array(select distinct t.data ->> 'runbook' from timeline_entry t \
                 where t.incident_id = i.id and t.kind = 'runbook_step') as runbooks, \
           array(select distinct c.kind from incident_change l join change c on c.id = l.change_id \
                 where l.incident_id = i.id and l.relation <> 'ruled_out') as change_kinds, \
           (select count(*) from action_item a where a.incident_id = i.id \
            and a.status in ('open', 'in_progress')) as open_action_items, \
           (select count(*) from action_item a where a.incident_id = i.id \
            and a.status in ('done', 'wont_do')) as done_action_items \
         from incident i left join postmortem p on p.incident_id = i.id \
         where i.id = any($1)",
    )
    .bind(ids)
    .bind(text_chars)
    .fetch_all(conn)
    .await?)
}

/// Numbers of the incidents merged into `id`.
pub async fn merged_into(conn: &mut PgConnection, id: Uuid) -> Result<Vec<(Uuid, i64)>> {
    Ok(
        sqlx::query_as("select id, number from incident where merged_into = $1 order by number")
            .bind(id)
            .fetch_all(conn)
            .await?,
    )
}
