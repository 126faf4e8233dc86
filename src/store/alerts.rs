//! SQL for alerts and their ledger. A delivery's alerts are read and written in a handful of
//! set-based statements (one per kind of change, each over arrays), so a batch of fifty costs
//! about as much as one.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{FromRow, PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::domain::signals::{IncidentLink, OpenAlert};
use crate::store::Result;

mod list;

pub use list::{AlertFilter, TimePosition, list};

/// The statuses in which an incident takes new alerts.
macro_rules! open_statuses {
    () => {
        "('triage', 'investigating', 'identified', 'monitoring')"
    };
}

/// Takes transaction-scoped advisory locks on every scope, in one fixed order (by hash), so
/// two deliveries that share scopes serialise and never deadlock.
pub async fn lock_scopes(conn: &mut PgConnection, scopes: &[String]) -> Result<()> {
    if scopes.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "select pg_advisory_xact_lock(h) from (select distinct hashtextextended(s, 0) as h \
         from unnest($1::text[]) as s order by h) as ordered",
    )
    .bind(scopes)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(FromRow)]
struct OpenRow {
    alert_key: String,
    id: Uuid,
    first_seen: DateTime<Utc>,
    incident_id: Option<Uuid>,
    incident_number: Option<i64>,
}

/// The firing alerts of `source` with one of `keys`.
pub async fn open_alerts(
    conn: &mut PgConnection,
    source: &str,
    keys: &[String],
) -> Result<Vec<(String, OpenAlert)>> {
    let rows: Vec<OpenRow> = sqlx::query_as(
        "select a.alert_key, a.id, a.first_seen, a.incident_id, i.number as incident_number \
         from alert a left join incident i on i.id = a.incident_id \
         where a.source = $1 and a.alert_key = any($2) and a.status = 'firing'",
    )
    .bind(source)
    .bind(keys)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let incident = row
                .incident_id
                .zip(row.incident_number)
                .map(|(id, number)| IncidentLink { id, number });
            let open = OpenAlert {
                id: row.id,
                first_seen: row.first_seen,
                incident,
            };
            (row.alert_key, open)
        })
        .collect())
}

/// A group to look up: its route, key, and the earliest last alert that keeps it open.
#[derive(Debug, Clone)]
pub struct GroupQuery {
    /// The route.
    pub route: String,
    /// The group key.
    pub group_key: String,
    /// The group window's start (none: any time).
    pub since: Option<DateTime<Utc>>,
}

#[derive(FromRow)]
struct GroupRow {
    route: String,
    group_key: String,
    id: Uuid,
    number: i64,
}

/// For each group, the open incident its latest alert belongs to (following a merge to the
/// incident that absorbed it).
pub async fn group_incidents(
    conn: &mut PgConnection,
    source: &str,
    groups: &[GroupQuery],
) -> Result<Vec<((String, String), IncidentLink)>> {
    if groups.is_empty() {
        return Ok(Vec::new());
    }
    let routes: Vec<&str> = groups.iter().map(|g| g.route.as_str()).collect();
    let keys: Vec<&str> = groups.iter().map(|g| g.group_key.as_str()).collect();
    let since: Vec<Option<DateTime<Utc>>> = groups.iter().map(|g| g.since).collect();
    const SQL: &str = concat!(
        "select g.route, g.group_key, coalesce(t.id, i.id) as id, \
         coalesce(t.number, i.number) as number \
         from unnest($2::text[], $3::text[], $4::timestamptz[]) as g(route, group_key, since) \
         join alert_group ag on ag.source = $1 and ag.route = g.route \
           and ag.group_key = g.group_key and (g.since is null or ag.last_seen >= g.since) \
         join incident i on i.id = ag.incident_id \
         left join incident t on t.id = i.merged_into and i.status = 'merged' \
         where i.status in ",
        open_statuses!(),
        " or (i.status = 'merged' and t.status in ",
        open_statuses!(),
        ")"
    );
    let rows: Vec<GroupRow> = sqlx::query_as(SQL)
        .bind(source)
        .bind(routes)
        .bind(keys)
        .bind(since)
        .fetch_all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let link = IncidentLink {
                id: r.id,
                number: r.number,
            };
            ((r.route, r.group_key), link)
        })
        .collect())
}

