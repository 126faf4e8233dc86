//! The reference workload: which tool calls are made, with what arguments, on which incidents.
//! Writes that take `expected_version` track the versions they get back, so no call conflicts:
//! each writer owns its target incidents (one writer in single-client runs, a disjoint share per
//! client in concurrent runs).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::corpus::{ALERT_NAMES, COMPONENTS, NOTES, SERVICES, SYMPTOMS};

/// One line of the report: a tool, and for `list_incidents` which kind of query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tool {
    Get,
    ListFiltered,
    ListText,
    Similar,
    Metrics90Days,
    MetricsByMonth,
    AddEntry,
    Update,
    ChangeStatus,
    Declare,
}

impl Tool {
    /// Every tool, in the order they are measured (declare last: it adds open incidents).
    pub(crate) const ALL: [Tool; 10] = [
        Tool::Get,
        Tool::ListFiltered,
        Tool::ListText,
        Tool::Similar,
        Tool::Metrics90Days,
        Tool::MetricsByMonth,
        Tool::AddEntry,
        Tool::Update,
        Tool::ChangeStatus,
        Tool::Declare,
    ];

    /// The tools that read history, measured by `--history-only`.
    pub(crate) const HISTORY: [Tool; 4] = [
        Tool::ListText,
        Tool::Similar,
        Tool::Metrics90Days,
        Tool::MetricsByMonth,
    ];

    /// The MCP tool name.
    pub(crate) fn tool_name(self) -> &'static str {
        match self {
            Tool::Get => "get_incident",
            Tool::ListFiltered | Tool::ListText => "list_incidents",
            Tool::Similar => "find_similar_incidents",
            Tool::Metrics90Days | Tool::MetricsByMonth => "incident_metrics",
            Tool::AddEntry => "add_timeline_entry",
            Tool::Update => "update_incident",
            Tool::ChangeStatus => "change_status",
            Tool::Declare => "declare_incident",
        }
    }

    /// The name in reports.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Tool::ListFiltered => "list_incidents (filters)",
            Tool::ListText => "list_incidents (text)",
            Tool::Similar => "find_similar_incidents",
            Tool::Metrics90Days => "incident_metrics (90 days)",
            Tool::MetricsByMonth => "incident_metrics (5 years by month)",
            other => other.tool_name(),
        }
    }
}

/// The concurrent mix: 80% reads, 20% writes (weights in percent).
pub(crate) const MIX: [(Tool, u32); 6] = [
    (Tool::Get, 50),
    (Tool::ListFiltered, 20),
    (Tool::ListText, 10),
    (Tool::AddEntry, 10),
    (Tool::Update, 7),
    (Tool::Declare, 3),
];

/// A small deterministic generator (SplitMix64): reproducible runs without another dependency.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    pub(crate) fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

/// An open incident a writer may change, with the version and status it last saw.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) number: i64,
    pub(crate) version: i64,
    pub(crate) status: String,
}

/// Loads the seeded open incidents (triage or live), the targets of the writes.
pub(crate) async fn open_targets(pool: &PgPool, seeded: i64) -> sqlx::Result<Vec<Target>> {
    let rows: Vec<(i64, i64, String)> = sqlx::query_as(
        "select number, version, status from incident where number <= $1 \
         and status in ('triage', 'investigating', 'identified', 'monitoring') order by number",
    )
    .bind(seeded)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(number, version, status)| Target {
            number,
            version,
            status,
        })
        .collect())
}

/// One call of the workload, before it is turned into an MCP request or a use-case call.
#[derive(Debug, Clone)]
pub(crate) enum Op {
    Get {
        number: i64,
    },
    ListFiltered {
        status: &'static str,
        severities: Vec<u8>,
        service: &'static str,
    },
    ListText {
        text: String,
    },
    /// Like an incident (`number`), or like a description with a service and an alert name.
    Similar {
        number: Option<i64>,
        text: Option<String>,
        service: &'static str,
        alertname: &'static str,
    },
    /// Metrics from `from` (default: the last 90 days), grouped by month or not.
    Metrics {
        from: Option<DateTime<Utc>>,
        by_month: bool,
    },
    AddEntry {
        number: i64,
        kind: &'static str,
        body: String,
    },
    Update {
        target: usize,
        number: i64,
        expected_version: i64,
        summary: String,
    },
    ChangeStatus {
        target: usize,
        number: i64,
        expected_version: i64,
        to: &'static str,
    },
    Declare {
        title: String,
        severity: u8,
        service: &'static str,
        summary: String,
    },
}

