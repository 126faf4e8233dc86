//! Learning from history: how well `find_similar_incidents` finds the incidents that share a
//! cause with a past one, against the ground truth the seed wrote (`bench_cause`).
//!
//! The queries are family members (a cause that recurs over the five years, see
//! `seed::INSERT_INCIDENTS`) that are closed or resolved, picked deterministically. An incident
//! is relevant to a query when it has the same symptom, component and service, whether or not
//! it is in the query's family; declined incidents are left out (the tool leaves them out by
//! default). Each query is asked twice through the use case in-process: by incident, and as a
//! description (its title and summary, with its service and alert name).

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use firebreak::app::App;
use firebreak::app::similar::SimilarRequest;
use serde::Serialize;
use sqlx::PgPool;

use crate::measure::{Samples, Stats};
use crate::workload::Observed;

/// Queries of the evaluation.
const QUERIES: i64 = 200;
/// Answers looked at per query.
const TOP: usize = 5;

/// The queries with their relevant incidents, deterministic for a seed.
const QUERY_SET: &str = "\
with q as (
    select c.number, c.symptom, c.component, c.service, c.alertname, c.family,
           i.title, i.summary
    from bench_cause c join incident i on i.number = c.number
    where c.family is not null and i.status in ('closed', 'resolved') and c.number <= $1
    order by hashint8(c.number), c.number
    limit $2
)
select q.number, q.title, q.summary, q.service, q.alertname,
    array(select c.number from bench_cause c join incident i on i.number = c.number
          where c.symptom = q.symptom and c.component = q.component and c.service = q.service
            and c.number <> q.number and i.status <> 'declined'
          order by c.number) as relevant,
    array(select c.number from bench_cause c
          where c.family = q.family and c.number <> q.number) as family
from q order by q.number";

/// A row of [`QUERY_SET`]: number, title, summary, service, alert name, relevant, family.
type QueryRow = (
    i64,
    String,
    String,
    String,
    Option<String>,
    Vec<i64>,
    Vec<i64>,
);

/// One query of the evaluation.
struct Query {
    number: i64,
    title: String,
    summary: String,
    service: String,
    alertname: Option<String>,
    relevant: HashSet<i64>,
    family: HashSet<i64>,
}

/// The evaluation set and how `find_similar_incidents` did on it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Evaluation {
    /// Families in the seed and the incidents in them.
    pub(crate) families: i64,
    pub(crate) family_members: i64,
    pub(crate) queries: usize,
    /// Relevant incidents per query: mean, median, least and most.
    pub(crate) relevant_mean: f64,
    pub(crate) relevant_median: usize,
    pub(crate) relevant_min: usize,
    pub(crate) relevant_max: usize,
    /// The best precision@5 and recall@5 any ranking could reach on these queries.
    pub(crate) precision_ceiling: f64,
    pub(crate) recall_ceiling: f64,
    pub(crate) by_incident: Scores,
    pub(crate) by_description: Scores,
}

/// Precision and recall at 5 of one way of asking, averaged over the queries.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Scores {
    pub(crate) precision_at_5: f64,
    pub(crate) recall_at_5: f64,
    /// Relevant incidents in the top 5, and how many of those are in the query's family.
    pub(crate) relevant_found_mean: f64,
    pub(crate) family_found_mean: f64,
    /// How many incidents the answers held (the tool leaves out weak matches).
    pub(crate) returned_mean: f64,
    /// In-process latency of the calls (the use case through `App`).
    pub(crate) latency: Stats,
}

/// Runs the evaluation through the use case in-process.
pub(crate) async fn evaluate(app: &App, pool: &PgPool, seeded: i64) -> anyhow::Result<Evaluation> {
    let rows: Vec<QueryRow> = sqlx::query_as(QUERY_SET)
        .bind(seeded)
        .bind(QUERIES)
        .fetch_all(pool)
        .await?;
    let queries: Vec<Query> = rows
        .into_iter()
        .map(
            |(number, title, summary, service, alertname, relevant, family)| Query {
                number,
                title,
                summary,
                service,
                alertname,
                relevant: relevant.into_iter().collect(),
                family: family.into_iter().collect(),
            },
        )
        .collect();
    let (families, family_members): (i64, i64) = sqlx::query_as(
        "select count(distinct family), count(family) from bench_cause where number <= $1",
    )
    .bind(seeded)
    .fetch_one(pool)
    .await?;
    let mut sizes: Vec<usize> = queries.iter().map(|q| q.relevant.len()).collect();
    sizes.sort_unstable();
    let n = queries.len().max(1) as f64;
    let by_incident = scores(app, &queries, |q| SimilarRequest {
        incident: Some(format!("INC-{}", q.number)),
        limit: Some(TOP as i64),
        ..SimilarRequest::default()
    })
    .await;
    let by_description = scores(app, &queries, |q| SimilarRequest {
        text: Some(format!("{}. {}", q.title, q.summary)),
        services: vec![q.service.clone()],
        labels: q
            .alertname
            .iter()
            .map(|name| ("alertname".to_owned(), name.clone()))
            .collect::<BTreeMap<_, _>>(),
        limit: Some(TOP as i64),
        ..SimilarRequest::default()
    })
    .await;
    Ok(Evaluation {
        families,
        family_members,
        queries: queries.len(),
        relevant_mean: sizes.iter().sum::<usize>() as f64 / n,
        relevant_median: sizes.get(sizes.len() / 2).copied().unwrap_or_default(),
        relevant_min: sizes.first().copied().unwrap_or_default(),
        relevant_max: sizes.last().copied().unwrap_or_default(),
        precision_ceiling: sizes
            .iter()
            .map(|&r| r.min(TOP) as f64 / TOP as f64)
            .sum::<f64>()
            / n,
        recall_ceiling: sizes
            .iter()
            .map(|&r| {
                if r == 0 {
                    0.0
                } else {
                    r.min(TOP) as f64 / r as f64
                }
            })
            .sum::<f64>()
            / n,
        by_incident,
        by_description,
    })
}

