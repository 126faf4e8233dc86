//! What the list queries do in PostgreSQL: how many incidents the workload's filters and text
//! queries match, and `EXPLAIN (ANALYZE, BUFFERS)` of the statements the store runs for them.

use firebreak::store::incident_list::list_statement;
use serde::Serialize;
use sqlx::PgPool;

use crate::floor::{LIST_LIMIT, list_filter, statuses};
use crate::workload::{Op, Tool, Workload};

/// How many incidents a kind of list query matches.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Selectivity {
    pub(crate) query: String,
    pub(crate) samples: usize,
    pub(crate) mean: f64,
    pub(crate) median: i64,
    pub(crate) max: i64,
}

/// A query plan as PostgreSQL printed it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Plan {
    pub(crate) name: String,
    pub(crate) parameters: String,
    pub(crate) plan: String,
}

const SAMPLES: usize = 40;

/// Counts the matches of `SAMPLES` filter queries and `SAMPLES` text queries of the workload.
pub(crate) async fn selectivity(
    pool: &PgPool,
    workload: &mut Workload,
) -> sqlx::Result<Vec<Selectivity>> {
    let mut result = Vec::new();
    for tool in [Tool::ListFiltered, Tool::ListText] {
        let mut counts = Vec::with_capacity(SAMPLES);
        for _ in 0..SAMPLES {
            let (count,): (i64,) = match workload.op(tool) {
                Op::ListFiltered {
                    status,
                    severities,
                    service,
                } => {
                    let levels: Vec<i16> = severities.into_iter().map(i16::from).collect();
                    sqlx::query_as(
                        "select count(*) from incident where status = any($1) \
                         and severity = any($2) and services @> array[$3]::text[]",
                    )
                    .bind(statuses(status))
                    .bind(levels)
                    .bind(service)
                    .fetch_one(pool)
                    .await?
                }
                Op::ListText { text } => {
                    sqlx::query_as(
                        "select count(*) from incident \
                         where search @@ websearch_to_tsquery('english', $1)",
                    )
                    .bind(text)
                    .fetch_one(pool)
                    .await?
                }
                _ => continue,
            };
            counts.push(count);
        }
        counts.sort_unstable();
        let sum: i64 = counts.iter().sum();
        result.push(Selectivity {
            query: tool.label().to_owned(),
            samples: counts.len(),
            mean: sum as f64 / counts.len().max(1) as f64,
            median: counts.get(counts.len() / 2).copied().unwrap_or_default(),
            max: counts.last().copied().unwrap_or_default(),
        });
    }
    Ok(result)
}

/// Plans of the list statements for typical and unfavourable parameters.
pub(crate) async fn plans(pool: &PgPool) -> sqlx::Result<Vec<Plan>> {
    let filtered: [(&str, &str, Vec<u8>, &str); 3] = [
        ("filters, common", "closed", vec![3, 4], "checkout-api"),
        ("filters, open", "open", vec![3], "payments"),
        ("filters, rare", "declined", vec![1, 2], "k8s-control-plane"),
    ];
    let mut cases = Vec::new();
    for (name, status, severities, service) in filtered {
        let parameters = format!(
            "status = {:?}, severity = {severities:?}, service = {service:?}, limit {LIST_LIMIT}",
            statuses(status)
        );
        let op = Op::ListFiltered {
            status,
            severities,
            service,
        };
        cases.push((name, parameters, op));
    }
    for (name, text) in [
        ("text, one word", "pgbouncer"),
        ("text, symptom and service", "latency checkout-api"),
        ("text, common word", "latency"),
        ("text, no match", "pgbouncer etcd"),
    ] {
        let parameters = format!("text = {text:?}, limit {LIST_LIMIT}");
        let op = Op::ListText {
            text: text.to_owned(),
        };
        cases.push((name, parameters, op));
    }
    let mut plans = Vec::new();
    for (name, parameters, op) in cases {
        let Some(filter) = list_filter(&op) else {
            continue;
        };
        let run = async || {
            list_statement("explain (analyze, buffers) ", &filter, None, LIST_LIMIT)
                .build_query_as::<(String,)>()
                .fetch_all(pool)
                .await
        };
        // The second run is the one shown: its pages are cached, as they are under load.
        run().await?;
        plans.push(plan(name, parameters, run().await?));
    }
    Ok(plans)
}

fn plan(name: &str, parameters: String, lines: Vec<(String,)>) -> Plan {
    Plan {
        name: name.to_owned(),
        parameters,
        plan: lines
            .into_iter()
            .map(|(line,)| line)
            .collect::<Vec<_>>()
            .join("\n"),
    }
}
