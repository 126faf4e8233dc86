//! The floors a tool call is compared with, measured in the same run on the same database:
//!
//! - the *use-case floor*: the same use case called in-process through `firebreak::app::App`
//!   (its SQL round trips plus the domain code, without MCP, JSON or a transport);
//! - the *SQL floor* for `get_incident` and `list_incidents`: one statement per call that
//!   returns the rows the tool answers with, sent with sqlx and not decoded.

use firebreak::app::{App, ListRequest, StatusFilter, StatusRequest};
use firebreak::domain::{
    Actor, Channel, DeclareRequest, EntryKind, IncidentChanges, IncidentRef, Severity, Status,
    Visibility,
};
use sqlx::PgPool;

use crate::measure::Caller;
use crate::workload::{Observed, Op};

/// The columns the store reads for an incident.
macro_rules! incident_columns {
    () => {
        "id, number, title, summary, impact, resolution, severity, status, services, labels, \
         dedup_key, merged_into, version, created_by_principal, created_by_client, \
         created_by_channel, impact_started_at, detected_at, declared_at, acknowledged_at, \
         identified_at, mitigated_at, resolved_at, closed_at, updated_at"
    };
}

/// Rows `list_incidents` asks the store for: the default page of 20, plus one to know whether
/// there is a next page.
pub(crate) const LIST_LIMIT: i64 = 21;

/// The statement `store::incidents::list` builds for status, severity and service filters.
pub(crate) const LIST_FILTERED_SQL: &str = concat!(
    "select ",
    incident_columns!(),
    ", null::real as rank from incident where true \
     and status = any($1) and severity = any($2) and services @> array[$3]::text[] \
     order by number desc limit $4"
);

/// The statement `store::incidents::list` builds for a text query.
pub(crate) const LIST_TEXT_SQL: &str = concat!(
    "select ",
    incident_columns!(),
    ", ts_rank(search, websearch_to_tsquery('english', $1)) as rank \
     from incident where search @@ websearch_to_tsquery('english', $2) \
     order by rank desc, number desc limit $3"
);

/// Everything `get_incident` answers with, in one round trip: the incident, current roles,
/// the 20 newest timeline entries, the entry count, merges, runbook steps and open action items.
const GET_SQL: &str = concat!(
    "select ",
    incident_columns!(),
    ", (select json_agg(r order by r.assigned_at, r.id) from (select id, role, assignee, \
          assigned_at, unassigned_at, assigned_by_principal, assigned_by_client, \
          assigned_by_channel from role_assignment \
          where incident_id = i.id and unassigned_at is null) r) as roles, \
       (select json_agg(t order by t.occurred_at, t.seq) from (select id, seq, kind, body, \
          occurred_at, recorded_at, visibility, actor_principal, actor_client, actor_channel, \
          data from timeline_entry where incident_id = i.id \
          order by occurred_at desc, seq desc limit 20) t) as recent_timeline, \
       (select count(*) from timeline_entry where incident_id = i.id) as timeline_total, \
       (select m.number from incident m where m.id = i.merged_into) as merged_into_number, \
       (select array_agg(m.number order by m.number) from (select number from incident \
          where merged_into = i.id order by number limit 50) m) as merged_from, \
       (select json_agg(s order by s.occurred_at, s.seq) from (select seq, occurred_at, data \
          from timeline_entry where incident_id = i.id and kind = 'runbook_step' \
          order by occurred_at, seq limit 100) s) as runbook_steps, \
       (select json_agg(a) from (select a.* from action_item a where a.incident_id = i.id \
          and a.status in ('open', 'in_progress') \
          order by coalesce(a.due_on, 'infinity'::date), a.number limit 20) a) as action_items \
     from incident i where i.number = $1"
);

/// The statuses a status filter stands for.
pub(crate) fn statuses(filter: &str) -> Vec<&'static str> {
    match filter {
        "open" => vec!["triage", "investigating", "identified", "monitoring"],
        other => Status::ALL
            .into_iter()
            .map(Status::as_str)
            .filter(|s| *s == other)
            .collect(),
    }
}

/// Calls the use cases in-process.
pub(crate) struct AppCaller {
    app: App,
    actor: Actor,
}

impl AppCaller {
    pub(crate) fn new(app: App) -> AppCaller {
        AppCaller {
            app,
            actor: Actor {
                principal: "bench".to_owned(),
                client: Some(format!("firebreak-bench {}", env!("CARGO_PKG_VERSION"))),
                channel: Channel::Mcp,
            },
        }
    }
}

/// A use-case call with its domain arguments, built before the clock starts.
pub(crate) enum UseCase {
    Get(IncidentRef),
    List(ListRequest),
    AddEntry(IncidentRef, EntryKind, String),
    Update(IncidentRef, i64, IncidentChanges),
    ChangeStatus(IncidentRef, StatusRequest),
    Declare(DeclareRequest),
}

