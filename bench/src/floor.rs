//! The floors a tool call is compared with, measured in the same run on the same database:
//!
//! - the *use-case floor*: the same use case called in-process through `firebreak::app::App`
//!   (its SQL round trips plus the domain code, without MCP, JSON or a transport);
//! - the *SQL floor* for `get_incident` and `list_incidents`: the store's own statement for the
//!   call (`store::brief::BRIEF_BY_NUMBER`, `store::incident_list::list_statement`), sent with
//!   sqlx and not decoded;
//! - the *minimal brief* for `get_incident`: the least a brief needs, the incident row and its
//!   20 newest timeline entries in one statement, to show what the brief's other parts cost;
//! - the *mix floor*: [`FloorCaller`], reads as SQL floor statements and writes as in-process
//!   use cases, so 16 of them run the mix's statements in its proportions without MCP;
//! - for text search, the statement from before migration 0011 ([`RankEveryMatchCaller`]),
//!   which ranked every match.

use firebreak::app::metrics::{MetricsGrouping, MetricsRequest};
use firebreak::app::similar::SimilarRequest;
use firebreak::app::{App, ListRequest, ManualEntry, StatusFilter, StatusRequest, Write, Written};
use firebreak::domain::{
    Actor, Channel, DeclareRequest, EntryKind, IncidentChanges, IncidentRef, Severity, Status,
    Visibility,
};
use firebreak::store::brief::BRIEF_BY_NUMBER;
use firebreak::store::incident_list::{ListFilter, list_statement};
use sqlx::PgPool;

use crate::measure::Caller;
use crate::workload::{Observed, Op};

/// Rows `list_incidents` asks the store for: the default page of 20, plus one to know whether
/// there is a next page.
pub(crate) const LIST_LIMIT: i64 = 21;

/// What the brief statement is asked for, as `get_incident` asks (20 entries, 100 steps, 20
/// action items, 50 merged incidents).
const BRIEF_LIMITS: [i64; 4] = [20, 100, 20, 50];