/// What a write answered, to keep the targets' versions current.
#[derive(Debug, Clone, Default)]
pub(crate) struct Observed {
    pub(crate) version: Option<i64>,
    pub(crate) status: Option<String>,
}

/// The argument generator of one client.
#[derive(Debug)]
pub(crate) struct Workload {
    rng: Rng,
    seeded: i64,
    targets: Vec<Target>,
    next_target: usize,
    /// Makes titles unique across clients and runs.
    tag: String,
    counter: u64,
}

impl Workload {
    pub(crate) fn new(seed: u64, seeded: i64, targets: Vec<Target>, tag: String) -> Workload {
        Workload {
            rng: Rng::new(seed),
            seeded,
            targets,
            next_target: 0,
            tag,
            counter: 0,
        }
    }

    /// Replaces the targets (re-read from the database between phases).
    pub(crate) fn set_targets(&mut self, targets: Vec<Target>) {
        self.targets = targets;
    }

    /// A tool drawn from [`MIX`].
    pub(crate) fn mixed_tool(&mut self) -> Tool {
        let mut roll = self.rng.below(100) as u32;
        for (tool, weight) in MIX {
            if roll < weight {
                return tool;
            }
            roll -= weight;
        }
        Tool::Get
    }

    /// The next call of `tool`.
    pub(crate) fn op(&mut self, tool: Tool) -> Op {
        let needs_target = matches!(tool, Tool::AddEntry | Tool::Update | Tool::ChangeStatus);
        // A client without incidents of its own declares instead of writing to someone else's.
        let tool = if needs_target && self.targets.is_empty() {
            Tool::Declare
        } else {
            tool
        };
        self.counter += 1;
        let n = self.counter;
        match tool {
            Tool::Get => Op::Get {
                number: 1 + self.rng.below(self.seeded as u64) as i64,
            },
            Tool::ListFiltered => Op::ListFiltered {
                status: self.rng.pick(&[
                    "open",
                    "open",
                    "closed",
                    "closed",
                    "resolved",
                    "investigating",
                    "declined",
                ]),
                severities: match self.rng.below(3) {
                    0 => vec![1, 2],
                    1 => vec![3],
                    _ => vec![3, 4],
                },
                service: self.rng.pick(&SERVICES),
            },
            Tool::ListText => Op::ListText {
                text: self.text_query(),
            },
            Tool::Similar => self.similar(),
            Tool::Metrics90Days => Op::Metrics {
                from: None,
                by_month: false,
            },
            Tool::MetricsByMonth => Op::Metrics {
                from: Some(Utc::now() - chrono::Duration::days(5 * 365 + 1)),
                by_month: true,
            },
            Tool::AddEntry => {
                let number = self.target().1.number;
                Op::AddEntry {
                    number,
                    kind: self.rng.pick(&["note", "finding", "hypothesis", "action"]),
                    body: format!("{} (bench {}-{n})", self.rng.pick(&NOTES), self.tag),
                }
            }
            Tool::Update => {
                let (target, t) = self.target();
                let (number, expected_version) = (t.number, t.version);
                let (symptom, phrase) = self.rng.pick(&SYMPTOMS);
                Op::Update {
                    target,
                    number,
                    expected_version,
                    summary: format!(
                        "Update {}-{n}: {symptom} persists ({phrase}); next check in 15 minutes.",
                        self.tag
                    ),
                }
            }
            Tool::ChangeStatus => {
                let (target, t) = self.target();
                let to = if t.status == "investigating" {
                    "identified"
                } else {
                    "investigating"
                };
                Op::ChangeStatus {
                    target,
                    number: t.number,
                    expected_version: t.version,
                    to,
                }
            }
            Tool::Declare => {
                let service = self.rng.pick(&SERVICES);
                let (symptom, phrase) = self.rng.pick(&SYMPTOMS);
                Op::Declare {
                    title: format!("Bench {}-{n}: {symptom} on {service}", self.tag),
                    severity: self.rng.pick(&[2, 3, 3, 4, 4, 5]),
                    service,
                    summary: format!("Alert for {service}: {phrase}."),
                }
            }
        }
    }