fn severity(level: u8) -> Severity {
    Severity::from_level(i16::from(level)).unwrap_or(Severity::Sev3)
}

fn status(name: &str) -> Status {
    name.parse().unwrap_or(Status::Investigating)
}

impl Caller for AppCaller {
    type Prepared = UseCase;

    fn prepare(&self, op: &Op) -> UseCase {
        match op.clone() {
            Op::Get { number } => UseCase::Get(IncidentRef::Number(number)),
            Op::ListFiltered {
                status: wanted,
                severities,
                service,
            } => UseCase::List(ListRequest {
                statuses: vec![match wanted {
                    "open" => StatusFilter::Open,
                    other => StatusFilter::Is(status(other)),
                }],
                severities: severities.into_iter().map(severity).collect(),
                service: Some(service.to_owned()),
                ..ListRequest::default()
            }),
            Op::ListText { text } => UseCase::List(ListRequest {
                text: Some(text),
                ..ListRequest::default()
            }),
            Op::AddEntry { number, kind, body } => UseCase::AddEntry(
                IncidentRef::Number(number),
                kind.parse().unwrap_or(EntryKind::Note),
                body,
            ),
            Op::Update {
                number,
                expected_version,
                summary,
                ..
            } => UseCase::Update(
                IncidentRef::Number(number),
                expected_version,
                IncidentChanges {
                    summary: Some(summary),
                    ..IncidentChanges::default()
                },
            ),
            Op::ChangeStatus {
                number,
                expected_version,
                to,
                ..
            } => UseCase::ChangeStatus(
                IncidentRef::Number(number),
                StatusRequest {
                    to: status(to),
                    note: None,
                    merged_into: None,
                    expected_version: Some(expected_version),
                },
            ),
            Op::Declare {
                title,
                severity: level,
                service,
                summary,
            } => UseCase::Declare(DeclareRequest {
                title,
                severity: Some(severity(level)),
                summary: Some(summary),
                impact: None,
                services: vec![service.to_owned()],
                labels: Default::default(),
                commander: None,
                impact_started_at: None,
                detected_at: None,
                dedup_key: None,
            }),
        }
    }

    async fn call(&self, call: UseCase) -> Result<Observed, String> {
        let (app, actor) = (&self.app, &self.actor);
        let written = match call {
            UseCase::Get(reference) => app.incident_brief(reference).await.map(|_| None),
            UseCase::List(request) => app.list_incidents(request).await.map(|_| None),
            UseCase::AddEntry(reference, kind, body) => app
                .add_timeline_entry(actor, reference, kind, body, None, Visibility::Internal)
                .await
                .map(|_| None),
            UseCase::Update(reference, version, changes) => app
                .update_incident(actor, reference, Some(version), changes)
                .await
                .map(Some),
            UseCase::ChangeStatus(reference, request) => {
                app.change_status(actor, reference, request).await.map(Some)
            }
            UseCase::Declare(request) => app
                .declare_incident(actor, request, None)
                .await
                .map(|declared| Some(declared.incident)),
        };
        match written {
            Ok(incident) => Ok(Observed {
                version: incident.as_ref().map(|i| i.version),
                status: incident.map(|i| i.status.as_str().to_owned()),
            }),
            Err(err) => Err(format!("{}: {err}", err.code())),
        }
    }
}

/// Sends the SQL floor statements for reads; other tools have no SQL floor.
pub(crate) struct SqlCaller(pub(crate) PgPool);

impl Caller for SqlCaller {
    type Prepared = Op;

    fn prepare(&self, op: &Op) -> Op {
        op.clone()
    }

    async fn call(&self, op: Op) -> Result<Observed, String> {
        let pool = &self.0;
        let rows = match op {
            Op::Get { number } => sqlx::query(GET_SQL).bind(number).fetch_all(pool).await,
            Op::ListFiltered {
                status,
                severities,
                service,
            } => {
                let levels: Vec<i16> = severities.into_iter().map(i16::from).collect();
                sqlx::query(LIST_FILTERED_SQL)
                    .bind(statuses(status))
                    .bind(levels)
                    .bind(service)
                    .bind(LIST_LIMIT)
                    .fetch_all(pool)
                    .await
            }
            Op::ListText { text } => {
                sqlx::query(LIST_TEXT_SQL)
                    .bind(&text)
                    .bind(&text)
                    .bind(LIST_LIMIT)
                    .fetch_all(pool)
                    .await
            }
            other => return Err(format!("no SQL floor for {}", other.tool_name())),
        };
        rows.map(|_| Observed::default())
            .map_err(|err| format!("sql: {err}"))
    }
}