/// The store's filter for a list operation of the workload.
pub(crate) fn list_filter(op: &Op) -> Option<ListFilter> {
    match op {
        Op::ListFiltered {
            status,
            severities,
            service,
        } => Some(ListFilter {
            statuses: Some(statuses(status).into_iter().map(self::status).collect()),
            severities: Some(severities.iter().map(|level| severity(*level)).collect()),
            service: Some((*service).to_owned()),
            ..ListFilter::default()
        }),
        Op::ListText { text } => Some(ListFilter {
            text: Some(text.clone()),
            ..ListFilter::default()
        }),
        _ => None,
    }
}

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
#[derive(Clone)]
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
    Similar(SimilarRequest),
    Metrics(MetricsRequest),
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
            Op::Similar {
                number,
                text,
                service,
                alertname,
            } => UseCase::Similar(match number {
                Some(number) => SimilarRequest {
                    incident: Some(format!("INC-{number}")),
                    ..SimilarRequest::default()
                },
                None => SimilarRequest {
                    text,
                    services: vec![service.to_owned()],
                    labels: [("alertname".to_owned(), alertname.to_owned())].into(),
                    ..SimilarRequest::default()
                },
            }),
            Op::Metrics { from, by_month } => UseCase::Metrics(MetricsRequest {
                from,
                group_by: by_month.then_some(MetricsGrouping::Month),
                ..MetricsRequest::default()
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
                severity: severity(level),
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
            UseCase::Similar(request) => app.find_similar_incidents(request).await.map(|_| None),
            UseCase::Metrics(request) => app.incident_metrics(request).await.map(|_| None),
            UseCase::AddEntry(reference, kind, body) => {
                let entry = ManualEntry {
                    kind,
                    body,
                    occurred_at: None,
                    visibility: Visibility::Internal,
                };
                app.add_timeline_entry(&Write::unkeyed(actor), reference, entry)
                    .await
                    .map(|_| None)
            }
            UseCase::Update(reference, version, changes) => app
                .update_incident(&Write::unkeyed(actor), reference, Some(version), changes)
                .await
                .map(Written::applied),
            UseCase::ChangeStatus(reference, request) => app
                .change_status(&Write::unkeyed(actor), reference, request)
                .await
                .map(|changed| changed.applied().map(|c| c.incident)),
            UseCase::Declare(request) => app
                .declare_incident(&Write::unkeyed(actor), request)
                .await
                .map(|declared| declared.applied().map(|d| d.incident)),
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

/// The incident row and its 20 newest entries, one row per entry (the least a brief needs).
const MINIMAL_BRIEF: &str = "select i.*, e.* from incident i left join lateral \
    (select * from timeline_entry t where t.incident_id = i.id \
     order by t.occurred_at desc, t.seq desc limit 20) e on true where i.number = $1";

/// Sends [`MINIMAL_BRIEF`] for `get_incident`.
pub(crate) struct MinimalBriefCaller(pub(crate) PgPool);

impl Caller for MinimalBriefCaller {
    type Prepared = Op;

    fn prepare(&self, op: &Op) -> Op {
        op.clone()
    }

    async fn call(&self, op: Op) -> Result<Observed, String> {
        let Op::Get { number } = op else {
            return Err(format!("no minimal brief for {}", op.tool_name()));
        };
        sqlx::query(MINIMAL_BRIEF)
            .bind(number)
            .fetch_all(&self.0)
            .await
            .map(|_| Observed::default())
            .map_err(|err| format!("sql: {err}"))
    }
}

/// Text search as it was before migration 0011: every match ranked, then the best 21. Kept to
/// show what ranking only the newest matches saves, on the same data in the same run.
const RANK_EVERY_MATCH: &str = "select id, number, title, severity, status, services, \
    declared_at, updated_at, version, ts_rank(search, websearch_to_tsquery('english', $1)) as rank \
    from incident where search @@ websearch_to_tsquery('english', $1) \
    order by rank desc, number desc limit $2";

/// Sends [`RANK_EVERY_MATCH`] for `list_incidents` with text.
pub(crate) struct RankEveryMatchCaller(pub(crate) PgPool);

impl Caller for RankEveryMatchCaller {
    type Prepared = Op;

    fn prepare(&self, op: &Op) -> Op {
        op.clone()
    }

    async fn call(&self, op: Op) -> Result<Observed, String> {
        let Op::ListText { text } = op else {
            return Err(format!("no text search in {}", op.tool_name()));
        };
        sqlx::query(RANK_EVERY_MATCH)
            .bind(text)
            .bind(LIST_LIMIT)
            .fetch_all(&self.0)
            .await
            .map(|_| Observed::default())
            .map_err(|err| format!("sql: {err}"))
    }
}

/// The mix without MCP: reads through [`SqlCaller`], writes through [`AppCaller`].
#[derive(Clone)]
pub(crate) struct FloorCaller {
    pub(crate) sql: SqlCaller,
    pub(crate) app: AppCaller,
}

impl Caller for FloorCaller {
    type Prepared = Op;

    fn prepare(&self, op: &Op) -> Op {
        op.clone()
    }

    async fn call(&self, op: Op) -> Result<Observed, String> {
        match op {
            Op::Get { .. } | Op::ListFiltered { .. } | Op::ListText { .. } => {
                self.sql.call(op).await
            }
            write => {
                let prepared = self.app.prepare(&write);
                self.app.call(prepared).await
            }
        }
    }
}

/// Sends the SQL floor statements for reads; other tools have no SQL floor.
#[derive(Clone)]
pub(crate) struct SqlCaller(pub(crate) PgPool);

impl Caller for SqlCaller {
    type Prepared = Op;

    fn prepare(&self, op: &Op) -> Op {
        op.clone()
    }

    async fn call(&self, op: Op) -> Result<Observed, String> {
        let pool = &self.0;
        let rows = match op {
            Op::Get { number } => {
                let [entries, steps, items, merged] = BRIEF_LIMITS;
                sqlx::query(BRIEF_BY_NUMBER)
                    .bind(number)
                    .bind(entries)
                    .bind(steps)
                    .bind(items)
                    .bind(merged)
                    // The change window the server uses by default: 2 h before, 10 min after,
                    // no dependencies configured.
                    .bind(7200_i64)
                    .bind(600_i64)
                    .bind(sqlx::types::Json(serde_json::json!({})))
                    .fetch_all(pool)
                    .await
            }
            other => match list_filter(&other) {
                Some(filter) => {
                    list_statement("", &filter, None, LIST_LIMIT)
                        .build()
                        .fetch_all(pool)
                        .await
                }
                None => return Err(format!("no SQL floor for {}", other.tool_name())),
            },
        };
        rows.map(|_| Observed::default())
            .map_err(|err| format!("sql: {err}"))
    }
}
