//! SQL for incident metrics: tallies of the incidents declared in a period (index-only scans
//! of the `incident_metrics` covering index, migration 0012), the services and alerts behind
//! them, overdue action items and owed postmortems.
//!
//! The durations leave PostgreSQL as arrays of whole seconds, one per tally, and their
//! percentiles are taken in `domain::metrics`. On 1M incidents, `percentile_cont` inside the
//! aggregate (a float sort per metric) with filtered counts took 20–40% more of PostgreSQL's
//! time per incident than hashing the rows into tallies; and the tallies of weeks or months add
//! up to the whole period's figures, where percentiles in SQL need a second scan for them.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{FromRow, PgConnection, Postgres, QueryBuilder};

use crate::domain::metrics::{AlertNoise, IncidentClass, OverdueItem, Period, Sample, Tally};
use crate::domain::{Severity, Status};
use crate::store::incidents::severity;
use crate::store::{Error, Result};

/// Which incidents a metric reads, beyond the period.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    /// Only incidents affecting this service.
    pub service: Option<&'a str>,
    /// Only these severities (empty: all).
    pub severities: &'a [Severity],
    /// Count `test`-labelled incidents like any other.
    pub include_test: bool,
}

/// Makes the rest of the transaction read one snapshot, without writing.
pub async fn snapshot(conn: &mut PgConnection) -> Result<()> {
    sqlx::query("set transaction isolation level repeatable read, read only")
        .execute(conn)
        .await?;
    Ok(())
}

/// A tally's key and aggregates over the incidents: the stored durations of migration 0012
/// (whole seconds, null unless the incident ended and has the end stamp) and the anchors they
/// started from, all columns of the `incident_metrics` index, so the scan never visits the
/// table and nothing is computed per row.
const TALLY_COLUMNS: &str = "severity, status, is_test, has_detected_at, has_impact_start, \
    count(*) as incidents, \
    coalesce(array_agg(metric_acknowledge_seconds) \
        filter (where metric_acknowledge_seconds is not null), '{}') as acknowledge, \
    coalesce(array_agg(metric_mitigate_seconds) \
        filter (where metric_mitigate_seconds is not null), '{}') as mitigate, \
    coalesce(array_agg(metric_resolve_seconds) \
        filter (where metric_resolve_seconds is not null), '{}') as resolve";

/// Grouping by the stored columns lets PostgreSQL estimate a few hundred groups from their
/// statistics, so it hashes them; a computed class or bucket in the key made it guess one group
/// per row and sort the whole window first.
const TALLY_GROUPS: &str = " group by severity, status, is_test, has_detected_at, has_impact_start";

#[derive(FromRow)]
struct TallyRow {
    bucket: i64,
    severity: i16,
    status: String,
    is_test: bool,
    has_detected_at: bool,
    has_impact_start: bool,
    incidents: i64,
    acknowledge: Vec<i32>,
    mitigate: Vec<i32>,
    resolve: Vec<i32>,
}

impl TallyRow {
    fn tally(self, include_test: bool) -> Result<Tally> {
        let status: Status = self.status.parse().map_err(Error::Corrupt)?;
        Ok(Tally {
            bucket: usize::try_from(self.bucket)
                .map_err(|_| Error::Corrupt(format!("bucket {}", self.bucket)))?,
            severity: severity(self.severity)?,
            class: IncidentClass::of(status, self.is_test, include_test),
            has_detected_at: self.has_detected_at,
            has_impact_start: self.has_impact_start,
            incidents: self.incidents,
            acknowledge: self.acknowledge,
            mitigate: self.mitigate,
            resolve: self.resolve,
        })
    }
}

/// Pushes `and …` conditions on `scope`'s service and severities (not on `test` incidents,
/// which the tallies count as left out).
fn push_tally_scope(sql: &mut QueryBuilder<Postgres>, scope: &Scope<'_>) {
    if let Some(service) = scope.service {
        sql.push(" and services @> array[")
            .push_bind(service.to_owned())
            .push("::text]");
    }
    if !scope.severities.is_empty() {
        let levels: Vec<i16> = scope.severities.iter().map(|s| s.level()).collect();
        sql.push(" and severity = any(").push_bind(levels).push(")");
    }
}

