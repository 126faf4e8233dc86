//! The brief of one incident (what `get_incident` answers with) in one statement: the incident
//! row with its roles, newest timeline entries, entry count, merges, runbook steps and open
//! action items gathered by subqueries as JSON. One round trip instead of six is most of what
//! makes `get_incident` cheap.

use std::collections::BTreeMap;

use sqlx::types::Json;
use sqlx::{FromRow, PgConnection};

use crate::domain::action_item::ActionItem;
use crate::domain::delivery::DeliveryRecord;
use crate::domain::signals::Change;
use crate::domain::signals::alert::{AlertBrief, AlertCounts};
use crate::domain::{Incident, IncidentRef, RoleAssignment, TimelineEntry};
use crate::store::Result;
use crate::store::action_items::{ActionItemRow, item_columns};
use crate::store::changes::{self, ChangeRow, change_columns};
use crate::store::incidents::{IncidentRow, incident_columns};
use crate::store::roles::{AssignmentRow, assignment_columns};
use crate::store::timeline::{EntryRow, entry_columns};

/// How much of each list the brief carries.
#[derive(Debug, Clone, Copy)]
pub struct BriefLimits {
    /// Newest timeline entries.
    pub timeline_entries: i64,
    /// Runbook step entries, oldest first.
    pub runbook_steps: i64,
    /// Open and in-progress action items, soonest due first.
    pub action_items: i64,
    /// Numbers of incidents merged into this one.
    pub merged_from: i64,
}

/// Everything stored around an incident that its brief shows.
#[derive(Debug, Clone)]
pub struct BriefRecord {
    /// The incident.
    pub incident: Incident,
    /// Current role holders, in the order they were assigned.
    pub roles: Vec<RoleAssignment>,
    /// The newest timeline entries, oldest first.
    pub recent_timeline: Vec<TimelineEntry>,
    /// How many timeline entries the incident has in all.
    pub timeline_total: i64,
    /// The number of the incident this one was merged into.
    pub merged_into_number: Option<i64>,
    /// Numbers of the incidents merged into this one, lowest first.
    pub merged_from: Vec<i64>,
    /// The oldest `runbook_step` entries, oldest first.
    pub runbook_step_entries: Vec<TimelineEntry>,
    /// Open and in-progress action items, soonest due first.
    pub open_action_items: Vec<ActionItem>,
    /// Its alerts in numbers.
    pub alert_counts: AlertCounts,
    /// Its three newest alerts.
    pub newest_alerts: Vec<AlertBrief>,
    /// What its services depend on.
    pub dependencies: Vec<String>,
    /// Changes in its window or linked to it, each with its relation (to be scored).
    pub candidate_changes: Vec<Change>,
    /// The newest stakeholder update for each audience.
    pub last_updates: Vec<TimelineEntry>,
    /// Its notifications that failed or are failing, newest first (at most five).
    pub troubled_deliveries: Vec<DeliveryRecord>,
}

/// The subqueries after the incident's columns; `b` is the incident. Parameters: $2 timeline
/// entries, $3 runbook steps, $4 action items, $5 merged-from numbers.
macro_rules! brief_parts {
    () => {
        concat!(
            ", coalesce((select json_agg(r order by r.assigned_at, r.id) from (select ",
            assignment_columns!(),
            " from role_assignment where incident_id = b.id and unassigned_at is null) r), \
               '[]') as roles, \
             coalesce((select json_agg(t order by t.occurred_at, t.seq) from (select ",
            entry_columns!(),
            " from timeline_entry where incident_id = b.id \
               order by occurred_at desc, seq desc limit $2) t), '[]') as recent_timeline, \
             (select count(*) from timeline_entry where incident_id = b.id) as timeline_total, \
             (select m.number from incident m where m.id = b.merged_into) as merged_into_number, \
             coalesce((select array_agg(m.number order by m.number) from (select number \
               from incident where merged_into = b.id order by number limit $5) m), '{}') \
               as merged_from, \
             coalesce((select json_agg(s order by s.occurred_at, s.seq) from (select ",
            entry_columns!(),
            " from timeline_entry where incident_id = b.id and kind = 'runbook_step' \
               order by occurred_at, seq limit $3) s), '[]') as runbook_steps, \
             coalesce((select json_agg(o order by o.due, o.number) from (select ",
            item_columns!(),
            ", coalesce(a.due_on, 'infinity'::date) as due from action_item a \
               join incident i on i.id = a.incident_id \
               where a.incident_id = b.id and a.status in ('open', 'in_progress') \
               order by due, a.number limit $4) o), '[]') as action_items, \
             (select json_build_object('firing', count(*) filter (where status = 'firing'), \
               'resolved', count(*) filter (where status = 'resolved'), \
               'first_seen', min(first_seen), 'last_seen', max(last_seen)) \
               from alert where incident_id = b.id) as alert_counts, \
             coalesce((select json_agg(n order by n.last_seen desc) from (select title, status, \
               source, alert_key, last_seen, seen_count from alert where incident_id = b.id \
               order by last_seen desc, id desc limit 3) n), '[]') as newest_alerts, \
             w.dependencies, \
             coalesce((select json_agg(k) from (select ",
            change_columns!(),
            ", l.relation from (select * from change ch where ch.occurred_at \
               between w.started - $6 * interval '1 second' and w.started + $7 * interval '1 second' \
               and (ch.services && (b.services || w.dependencies) or ch.services = '{}' \
                 or cardinality(b.services) = 0) \
               order by ch.occurred_at desc limit 200) c \
             left join incident_change l on l.change_id = c.id and l.incident_id = b.id \
             union select ",
            change_columns!(),
            ", l.relation from incident_change l join change c on c.id = l.change_id \
             where l.incident_id = b.id) k), '[]') as candidate_changes, \
             coalesce((select json_agg(u order by u.seq) from (select distinct on \
               (data ->> 'audience') ",
            entry_columns!(),
            " from timeline_entry where incident_id = b.id and kind = 'stakeholder_update' \
               order by data ->> 'audience', seq desc) u), '[]') as last_updates, \
             coalesce((select json_agg(",
            crate::store::outbox::delivery_record!(),
            " order by id desc) from (select * from notification_delivery \
               where incident_id = b.id and ",
            crate::store::outbox::troubled_delivery!(),
            " order by id desc limit 5) f), '[]') as troubled_deliveries"
        )
    };
}