/// Asks every query one way and scores the top 5 of the answers.
async fn scores(
    app: &App,
    queries: &[Query],
    request: impl Fn(&Query) -> SimilarRequest,
) -> Scores {
    let mut samples = Samples::default();
    let (mut precision, mut recall, mut found, mut family, mut returned) =
        (0.0, 0.0, 0.0, 0.0, 0.0);
    let started = Instant::now();
    for query in queries {
        let request = request(query);
        let call = Instant::now();
        let answer = app.find_similar_incidents(request).await;
        let latency = call.elapsed();
        let answer = match answer {
            Ok(answer) => answer,
            Err(err) => {
                samples.record(
                    latency,
                    &Err(format!("INC-{}: {}: {err}", query.number, err.code())),
                );
                continue;
            }
        };
        samples.record(latency, &Ok(Observed::default()));
        let top: Vec<i64> = answer
            .similar
            .iter()
            .map(|s| s.number)
            .filter(|n| *n != query.number)
            .take(TOP)
            .collect();
        let hits = top.iter().filter(|n| query.relevant.contains(n)).count();
        precision += hits as f64 / TOP as f64;
        if !query.relevant.is_empty() {
            recall += hits as f64 / query.relevant.len() as f64;
        }
        found += hits as f64;
        family += top.iter().filter(|n| query.family.contains(n)).count() as f64;
        returned += top.len() as f64;
    }
    samples.set_wall(started.elapsed().max(Duration::from_nanos(1)));
    let n = queries.len().max(1) as f64;
    Scores {
        precision_at_5: precision / n,
        recall_at_5: recall / n,
        relevant_found_mean: found / n,
        family_found_mean: family / n,
        returned_mean: returned / n,
        latency: samples.stats(),
    }
}

impl Evaluation {
    /// Failed calls.
    pub(crate) fn errors(&self) -> u64 {
        self.by_incident.latency.errors + self.by_description.latency.errors
    }

    /// The evaluation as markdown.
    pub(crate) fn markdown(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "\n## History: similar incidents\n\n\
             Evaluation set: {} families of incidents that share a cause (symptom, component, \
             service and alert name) spread over the five years, {} incidents in them. \
             Queries: {} family members that are closed or resolved (the same ones every run). \
             Relevant to a query: every other incident with the same symptom, component and \
             service, in its family or not (declined ones left out): {:.1} per query on average \
             (median {}, {}–{}), so the best possible precision@5 is {:.3} and recall@5 {:.3}.\n\n\
             | asked | precision@5 | recall@5 | relevant in top 5 | of them in the family | returned | p50 ms | p99 ms | errors |\n\
             |---|---:|---:|---:|---:|---:|---:|---:|---:|",
            self.families,
            self.family_members,
            self.queries,
            self.relevant_mean,
            self.relevant_median,
            self.relevant_min,
            self.relevant_max,
            self.precision_ceiling,
            self.recall_ceiling
        );
        for (asked, s) in [
            ("by incident (`incident`)", &self.by_incident),
            (
                "by description (title and summary, `services`, `labels.alertname`)",
                &self.by_description,
            ),
        ] {
            let _ = writeln!(
                out,
                "| {asked} | {:.3} | {:.3} | {:.2} | {:.2} | {:.2} | {:.3} | {:.3} | {} |",
                s.precision_at_5,
                s.recall_at_5,
                s.relevant_found_mean,
                s.family_found_mean,
                s.returned_mean,
                s.latency.p50_ms,
                s.latency.p99_ms,
                s.latency.errors
            );
        }
        for message in self
            .by_incident
            .latency
            .error_messages
            .iter()
            .chain(&self.by_description.latency.error_messages)
        {
            let _ = writeln!(out, "\n- error: {message}");
        }
    }
}