/// A new alert row.
#[derive(Debug, Clone)]
pub struct NewAlert {
    /// Its id.
    pub id: Uuid,
    /// Its identity.
    pub key: String,
    /// `firing` (or `resolved`, when it resolved within the same delivery).
    pub status: &'static str,
    /// Title.
    pub title: String,
    /// Mapped severity (1–5).
    pub severity: Option<i16>,
    /// Services.
    pub services: Vec<String>,
    /// Dependencies.
    pub dependencies: Vec<String>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
    /// Description.
    pub description: Option<String>,
    /// Link at the sender.
    pub source_url: Option<String>,
    /// Runbook.
    pub runbook_url: Option<String>,
    /// The route that matched.
    pub route: Option<String>,
    /// The group key.
    pub group_key: String,
    /// Its incident.
    pub incident_id: Option<Uuid>,
    /// When it started.
    pub starts_at: DateTime<Utc>,
    /// When it ended.
    pub ends_at: Option<DateTime<Utc>>,
}

/// Inserts new alerts of `source`, seen first at `now`, in one statement.
pub async fn insert(
    conn: &mut PgConnection,
    source: &str,
    alerts: &[NewAlert],
    now: DateTime<Utc>,
) -> Result<()> {
    if alerts.is_empty() {
        return Ok(());
    }
    let mut q: QueryBuilder<Postgres> = QueryBuilder::new(
        "insert into alert (id, source, alert_key, status, title, severity, services, \
         dependencies, labels, annotations, description, source_url, runbook_url, route, \
         group_key, incident_id, starts_at, ends_at, first_seen, last_seen) ",
    );
    q.push_values(alerts, |mut row, a| {
        row.push_bind(a.id)
            .push_bind(source)
            .push_bind(&a.key)
            .push_bind(a.status)
            .push_bind(&a.title)
            .push_bind(a.severity)
            .push_bind(&a.services)
            .push_bind(&a.dependencies)
            .push_bind(Json(&a.labels))
            .push_bind(Json(&a.annotations))
            .push_bind(&a.description)
            .push_bind(&a.source_url)
            .push_bind(&a.runbook_url)
            .push_bind(&a.route)
            .push_bind(&a.group_key)
            .push_bind(a.incident_id)
            .push_bind(a.starts_at)
            .push_bind(a.ends_at)
            .push_bind(now)
            .push_bind(now);
    });
    q.build().execute(conn).await?;
    Ok(())
}

/// Records each group's incident and latest alert (`groups[i]` = route, key, incident).
pub async fn keep_groups(
    conn: &mut PgConnection,
    source: &str,
    groups: &[(String, String, Uuid)],
    now: DateTime<Utc>,
) -> Result<()> {
    if groups.is_empty() {
        return Ok(());
    }
    let routes: Vec<&str> = groups.iter().map(|g| g.0.as_str()).collect();
    let keys: Vec<&str> = groups.iter().map(|g| g.1.as_str()).collect();
    let incidents: Vec<Uuid> = groups.iter().map(|g| g.2).collect();
    sqlx::query(
        "insert into alert_group (source, route, group_key, incident_id, last_seen) \
         select $1, g.route, g.group_key, g.incident_id, $5 \
         from unnest($2::text[], $3::text[], $4::uuid[]) as g(route, group_key, incident_id) \
         on conflict (source, route, group_key) do update \
         set incident_id = excluded.incident_id, last_seen = excluded.last_seen",
    )
    .bind(source)
    .bind(routes)
    .bind(keys)
    .bind(incidents)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Counts repeat deliveries: `times[i]` more sightings of alert `ids[i]`; returns each
/// alert's new count.
pub async fn touch(
    conn: &mut PgConnection,
    ids: &[Uuid],
    times: &[i32],
    now: DateTime<Utc>,
) -> Result<Vec<(Uuid, i64)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(Uuid, i32)> = sqlx::query_as(
        "update alert a set last_seen = $3, seen_count = a.seen_count + t.n \
         from unnest($1::uuid[], $2::int[]) as t(id, n) where a.id = t.id \
         returning a.id, a.seen_count",
    )
    .bind(ids)
    .bind(times)
    .bind(now)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|(id, n)| (id, i64::from(n))).collect())
}