/// Tallies of the incidents declared in each of `periods`, each saying which period by
/// position: one index range scan per period, its rows hashed into a few hundred tallies.
pub async fn tallies(
    conn: &mut PgConnection,
    periods: &[Period],
    scope: &Scope<'_>,
) -> Result<Vec<Tally>> {
    let froms: Vec<DateTime<Utc>> = periods.iter().map(|p| p.from).collect();
    let tos: Vec<DateTime<Utc>> = periods.iter().map(|p| p.to).collect();
    let mut sql = QueryBuilder::new("select r.ord - 1 as bucket, t.* from unnest(");
    sql.push_bind(froms)
        .push("::timestamptz[], ")
        .push_bind(tos)
        .push("::timestamptz[]) with ordinality as r(lo, hi, ord) cross join lateral (select ")
        .push(TALLY_COLUMNS)
        .push(" from incident where declared_at >= r.lo and declared_at < r.hi");
    push_tally_scope(&mut sql, scope);
    sql.push(TALLY_GROUPS).push(") t");
    let rows: Vec<TallyRow> = sql.build_query_as().fetch_all(conn).await?;
    rows.into_iter()
        .map(|row| row.tally(scope.include_test))
        .collect()
}

#[derive(FromRow)]
struct ServiceTallyRow {
    service: Option<String>,
    #[sqlx(flatten)]
    tally: TallyRow,
}

/// Tallies of the resolved and closed incidents of `period` by service (an incident counts for
/// each of its services; `None` holds those without one).
pub async fn service_tallies(
    conn: &mut PgConnection,
    period: &Period,
    scope: &Scope<'_>,
) -> Result<Vec<(Option<String>, Tally)>> {
    let mut sql = QueryBuilder::new("select s.service, 0::bigint as bucket, ");
    sql.push(TALLY_COLUMNS).push(
        " from incident w left join lateral (select distinct unnest(w.services) as service) s \
         on true where w.status in ('resolved', 'closed') and w.declared_at >= ",
    );
    sql.push_bind(period.from)
        .push(" and w.declared_at < ")
        .push_bind(period.to);
    push_tally_scope(&mut sql, scope);
    sql.push(TALLY_GROUPS).push(", s.service");
    let rows: Vec<ServiceTallyRow> = sql.build_query_as().fetch_all(conn).await?;
    rows.into_iter()
        .map(|row| Ok((row.service, row.tally.tally(scope.include_test)?)))
        .collect()
}

/// Counted incidents of `period` per set of services.
pub async fn service_sets(
    conn: &mut PgConnection,
    period: &Period,
    scope: &Scope<'_>,
) -> Result<Vec<(Vec<String>, i64)>> {
    let mut sql = QueryBuilder::new(
        "select services, count(*) from incident where status in ('resolved', 'closed') and declared_at >= ",
    );
    sql.push_bind(period.from)
        .push(" and declared_at < ")
        .push_bind(period.to);
    push_incident_scope(&mut sql, "", scope);
    sql.push(" group by services");
    Ok(sql.build_query_as().fetch_all(conn).await?)
}

/// `and …` conditions on the incident columns (prefixed by `alias`) for `scope`.
fn push_incident_scope(sql: &mut QueryBuilder<Postgres>, alias: &'static str, scope: &Scope<'_>) {
    if !scope.include_test {
        sql.push(" and not ").push(alias).push("is_test");
    }
    if let Some(service) = scope.service {
        sql.push(" and ")
            .push(alias)
            .push("services @> array[")
            .push_bind(service.to_owned())
            .push("::text]");
    }
    if !scope.severities.is_empty() {
        let levels: Vec<i16> = scope.severities.iter().map(|s| s.level()).collect();
        sql.push(" and ")
            .push(alias)
            .push("severity = any(")
            .push_bind(levels)
            .push(")");
    }
}

#[derive(FromRow)]
struct NoiseRow {
    source: String,
    alertname: Option<String>,
    alerts: i64,
    deliveries: i64,
    incidents: i64,
}

