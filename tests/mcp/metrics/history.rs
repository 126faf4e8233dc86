//! A history of incidents with known timestamps, written straight into the test database, and
//! what `incident_metrics` must answer about it, computed here independently of the server:
//! classes, anchors, whole-second spans, linearly interpolated percentiles, means, groups.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, Utc};
use serde_json::{Map, Value, json};

use crate::support::TestDb;

/// An incident as stored.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub(crate) title: String,
    pub(crate) severity: i16,
    pub(crate) status: &'static str,
    pub(crate) services: Vec<String>,
    /// The `test` label's value, if any.
    pub(crate) test_label: Option<&'static str>,
    pub(crate) impact_started_at: Option<DateTime<Utc>>,
    pub(crate) detected_at: Option<DateTime<Utc>>,
    pub(crate) declared_at: DateTime<Utc>,
    pub(crate) acknowledged_at: Option<DateTime<Utc>>,
    pub(crate) mitigated_at: Option<DateTime<Utc>>,
    pub(crate) resolved_at: Option<DateTime<Utc>>,
}

impl Row {
    /// A resolved SEV3 without services, declared at `declared_at`, with no other stamps.
    pub(crate) fn resolved(title: &str, declared_at: DateTime<Utc>) -> Row {
        Row {
            title: title.to_owned(),
            severity: 3,
            status: "resolved",
            services: Vec::new(),
            test_label: None,
            impact_started_at: None,
            detected_at: None,
            declared_at,
            acknowledged_at: None,
            mitigated_at: None,
            resolved_at: Some(declared_at + Duration::hours(1)),
        }
    }

    fn is_test(&self) -> bool {
        self.test_label
            .is_some_and(|v| !matches!(v.to_lowercase().as_str(), "false" | "no" | "0"))
    }
}

/// `splitmix64`: small, seeded, and the same on every machine.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// 0 ≤ n < `bound`.
    pub(crate) fn below(&mut self, bound: u64) -> i64 {
        (self.next() % bound) as i64
    }

    fn percent(&mut self) -> i64 {
        self.below(100)
    }

    /// Up to `seconds` seconds and a random fraction of one.
    fn span(&mut self, seconds: u64) -> Duration {
        Duration::seconds(self.below(seconds)) + Duration::microseconds(self.below(1_000_000))
    }
}

/// `count` incidents declared in `[from, to)`: every status (reopened ones among the open),
/// `test` labels with true and false values, unknown detection and impact starts, spans that
/// would be negative, 0–2 of four services, every severity.
pub(crate) fn history(
    rng: &mut Rng,
    count: usize,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<Row> {
    let seconds = (to - from).num_seconds() as u64;
    let services = ["api", "db", "web", "queue"];
    (0..count)
        .map(|i| {
            let declared_at = from + rng.span(seconds - 1);
            let (status, reopened) = match rng.percent() {
                0..40 => ("closed", false),
                40..66 => ("resolved", false),
                66..70 => ("investigating", true),
                70..74 => ("triage", false),
                74..77 => ("investigating", false),
                77..79 => ("identified", false),
                79..82 => ("monitoring", false),
                82..90 => ("declined", false),
                _ => ("merged", false),
            };
            let test_label = match rng.percent() {
                0..5 => Some("true"),
                5..8 => Some("Yes"),
                8..12 => Some("false"),
                12..14 => Some("0"),
                _ => None,
            };
            let detected_at = (rng.percent() < 85).then(|| declared_at - rng.span(900));
            let impact_started_at =
                (rng.percent() < 70).then(|| detected_at.unwrap_or(declared_at) - rng.span(3600));
            let acknowledged_at = match status {
                "triage" => None,
                "declined" | "merged" if rng.percent() < 50 => None,
                _ => match (rng.percent(), detected_at) {
                    // Stamped before detection (a corrected time): the span counts as 0.
                    (0..4, Some(detected)) => Some(detected - Duration::seconds(30)),
                    (4..8, _) => None,
                    _ => Some(declared_at + rng.span(1200)),
                },
            };
            let ended = matches!(status, "resolved" | "closed" | "monitoring") || reopened;
            let mitigated_at = (ended && rng.percent() < 88)
                .then(|| acknowledged_at.unwrap_or(declared_at) + rng.span(7200));
            let resolved_at = matches!(status, "resolved" | "closed")
                .then(|| mitigated_at.unwrap_or(declared_at) + rng.span(7200));
            let picked: Vec<String> = (0..rng.below(3))
                .map(|_| services[rng.below(4) as usize].to_owned())
                .collect();
            Row {
                title: format!("History {i}"),
                severity: 1 + rng.below(5) as i16,
                status,
                services: picked,
                test_label,
                impact_started_at,
                detected_at,
                declared_at,
                acknowledged_at,
                mitigated_at,
                resolved_at,
            }
        })
        .collect()
}

/// Writes `rows` as incidents; merged ones point at an extra incident declared long before.
pub(crate) async fn insert(db: &TestDb, rows: &[Row]) {
    let target = Row::resolved("Merge target", DateTime::UNIX_EPOCH + Duration::days(365));
    for row in std::iter::once(&target).chain(rows) {
        let labels = row
            .test_label
            .map_or_else(|| json!({}), |value| json!({"test": value}));
        sqlx::query(
            "insert into incident (id, title, severity, status, services, labels, merged_into, \
             created_by_principal, created_by_channel, impact_started_at, detected_at, \
             declared_at, acknowledged_at, mitigated_at, resolved_at, closed_at, updated_at) \
             values (gen_random_uuid(), $1, $2, $3, $4, $5, \
             case when $3 = 'merged' then (select id from incident where title = 'Merge target') end, \
             'fixture', 'mcp', $6, $7, $8, $9, $10, $11, \
             case when $3 = 'closed' then $11 + interval '1 day' end, $8)",
        )
        .bind(&row.title)
        .bind(row.severity)
        .bind(row.status)
        .bind(&row.services)
        .bind(labels)
        .bind(row.impact_started_at)
        .bind(row.detected_at)
        .bind(row.declared_at)
        .bind(row.acknowledged_at)
        .bind(row.mitigated_at)
        .bind(row.resolved_at)
        .execute(&db.pool)
        .await
        .unwrap_or_else(|err| panic!("inserting {row:?}: {err}"));
    }
}

/// Counted, or left out for this reason.
fn class(row: &Row, include_test: bool) -> &'static str {
    match row.status {
        _ if row.is_test() && !include_test => "test",
        "resolved" | "closed" => "counted",
        "declined" => "declined",
        "merged" => "merged",
        _ => "open",
    }
}

