//! Seeding the bench database server-side: `INSERT … SELECT … FROM generate_series` in large
//! batches, with secondary indexes dropped during the load and rebuilt after it. Pseudo-random
//! choices come from `hashint8extended(g, k)`, so the same size always gives the same data.
//! The seed is recorded in `bench_seed` and reused when its size and version match.

use std::io::Write;
use std::time::Instant;

use anyhow::{Context, bail};
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};

use crate::corpus::{ALERT_NAMES, COMPONENTS, NOTES, PEOPLE, SERVICES, SYMPTOMS};

/// Bump when the generated data changes, so older seeds are rebuilt.
const SEED_VERSION: i32 = 3;
/// Share of incidents that belong to a family (a cause that recurs over the history).
const FAMILY_SHARE: f64 = 0.10;
/// Members per family, on average.
const FAMILY_SIZE: i64 = 10;
/// Incidents per statement.
const BATCH: i64 = 50_000;
/// The seeded history spans five years.
const HISTORY_SECONDS: f64 = 5.0 * 365.0 * 86_400.0;

/// What is in the bench database: the seed and where it ends.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Seed {
    /// Seeded incidents, numbered 1..=incidents.
    pub(crate) incidents: i64,
    /// The last timeline `seq` the seed wrote; later entries come from benchmark runs.
    pub(crate) max_seq: i64,
    /// Whether this run seeded (false: reused).
    pub(crate) is_fresh: bool,
    /// Seconds the seeding took (this run, or when it was seeded).
    pub(crate) seconds: f64,
}

/// Seeds `incidents` incidents unless the database already holds that seed, then removes
/// whatever earlier benchmark runs added, so every run starts from the same data.
pub(crate) async fn ensure(conn: &mut PgConnection, incidents: i64) -> anyhow::Result<Seed> {
    conn.execute(
        "create table if not exists bench_seed (incidents bigint not null, \
         seed_version int not null, max_seq bigint not null, seconds float8 not null, \
         seeded_at timestamptz not null default now())",
    )
    .await?;
    let existing: Option<(i64, i32, i64, f64)> =
        sqlx::query_as("select incidents, seed_version, max_seq, seconds from bench_seed")
            .fetch_optional(&mut *conn)
            .await?;
    if let Some((n, version, max_seq, seconds)) = existing
        && n == incidents
        && version == SEED_VERSION
    {
        let seed = Seed {
            incidents,
            max_seq,
            is_fresh: false,
            seconds,
        };
        remove_run_leftovers(conn, &seed).await?;
        return Ok(seed);
    }
    seed(conn, incidents).await
}

/// Removes incidents, timeline entries and roles that earlier runs added beyond the seed, and
/// restores the open incidents that earlier runs changed.
/// Timeline entries are append-only for the product (a trigger refuses deletes); the
/// benchmark owns this database, so it switches the trigger off inside the transaction.
/// Declines the incidents this run declared (untimed, between phases), so the open set stays
/// the seeded few hundred: otherwise each declare phase would add thousands of open incidents
/// and change what the `open` filters and the writes work on.
pub(crate) async fn decline_declared(pool: &sqlx::PgPool, seed: &Seed) -> sqlx::Result<()> {
    sqlx::query(
        "update incident set status = 'declined', version = version + 1, updated_at = now() \
         where number > $1 and status = 'triage'",
    )
    .bind(seed.incidents)
    .execute(pool)
    .await?;
    Ok(())
}