/// The `limit` alert names (per source) with the most deliveries among the alerts seen in
/// `period`, optionally only those about `service`.
pub async fn noisy_alerts(
    conn: &mut PgConnection,
    period: &Period,
    service: Option<&str>,
    limit: i64,
) -> Result<Vec<AlertNoise>> {
    // Grouped twice, by incident first, so that both steps hash: `count(distinct …)` in one
    // step sorted every alert of the period (2–3 times slower, measured on 500k alerts).
    let mut sql = QueryBuilder::new(
        "select source, alertname, sum(alerts)::bigint as alerts, \
         sum(deliveries)::bigint as deliveries, count(incident_id) as incidents \
         from (select source, labels ->> 'alertname' as alertname, incident_id, \
         count(*) as alerts, sum(seen_count) as deliveries \
         from alert where last_seen >= ",
    );
    sql.push_bind(period.from)
        .push(" and first_seen < ")
        .push_bind(period.to);
    if let Some(service) = service {
        sql.push(" and services @> array[")
            .push_bind(service.to_owned())
            .push("::text]");
    }
    sql.push(" group by 1, 2, 3) by_incident group by 1, 2 order by 4 desc, 3 desc, 1, 2 limit ")
        .push_bind(limit);
    let rows: Vec<NoiseRow> = sql.build_query_as().fetch_all(conn).await?;
    Ok(rows
        .into_iter()
        .map(|r| AlertNoise {
            source: r.source,
            alertname: r.alertname,
            alerts: r.alerts,
            deliveries: r.deliveries,
            incidents: r.incidents,
        })
        .collect())
}

#[derive(FromRow)]
struct OverdueRow {
    number: i64,
    title: String,
    owner: Option<String>,
    due_on: NaiveDate,
    incident_number: i64,
    total: i64,
}

/// Open and in-progress action items due before `today` (of incidents within `scope`,
/// declared at any time): how many, and the `limit` due longest ago.
pub async fn overdue_action_items(
    conn: &mut PgConnection,
    today: NaiveDate,
    scope: &Scope<'_>,
    limit: i64,
) -> Result<Sample<OverdueItem>> {
    // The `action_item_outstanding` index (migration 0010) holds only open and in-progress
    // items, by due date: the done ones, most of them in time, are never read.
    let mut sql = QueryBuilder::new(
        "select a.number, a.title, a.owner, a.due_on, i.number as incident_number, \
         count(*) over () as total \
         from action_item a join incident i on i.id = a.incident_id \
         where a.status in ('open', 'in_progress') and a.due_on < ",
    );
    sql.push_bind(today);
    push_incident_scope(&mut sql, "i.", scope);
    sql.push(" order by a.due_on, a.number limit ")
        .push_bind(limit);
    let rows: Vec<OverdueRow> = sql.build_query_as().fetch_all(conn).await?;
    Ok(Sample {
        count: rows.first().map_or(0, |r| r.total),
        first: rows
            .into_iter()
            .map(|r| OverdueItem {
                number: r.number,
                title: r.title,
                owner: r.owner,
                due_on: r.due_on,
                incident_number: r.incident_number,
            })
            .collect(),
    })
}

/// Major (SEV1–SEV2) incidents declared in `period` and resolved or closed whose postmortem
/// is missing or not published: how many, and the `limit` oldest (by number). Reads the
/// `incident_major_done` and `postmortem_published` indexes (migration 0010).
pub async fn owed_postmortems(
    conn: &mut PgConnection,
    period: &Period,
    scope: &Scope<'_>,
    limit: i64,
) -> Result<Sample<i64>> {
    // The `offset 0` fence keeps the period's majors one range of `incident_major_done`:
    // left to itself, PostgreSQL walked every incident in number order to find the first few.
    let mut sql = QueryBuilder::new(
        "select number, count(*) over () as total from (select i.number from incident i \
         where i.severity <= 2 and i.status in ('resolved', 'closed') and i.declared_at >= ",
    );
    sql.push_bind(period.from)
        .push(" and i.declared_at < ")
        .push_bind(period.to);
    push_incident_scope(&mut sql, "i.", scope);
    sql.push(
        " and not exists (select 1 from postmortem p \
         where p.incident_id = i.id and p.status = 'published') offset 0) owed \
         order by number limit ",
    )
    .push_bind(limit);
    let rows: Vec<(i64, i64)> = sql.build_query_as().fetch_all(conn).await?;
    Ok(Sample {
        count: rows.first().map_or(0, |r| r.1),
        first: rows.into_iter().map(|r| r.0).collect(),
    })
}