/// Resolves alerts `ids[i]` at `ends[i]`.
pub async fn resolve(
    conn: &mut PgConnection,
    ids: &[Uuid],
    ends: &[DateTime<Utc>],
    now: DateTime<Utc>,
) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "update alert a set status = 'resolved', ends_at = t.ends_at, last_seen = $3 \
         from unnest($1::uuid[], $2::timestamptz[]) as t(id, ends_at) where a.id = t.id",
    )
    .bind(ids)
    .bind(ends)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks alerts acknowledged at the sender.
pub async fn acknowledge(conn: &mut PgConnection, ids: &[Uuid], now: DateTime<Utc>) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "update alert set acknowledged_at = coalesce(acknowledged_at, $2), last_seen = $2 \
         where id = any($1)",
    )
    .bind(ids)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// For each incident: how many of its alerts still fire, and how many it has in all.
pub async fn firing_counts(
    conn: &mut PgConnection,
    incidents: &[Uuid],
) -> Result<Vec<(Uuid, i64, i64)>> {
    if incidents.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sqlx::query_as(
        "select incident_id, count(*) filter (where status = 'firing'), count(*) \
         from alert where incident_id = any($1) group by incident_id",
    )
    .bind(incidents)
    .fetch_all(conn)
    .await?;
    Ok(rows)
}

/// One ledger line.
#[derive(Debug, Clone)]
pub struct LedgerLine {
    /// The alert, when there is one.
    pub alert_id: Option<Uuid>,
    /// The identity the event carried.
    pub alert_key: Option<String>,
    /// The incident it concerned.
    pub incident_id: Option<Uuid>,
    /// `declared`, `attached`, `deduplicated` …
    pub decision: &'static str,
    /// Why, in words.
    pub reason: String,
}

/// Appends ledger lines for `source`, received at `now`, in one statement.
pub async fn record(
    conn: &mut PgConnection,
    source: &str,
    lines: &[LedgerLine],
    now: DateTime<Utc>,
) -> Result<()> {
    if lines.is_empty() {
        return Ok(());
    }
    let alert_ids: Vec<Option<Uuid>> = lines.iter().map(|l| l.alert_id).collect();
    let keys: Vec<Option<&str>> = lines.iter().map(|l| l.alert_key.as_deref()).collect();
    let incidents: Vec<Option<Uuid>> = lines.iter().map(|l| l.incident_id).collect();
    let decisions: Vec<&str> = lines.iter().map(|l| l.decision).collect();
    let reasons: Vec<&str> = lines.iter().map(|l| l.reason.as_str()).collect();
    sqlx::query(
        "insert into alert_decision (received_at, source, alert_id, alert_key, incident_id, \
         decision, reason) \
         select $1, $2, t.alert_id, t.alert_key, t.incident_id, t.decision, t.reason \
         from unnest($3::uuid[], $4::text[], $5::uuid[], $6::text[], $7::text[]) \
           with ordinality as t(alert_id, alert_key, incident_id, decision, reason, ord) \
         order by t.ord",
    )
    .bind(now)
    .bind(source)
    .bind(alert_ids)
    .bind(keys)
    .bind(incidents)
    .bind(decisions)
    .bind(reasons)
    .execute(conn)
    .await?;
    Ok(())
}

/// The services the alerts of an incident say it depends on.
pub async fn dependencies(conn: &mut PgConnection, incident_id: Uuid) -> Result<Vec<String>> {
    let (deps,): (Vec<String>,) = sqlx::query_as(
        "select coalesce(array_agg(distinct d), '{}') from alert, unnest(dependencies) as d \
         where incident_id = $1",
    )
    .bind(incident_id)
    .fetch_one(conn)
    .await?;
    Ok(deps)
}

/// Records one refused delivery (bad credentials, a payload not in the source's format).
pub async fn record_refusal(
    conn: &mut PgConnection,
    source: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "insert into alert_decision (received_at, source, decision, reason) \
         values ($1, $2, 'refused', $3)",
    )
    .bind(now)
    .bind(source)
    .bind(reason)
    .execute(conn)
    .await?;
    Ok(())
}