/// Whole seconds from `start` to `end`, truncated, never negative.
fn seconds(start: DateTime<Utc>, end: DateTime<Utc>) -> i64 {
    (end - start)
        .num_microseconds()
        .unwrap()
        .div_euclid(1_000_000)
        .max(0)
}

/// The three spans of a counted incident, each with the start anchor it used.
fn spans(row: &Row) -> [Option<(i64, &'static str)>; 3] {
    let detected = match row.detected_at {
        Some(at) => (at, "detected_at"),
        None => (row.declared_at, "declared_at"),
    };
    let impact = match row.impact_started_at {
        Some(at) => (at, "impact_started_at"),
        None => detected,
    };
    let span = |(start, anchor): (DateTime<Utc>, &'static str), end: Option<DateTime<Utc>>| {
        end.map(|end| (seconds(start, end), anchor))
    };
    [
        span(detected, row.acknowledged_at),
        span(impact, row.mitigated_at),
        span(impact, row.resolved_at),
    ]
}

/// The textbook linear-interpolation percentile of sorted values.
fn percentile(sorted: &[i64], p: f64) -> f64 {
    let position = p * (sorted.len() - 1) as f64;
    let (lo, hi) = (position.floor() as usize, position.ceil() as usize);
    let (low, high) = (sorted[lo] as f64, sorted[hi] as f64);
    low + (high - low) * (position - lo as f64)
}

const NAMES: [(&str, &str, &str); 3] = [
    ("time_to_acknowledge", "detected_at", "acknowledged_at"),
    ("time_to_mitigate", "impact_started_at", "mitigated_at"),
    ("time_to_resolve", "impact_started_at", "resolved_at"),
];

/// One measure over `rows` (all counted), as the answer shows it.
fn measure(rows: &[&Row], which: usize, with_anchors: bool) -> Value {
    let mut values: Vec<i64> = Vec::new();
    let mut fallback: BTreeMap<&str, i64> = BTreeMap::new();
    for row in rows {
        if let Some((s, anchor)) = spans(row)[which] {
            values.push(s);
            if anchor != NAMES[which].1 {
                *fallback.entry(anchor).or_default() += 1;
            }
        }
    }
    values.sort_unstable();
    let mut view = Map::new();
    if with_anchors {
        view.insert("from".into(), json!(NAMES[which].1));
        view.insert("to".into(), json!(NAMES[which].2));
    }
    view.insert("n".into(), json!(values.len()));
    if !values.is_empty() {
        let mean = values.iter().sum::<i64>() as f64 / values.len() as f64;
        view.insert(
            "median".into(),
            json!(percentile(&values, 0.5).round() as i64),
        );
        view.insert("p90".into(), json!(percentile(&values, 0.9).round() as i64));
        view.insert("mean".into(), json!(mean.round() as i64));
    }
    if with_anchors && !fallback.is_empty() {
        view.insert("fallback".into(), json!(fallback));
    }
    Value::Object(view)
}

fn measures(view: &mut Map<String, Value>, counted: &[&Row], with_anchors: bool) {
    for (which, (name, _, _)) in NAMES.iter().enumerate() {
        view.insert((*name).into(), measure(counted, which, with_anchors));
    }
}

/// What the answer says about `[from, to)` (its `current` or `previous`).
pub(crate) fn figures(
    rows: &[Row],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    include_test: bool,
) -> Value {
    let of_period: Vec<&Row> = rows
        .iter()
        .filter(|r| r.declared_at >= from && r.declared_at < to)
        .collect();
    let counted: Vec<&Row> = of_period
        .iter()
        .copied()
        .filter(|r| class(r, include_test) == "counted")
        .collect();
    let mut by_severity: BTreeMap<String, i64> = BTreeMap::new();
    for row in &counted {
        *by_severity
            .entry(format!("SEV{}", row.severity))
            .or_default() += 1;
    }
    let mut excluded: BTreeMap<&str, i64> = BTreeMap::new();
    for row in &of_period {
        match class(row, include_test) {
            "counted" => {}
            reason => *excluded.entry(reason).or_default() += 1,
        }
    }
    let mut view = Map::new();
    view.insert("from".into(), json!(from));
    view.insert("to".into(), json!(to));
    view.insert("incidents".into(), json!(counted.len()));
    if !by_severity.is_empty() {
        view.insert("by_severity".into(), json!(by_severity));
    }
    measures(&mut view, &counted, true);
    if !excluded.is_empty() {
        view.insert("excluded".into(), json!(excluded));
    }
    Value::Object(view)
}

/// The breakdown rows of `[from, to)` grouped by `by` (`week`, `month`, `severity`,
/// `service`), in the answer's order.
pub(crate) fn groups(
    rows: &[Row],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    by: &str,
    include_test: bool,
) -> Value {
    let mut grouped: BTreeMap<String, Vec<&Row>> = BTreeMap::new();
    for row in rows.iter().filter(|r| {
        r.declared_at >= from && r.declared_at < to && class(r, include_test) == "counted"
    }) {
        let day = row.declared_at.date_naive();
        let keys: Vec<String> = match by {
            "week" => vec![format!(
                "{}-W{:02}",
                day.iso_week().year(),
                day.iso_week().week()
            )],
            "month" => vec![day.format("%Y-%m").to_string()],
            "severity" => vec![format!("SEV{}", row.severity)],
            _ => {
                let mut services = row.services.clone();
                services.sort();
                services.dedup();
                match services.is_empty() {
                    true => vec!["(no service)".to_owned()],
                    false => services,
                }
            }
        };
        for key in keys {
            grouped.entry(key).or_default().push(row);
        }
    }
    let mut ordered: Vec<(String, Vec<&Row>)> = grouped.into_iter().collect();
    if by == "service" {
        ordered.sort_by(|(a, ra), (b, rb)| {
            rb.len()
                .cmp(&ra.len())
                .then_with(|| a.starts_with('(').cmp(&b.starts_with('(')))
                .then_with(|| a.cmp(b))
        });
    }
    let rows: Vec<Value> = ordered
        .into_iter()
        .map(|(key, members)| {
            let mut view = Map::new();
            view.insert("group".into(), json!(key));
            view.insert("incidents".into(), json!(members.len()));
            measures(&mut view, &members, false);
            Value::Object(view)
        })
        .collect();
    Value::Array(rows)
}

/// The busiest services of `[from, to)`: counted incidents per service, most first, then by
/// name, at most five.
pub(crate) fn top_services(rows: &[Row], from: DateTime<Utc>, to: DateTime<Utc>) -> Value {
    let mut counts: BTreeMap<&str, i64> = BTreeMap::new();
    for row in rows
        .iter()
        .filter(|r| r.declared_at >= from && r.declared_at < to && class(r, false) == "counted")
    {
        let mut services: Vec<&str> = row.services.iter().map(String::as_str).collect();
        services.sort_unstable();
        services.dedup();
        for service in services {
            *counts.entry(service).or_default() += 1;
        }
    }
    let mut ranked: Vec<(&str, i64)> = counts.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    ranked.truncate(5);
    Value::Array(
        ranked
            .into_iter()
            .map(|(service, incidents)| json!({"service": service, "incidents": incidents}))
            .collect(),
    )
}