async fn remove_run_leftovers(conn: &mut PgConnection, seed: &Seed) -> anyhow::Result<()> {
    let mut tx = conn.begin().await?;
    // The seed has no alerts: whatever is there came from an alert storm (and points at
    // incidents beyond the seed). Truncated, not deleted and vacuumed: a vacuumed empty table
    // is planned as empty (no 10-page floor), so each backend would cache a sequential scan
    // for the ledger's foreign-key check on `alert` until the next analyze; truncated, the
    // tables look as they do on a fresh install (size unknown).
    tx.execute("truncate alert_decision, alert_group, alert")
        .await?;
    tx.execute("alter table timeline_entry disable trigger user")
        .await?;
    sqlx::query(
        "delete from timeline_entry where seq > $1 \
         or incident_id in (select id from incident where number > $2)",
    )
    .bind(seed.max_seq)
    .bind(seed.incidents)
    .execute(&mut *tx)
    .await?;
    tx.execute("alter table timeline_entry enable trigger user")
        .await?;
    // Keys answer for writes of earlier runs, which are gone: none can be replayed.
    tx.execute("delete from idempotency_key").await?;
    for table in ["role_assignment", "action_item"] {
        let sql = format!(
            "delete from {table} where incident_id in (select id from incident where number > $1)"
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(seed.incidents)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("delete from incident where number > $1")
        .bind(seed.incidents)
        .execute(&mut *tx)
        .await?;
    // The writes only touch the seeded open incidents: put them back as seeded.
    tx.execute(
        "update incident i set title = s.title, summary = s.summary, severity = s.severity, \
           status = s.status, version = s.version, acknowledged_at = s.acknowledged_at, \
           identified_at = s.identified_at, mitigated_at = s.mitigated_at, \
           updated_at = s.updated_at \
         from bench_seed_targets s where s.id = i.id",
    )
    .await?;
    tx.commit().await?;
    conn.execute("vacuum (analyze) incident, timeline_entry, role_assignment")
        .await?;
    Ok(())
}

/// Seeds in one transaction, so a failure leaves the previous data and every index in place.
async fn seed(conn: &mut PgConnection, incidents: i64) -> anyhow::Result<Seed> {
    let started = Instant::now();
    let mut tx = conn.begin().await?;
    // Seeding is loading, not the measured workload: it need not wait for the disk.
    tx.execute(
        "set local synchronous_commit = off; set local maintenance_work_mem = '256MB'; \
         truncate table incident restart identity cascade; delete from bench_seed",
    )
    .await?;
    let indexes = drop_secondary_indexes(&mut tx).await?;
    // The evaluation's ground truth: what caused each incident (see `INSERT_INCIDENTS`).
    tx.execute(
        "drop table if exists bench_cause; \
         create table bench_cause (number bigint not null, symptom text not null, \
           component text, service text not null, alertname text, family int)",
    )
    .await?;
    let families = ((incidents as f64 * FAMILY_SHARE) as i64 / FAMILY_SIZE).max(1);
    let alert_names: Vec<&str> = ALERT_NAMES.iter().flatten().copied().collect();
    let open = (incidents / 10).min(300);
    let resolved = (incidents / 100).max(1);
    let spacing = HISTORY_SECONDS / incidents as f64;
    let mut first = 1;
    while first <= incidents {
        let last = (first + BATCH - 1).min(incidents);
        sqlx::query(INSERT_INCIDENTS)
            .bind(first)
            .bind(last)
            .bind(incidents)
            .bind(open)
            .bind(resolved)
            .bind(spacing)
            .bind(SERVICES.to_vec())
            .bind(SYMPTOMS.map(|(key, _)| key).to_vec())
            .bind(SYMPTOMS.map(|(_, phrase)| phrase).to_vec())
            .bind(COMPONENTS.to_vec())
            .bind(PEOPLE.to_vec())
            .bind(&alert_names)
            .bind(families)
            .bind(FAMILY_SHARE)
            .execute(&mut *tx)
            .await
            .context("seeding incidents")?;
        sqlx::query(INSERT_TIMELINE)
            .bind(first)
            .bind(last)
            .bind(NOTES.to_vec())
            .bind(PEOPLE.to_vec())
            .execute(&mut *tx)
            .await
            .context("seeding timeline entries")?;
        sqlx::query(INSERT_ROLES)
            .bind(first)
            .bind(last)
            .bind(PEOPLE.to_vec())
            .execute(&mut *tx)
            .await
            .context("seeding roles")?;
        progress(last, incidents, started);
        first = last + 1;
    }
    for (name, definition) in &indexes {
        tx.execute(AssertSqlSafe(definition.clone()))
            .await
            .with_context(|| format!("rebuilding index {name}"))?;
    }
    tx.execute(
        "alter table bench_cause add primary key (number); \
         create index bench_cause_cause on bench_cause (symptom, component, service)",
    )
    .await?;
    let (count, max_number, max_seq): (i64, i64, i64) = sqlx::query_as(
        "select (select count(*) from incident), (select coalesce(max(number), 0) from incident), \
                (select coalesce(max(seq), 0) from timeline_entry)",
    )
    .fetch_one(&mut *tx)
    .await?;
    // The open incidents are what the writes change; keep them as seeded to restore later.
    tx.execute(
        "drop table if exists bench_seed_targets; \
         create table bench_seed_targets as select * from incident \
         where status in ('triage', 'investigating', 'identified', 'monitoring')",
    )
    .await?;
    if count != incidents || max_number != incidents {
        bail!("seeding wrote {count} incidents numbered up to {max_number}, expected {incidents}");
    }
    let seconds = started.elapsed().as_secs_f64();
    sqlx::query(
        "insert into bench_seed (incidents, seed_version, max_seq, seconds) values ($1, $2, $3, $4)",
    )
    .bind(incidents)
    .bind(SEED_VERSION)
    .bind(max_seq)
    .bind(seconds)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    conn.execute("vacuum (analyze) incident, timeline_entry, role_assignment, bench_cause")
        .await?;
    Ok(Seed {
        incidents,
        max_seq,
        is_fresh: true,
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn progress(done: i64, total: i64, started: Instant) {
    let _ = writeln!(
        std::io::stderr(),
        "  seeded {done}/{total} incidents ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
}

/// Drops the secondary indexes of the seeded tables (not those behind constraints) and returns
/// their definitions, so they are rebuilt once after the load instead of row by row.
async fn drop_secondary_indexes(conn: &mut PgConnection) -> anyhow::Result<Vec<(String, String)>> {
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "select i.indexname::text, i.indexdef from pg_indexes i \
         where i.schemaname = current_schema() \
           and i.tablename in ('incident', 'incident_facet', 'timeline_entry', 'role_assignment') \
           and not exists (select 1 from pg_constraint c \
                           where c.conindid = format('%I.%I', i.schemaname, i.indexname)::regclass)",
    )
    .fetch_all(&mut *conn)
    .await?;
    for (name, _) in &indexes {
        conn.execute(AssertSqlSafe(format!("drop index {name}")))
            .await?;
    }
    Ok(indexes)
}

/// Incidents `$1..=$2` of `$3`: the newest `$4` are open, the `$5` before them resolved, the
/// rest closed (3% declined). Severities lean to SEV3–SEV4; services lean to the first ones.
/// Lifecycle timestamps follow the status, as the schema's checks require.
///
/// A share `$14` of the incidents belong to one of `$13` families: a cause that recurs over the
/// whole history, so the family's symptom, component, service and alert name are drawn from
/// the family's number instead of the incident's (and its component is always named). The
/// others draw their own, and 90% of them carry an alert name (the rest were declared by
/// hand). Titles are worded four ways, so members of a family are not string-identical. What
/// caused each incident goes to `bench_cause`, the evaluation's ground truth.
const INSERT_INCIDENTS: &str = r#"
with r as (
    select g,
        (hashint8extended(g, 1) & 2147483647) / 2147483648.0 as r_sev,
        (hashint8extended(g, 2) & 2147483647) / 2147483648.0 as r_status,
        (hashint8extended(g, 3) & 2147483647) / 2147483648.0 as r_service,
        (hashint8extended(g, 4) & 2147483647) / 2147483648.0 as r_service2,
        (hashint8extended(g, 5) & 2147483647) / 2147483648.0 as r_symptom,
        (hashint8extended(g, 6) & 2147483647) / 2147483648.0 as r_component,
        (hashint8extended(g, 7) & 2147483647) / 2147483648.0 as r_misc,
        (hashint8extended(g, 10) & 2147483647) / 2147483648.0 as r_alert,
        (hashint8extended(g, 12) & 2147483647) % 4 as wording,
        case when (hashint8extended(g, 11) & 2147483647) / 2147483648.0 < $14
             then 1 + (hashint8extended(g, 13) & 2147483647) % $13 end as family,
        now() - interval '1 hour' - make_interval(secs => ($3 - g) * $6::float8) as declared_at
    from generate_series($1::bigint, $2::bigint) g
), c as (
    -- A family's cause comes from its number, the others' from their own.
    select r.*,
        coalesce((hashint8extended(family, 3) & 2147483647) / 2147483648.0, r_service) as c_service,
        coalesce((hashint8extended(family, 5) & 2147483647) / 2147483648.0, r_symptom) as c_symptom,
        case when family is not null
             then (hashint8extended(family, 6) & 2147483647) / 2147483648.0 * 0.5
             else r_component end as c_component,
        case when family is not null then (hashint8extended(family, 14) & 1)::int
             when r_alert < 0.9 then (hashint8extended(g, 14) & 1)::int end as alert
    from r
), f as (
    select g, declared_at, r_misc, family, wording,
        case when r_sev < 0.02 then 1 when r_sev < 0.10 then 2 when r_sev < 0.45 then 3
             when r_sev < 0.85 then 4 else 5 end as severity,
        case when g > $3 - $4 then
                 case when r_status < 0.15 then 'triage' when r_status < 0.50 then 'investigating'
                      when r_status < 0.75 then 'identified' else 'monitoring' end
             when g > $3 - $4 - $5 then 'resolved'
             when r_status < 0.03 then 'declined'
             else 'closed' end as status,
        ($7::text[])[1 + floor(power(c_service, 2) * 30)::int] as service,
        ($7::text[])[1 + floor(r_service2 * 30)::int] as service2,
        1 + floor(c_symptom * 24)::int as symptom,
        case when c_component < 0.5 then ($10::text[])[1 + floor(c_component * 200)::int] end
            as component,
        alert,
        ($11::text[])[1 + (g % 12)::int] as person
    from c
), t as (
    select f.*,
        ($12::text[])[(symptom - 1) * 2 + 1 + alert] as alertname,
        case when status = 'triage' or status = 'declined' then null
             else declared_at + interval '4 minutes' end as acknowledged_at,
        case when status in ('identified', 'monitoring', 'resolved', 'closed')
             then declared_at + interval '25 minutes' end as identified_at,
        case when status in ('monitoring', 'resolved', 'closed')
             then declared_at + interval '50 minutes' end as mitigated_at,
        case when status in ('resolved', 'closed')
             then declared_at + interval '95 minutes' end as resolved_at,
        case when status = 'closed' then declared_at + interval '3 days' end as closed_at
    from f
), cause as (
    insert into bench_cause (number, symptom, component, service, alertname, family)
    select g, ($8::text[])[symptom], component, service, alertname, family from t
)
insert into incident (id, title, summary, impact, resolution, severity, status, services,
    labels, version, created_by_principal, created_by_client, created_by_channel,
    impact_started_at, detected_at, declared_at, acknowledged_at, identified_at, mitigated_at,
    resolved_at, closed_at, updated_at)
select
    (lpad(to_hex((extract(epoch from declared_at) * 1000)::bigint), 12, '0') || '7000'
        || '8' || lpad(to_hex(g), 15, '0'))::uuid,
    case wording
        when 0 then initcap(($8::text[])[symptom]) || ' on ' || service || ': '
                    || ($9::text[])[symptom]
        when 1 then service || ': ' || ($9::text[])[symptom]
        when 2 then initcap(($9::text[])[symptom]) || ' (' || service || ')'
        else initcap(($8::text[])[symptom]) || ' again on ' || service end,
    format('Alert for %s: %s. %s %s took the page and is looking at recent changes.',
        service, ($9::text[])[symptom],
        case when component is null then 'No component suspected yet.'
             else format('Signs point at %s in the request path.', component) end,
        initcap(person)),
    format('About %s%% of %s requests affected for %s minutes in %s.',
        1 + floor(r_misc * 40)::int, service, 5 + floor(r_misc * 175)::int,
        (array['eu-west-1', 'us-east-1', 'ap-south-1'])[1 + (g % 3)::int]),
    case when status in ('resolved', 'closed')
         then format('Mitigated on %s; monitoring confirmed recovery.', service) end,
    severity, status,
    case when r_misc < 0.2 and service2 <> service then array[service, service2]
         else array[service] end,
    jsonb_build_object('region', (array['eu-west-1', 'us-east-1', 'ap-south-1'])[1 + (g % 3)::int])
        || case when alertname is null then '{}'::jsonb
                else jsonb_build_object('alertname', alertname) end,
    case status when 'triage' then 1 when 'declined' then 2 when 'investigating' then 2
         when 'identified' then 3 when 'monitoring' then 4 when 'resolved' then 5 else 6 end,
    person, 'firebreak-bench seed', case when g % 4 = 0 then 'http' else 'mcp' end,
    case when r_misc < 0.5 then declared_at - interval '12 minutes' end,
    declared_at - interval '2 minutes', declared_at,
    acknowledged_at, identified_at, mitigated_at, resolved_at, closed_at,
    coalesce(closed_at, resolved_at, mitigated_at, identified_at, acknowledged_at, declared_at)
from t
order by g
"#;

/// Three to seven entries per incident (five on average): the declaration, then notes,
/// findings, hypotheses, actions and decisions a few minutes apart; one in ten is public.
const INSERT_TIMELINE: &str = r#"
insert into timeline_entry (id, incident_id, kind, body, occurred_at, recorded_at, visibility,
    actor_principal, actor_client, actor_channel, data)
select
    (lpad(to_hex((extract(epoch from e.at) * 1000)::bigint), 12, '0') || '7'
        || lpad(to_hex(k), 3, '0') || '8' || lpad(to_hex(i.number), 15, '0'))::uuid,
    i.id,
    case when k = 1 then 'status_change'
         else (array['note', 'finding', 'hypothesis', 'action', 'decision', 'note'])
              [1 + ((i.number + k) % 6)::int] end,
    case when k = 1 then format('Declared INC-%s SEV%s: %s', i.number, i.severity, i.title)
         else ($3::text[])[1 + ((i.number * 7 + k) % 12)::int] end,
    e.at, e.at,
    case when (i.number + k) % 10 = 0 then 'public' else 'internal' end,
    ($4::text[])[1 + ((i.number + k) % 12)::int], 'firebreak-bench seed', 'mcp',
    case when k = 1 then jsonb_build_object('to', 'triage', 'severity', 'SEV' || i.severity) end
from incident i
cross join lateral generate_series(1, 3 + (hashint8extended(i.number, 8) & 2147483647) % 5) k
cross join lateral (select i.declared_at + make_interval(mins => ((k - 1) * 7)::int)) e(at)
where i.number between $1 and $2
order by i.number, k
"#;

/// A commander on 60% of incidents, and a tech lead on SEV1 and SEV2 ones.
const INSERT_ROLES: &str = r#"
insert into role_assignment (id, incident_id, role, assignee, assigned_at,
    assigned_by_principal, assigned_by_client, assigned_by_channel)
select
    (lpad(to_hex((extract(epoch from i.declared_at) * 1000)::bigint), 12, '0') || '7'
        || lpad(to_hex(r.n + 256), 3, '0') || '8' || lpad(to_hex(i.number), 15, '0'))::uuid,
    i.id, r.role, ($3::text[])[1 + ((i.number * 5 + r.n) % 12)::int],
    i.declared_at + interval '2 minutes', i.created_by_principal, 'firebreak-bench seed', 'mcp'
from incident i
cross join lateral (values (1, 'commander'), (2, 'tech_lead')) r(n, role)
where i.number between $1 and $2
  and ((r.role = 'commander' and (hashint8extended(i.number, 9) & 2147483647) % 10 < 6)
       or (r.role = 'tech_lead' and i.severity <= 2))
"#;