    /// Records what a write answered.
    pub(crate) fn observe(&mut self, op: &Op, observed: Observed) {
        let (Op::Update { target, .. } | Op::ChangeStatus { target, .. }) = op else {
            return;
        };
        if let Some(t) = self.targets.get_mut(*target) {
            if let Some(version) = observed.version {
                t.version = version;
            }
            if let Some(status) = observed.status {
                t.status = status;
            }
        }
    }

    /// The next target, round robin (so each incident is touched as rarely as possible).
    fn target(&mut self) -> (usize, &Target) {
        let index = self.next_target % self.targets.len().max(1);
        self.next_target += 1;
        (index, &self.targets[index])
    }

    /// Three in four like a seeded incident, one in four like a description an agent might
    /// write: a symptom and a component, with the service and the alert's name.
    fn similar(&mut self) -> Op {
        let index = self.rng.below(SYMPTOMS.len() as u64) as usize;
        let (symptom, phrase) = SYMPTOMS[index];
        let service = self.rng.pick(&SERVICES);
        let alertname = ALERT_NAMES[index][self.rng.below(2) as usize];
        if self.rng.below(4) == 0 {
            let component = self.rng.pick(&COMPONENTS);
            return Op::Similar {
                number: None,
                text: Some(format!("{symptom}: {phrase}; {component} looks involved")),
                service,
                alertname,
            };
        }
        Op::Similar {
            number: Some(1 + self.rng.below(self.seeded as u64) as i64),
            text: None,
            service,
            alertname,
        }
    }

    /// Half single component names (~0.5% of incidents each), half a symptom and a service.
    fn text_query(&mut self) -> String {
        if self.rng.below(2) == 0 {
            self.rng.pick(&COMPONENTS).to_owned()
        } else {
            let (symptom, _) = self.rng.pick(&SYMPTOMS);
            format!("{symptom} {}", self.rng.pick(&SERVICES))
        }
    }
}

impl Op {
    /// The MCP tool this call goes to.
    pub(crate) fn tool_name(&self) -> &'static str {
        match self {
            Op::Get { .. } => Tool::Get,
            Op::ListFiltered { .. } => Tool::ListFiltered,
            Op::ListText { .. } => Tool::ListText,
            Op::Similar { .. } => Tool::Similar,
            Op::Metrics { .. } => Tool::Metrics90Days,
            Op::AddEntry { .. } => Tool::AddEntry,
            Op::Update { .. } => Tool::Update,
            Op::ChangeStatus { .. } => Tool::ChangeStatus,
            Op::Declare { .. } => Tool::Declare,
        }
        .tool_name()
    }

    /// The MCP arguments of this call.
    pub(crate) fn arguments(&self) -> Value {
        match self {
            Op::Get { number } => json!({"incident": format!("INC-{number}")}),
            Op::ListFiltered {
                status,
                severities,
                service,
            } => json!({
                "status": [status],
                "severity": severities.iter().map(|s| format!("SEV{s}")).collect::<Vec<_>>(),
                "service": service,
            }),
            Op::ListText { text } => json!({"text": text}),
            Op::Similar {
                number: Some(number),
                ..
            } => json!({"incident": format!("INC-{number}")}),
            Op::Similar {
                text,
                service,
                alertname,
                ..
            } => json!({"text": text, "services": [service], "labels": {"alertname": alertname}}),
            Op::Metrics { from, by_month } => {
                let mut arguments = json!({});
                if let Some(from) = from {
                    arguments["from"] = json!(from.to_rfc3339());
                }
                if *by_month {
                    arguments["group_by"] = json!("month");
                }
                arguments
            }
            Op::AddEntry { number, kind, body } => {
                json!({"incident": format!("INC-{number}"), "kind": kind, "body": body})
            }
            Op::Update {
                number,
                expected_version,
                summary,
                ..
            } => json!({
                "incident": format!("INC-{number}"),
                "expected_version": expected_version,
                "summary": summary,
            }),
            Op::ChangeStatus {
                number,
                expected_version,
                to,
                ..
            } => json!({
                "incident": format!("INC-{number}"),
                "expected_version": expected_version,
                "to": to,
            }),
            Op::Declare {
                title,
                severity,
                service,
                summary,
            } => json!({
                "title": title,
                "severity": format!("SEV{severity}"),
                "services": [service],
                "summary": summary,
            }),
        }
    }
}