/// The incident `b` with `w`: when impact started (or was detected, or declared) and what its
/// services depend on (its alerts' dependencies, and those the routing names in $8).
macro_rules! brief_from {
    () => {
        " from incident b cross join lateral (select \
           coalesce(b.impact_started_at, b.detected_at, b.declared_at) as started, \
           coalesce((select array_agg(distinct d) from (\
             select unnest(a.dependencies) as d from alert a where a.incident_id = b.id \
             union select jsonb_array_elements_text(e.value) from jsonb_each($8::jsonb) e \
             where e.key = any(b.services)) x), '{}') as dependencies) w"
    };
}

/// The statement [`load`] sends for an incident number: $1 the number, then the limits ($2
/// timeline entries, $3 runbook steps, $4 action items, $5 merged-from numbers) and the change
/// window ($6 seconds before impact started, $7 after, $8 the routing's dependencies as a JSON
/// object of service → services). Public so that the benchmark measures exactly this statement.
pub const BRIEF_BY_NUMBER: &str = concat!(
    "select ",
    incident_columns!(),
    brief_parts!(),
    brief_from!(),
    " where b.number = $1"
);

#[derive(FromRow)]
struct BriefRow {
    #[sqlx(flatten)]
    incident: IncidentRow,
    roles: Json<Vec<AssignmentRow>>,
    recent_timeline: Json<Vec<EntryRow>>,
    timeline_total: i64,
    merged_into_number: Option<i64>,
    merged_from: Vec<i64>,
    runbook_steps: Json<Vec<EntryRow>>,
    action_items: Json<Vec<ActionItemRow>>,
    alert_counts: Json<AlertCounts>,
    newest_alerts: Json<Vec<AlertBrief>>,
    dependencies: Vec<String>,
    candidate_changes: Json<Vec<ChangeRow>>,
    last_updates: Json<Vec<EntryRow>>,
    troubled_deliveries: Json<Vec<DeliveryRecord>>,
}

/// Which changes the brief gathers as candidate suspects.
#[derive(Debug, Clone, Copy)]
pub struct ChangeWindow<'a> {
    /// How long before impact started.
    pub before: chrono::Duration,
    /// How long after.
    pub after: chrono::Duration,
    /// What services depend on, by service.
    pub dependencies: &'a BTreeMap<String, Vec<String>>,
}

/// Loads the brief of the incident `reference` names, or `None` if there is none.
pub async fn load(
    conn: &mut PgConnection,
    reference: IncidentRef,
    limits: BriefLimits,
    window: ChangeWindow<'_>,
) -> Result<Option<BriefRecord>> {
    const BY_ID: &str = concat!(
        "select ",
        incident_columns!(),
        brief_parts!(),
        brief_from!(),
        " where b.id = $1"
    );
    let query = match reference {
        IncidentRef::Id(id) => sqlx::query_as(BY_ID).bind(id),
        IncidentRef::Number(number) => sqlx::query_as(BRIEF_BY_NUMBER).bind(number),
    };
    let row: Option<BriefRow> = query
        .bind(limits.timeline_entries)
        .bind(limits.runbook_steps)
        .bind(limits.action_items)
        .bind(limits.merged_from)
        .bind(window.before.num_seconds())
        .bind(window.after.num_seconds())
        .bind(Json(window.dependencies))
        .fetch_optional(conn)
        .await?;
    row.map(BriefRecord::try_from).transpose()
}

impl TryFrom<BriefRow> for BriefRecord {
    type Error = crate::store::Error;

    fn try_from(row: BriefRow) -> Result<Self> {
        Ok(BriefRecord {
            incident: row.incident.try_into()?,
            roles: convert(row.roles.0)?,
            recent_timeline: convert(row.recent_timeline.0)?,
            timeline_total: row.timeline_total,
            merged_into_number: row.merged_into_number,
            merged_from: row.merged_from,
            runbook_step_entries: convert(row.runbook_steps.0)?,
            open_action_items: convert(row.action_items.0)?,
            alert_counts: row.alert_counts.0,
            newest_alerts: row.newest_alerts.0,
            dependencies: row.dependencies,
            candidate_changes: changes::convert(row.candidate_changes.0)?,
            last_updates: convert(row.last_updates.0)?,
            troubled_deliveries: row.troubled_deliveries.0,
        })
    }
}

fn convert<Row, T>(rows: Vec<Row>) -> Result<Vec<T>>
where
    T: TryFrom<Row, Error = crate::store::Error>,
{
    rows.into_iter().map(T::try_from).collect()
}
