//! Incident metrics as markdown (`firebreak report`): the period beside the one before it,
//! then the follow-up owed and the breakdown. Rendered from the tool's answer, so the numbers
//! are the tool's numbers.

use std::fmt::Write;

use crate::domain::durations::human;
use crate::mcp::markdown::time;
use crate::mcp::views::{FiguresView, GroupView, MeasureView, MetricsView};

/// The whole report.
pub(crate) fn metrics_report(view: &MetricsView) -> String {
    let mut out = String::new();
    let (current, previous) = (&view.current, &view.previous);
    // Writing to a String cannot fail.
    let _ = write!(
        out,
        "# Incident metrics\n\nIncidents declared from {} to {} (the period before: from {}).",
        time(current.from),
        time(current.to),
        time(previous.from)
    );
    out.push_str(&scope(view));
    out.push_str("\n\n| | this period | period before |\n|---|---:|---:|\n");
    row(
        &mut out,
        "incidents counted",
        current.incidents,
        previous.incidents,
    );
    for severity in ["SEV1", "SEV2", "SEV3", "SEV4", "SEV5"] {
        let count = |f: &FiguresView| f.by_severity.get(severity).copied().unwrap_or(0);
        if count(current) + count(previous) > 0 {
            row(&mut out, severity, count(current), count(previous));
        }
    }
    let measures = [
        (
            "time to acknowledge",
            &current.time_to_acknowledge,
            &previous.time_to_acknowledge,
        ),
        (
            "time to mitigate",
            &current.time_to_mitigate,
            &previous.time_to_mitigate,
        ),
        (
            "time to resolve",
            &current.time_to_resolve,
            &previous.time_to_resolve,
        ),
    ];
    for (name, now, before) in measures {
        let anchors = match (&now.from, &now.to) {
            (Some(from), Some(to)) => format!(" ({from} → {to})"),
            _ => String::new(),
        };
        let stats = [
            ("median", now.median, before.median),
            ("p90", now.p90, before.p90),
            ("mean", now.mean, before.mean),
        ];
        for (stat, now, before) in stats {
            let _ = writeln!(
                out,
                "| {name}{anchors}, {stat} | {} | {} |",
                seconds(now),
                seconds(before)
            );
        }
        let _ = writeln!(out, "| {name}, n | {} | {} |", now.n, before.n);
    }
    for reason in ["test", "declined", "merged", "open"] {
        let count = |f: &FiguresView| f.excluded.get(reason).copied().unwrap_or(0);
        if count(current) + count(previous) > 0 {
            row(
                &mut out,
                &format!("left out: {reason}"),
                count(current),
                count(previous),
            );
        }
    }
    fallbacks(&mut out, view);
    let _ = writeln!(
        out,
        "\nCounted: resolved or closed incidents. Percentiles: {}.",
        view.method
    );
    follow_up(&mut out, view);
    let breakdown = &view.breakdown;
    if !breakdown.is_empty() {
        let _ = write!(
            out,
            "\n## By {}\n\n| {} | incidents | acknowledge median / p90 / mean | mitigate median / p90 / mean | resolve median / p90 / mean |\n|---|---:|---:|---:|---:|\n",
            breakdown.by, breakdown.by
        );
        for group in &breakdown.groups {
            group_row(&mut out, group);
        }
    }
    out
}

/// The filters, as a sentence (nothing without filters).
fn scope(view: &MetricsView) -> String {
    let mut parts = Vec::new();
    if let Some(service) = &view.service {
        parts.push(format!("service {service}"));
    }
    if !view.severities.is_empty() {
        parts.push(format!("severities {}", view.severities.join(", ")));
    }
    if view.include_test {
        parts.push("test incidents included".to_owned());
    }
    match parts.is_empty() {
        true => String::new(),
        false => format!(" Only: {}.", parts.join("; ")),
    }
}

fn row(out: &mut String, label: &str, now: i64, before: i64) {
    let _ = writeln!(out, "| {label} | {now} | {before} |");
}

/// `1h 12m (4320 s)`; a dash when there is nothing to measure.
fn seconds(value: Option<i64>) -> String {
    match value {
        Some(s) if s < 60 => format!("{s} s"),
        Some(s) => format!("{} ({s} s)", human(s)),
        None => "–".to_owned(),
    }
}

/// Which spans started from a fallback anchor, per period.
fn fallbacks(out: &mut String, view: &MetricsView) {
    for (label, figures) in [
        ("this period", &view.current),
        ("period before", &view.previous),
    ] {
        let measures = [
            ("time to acknowledge", &figures.time_to_acknowledge),
            ("time to mitigate", &figures.time_to_mitigate),
            ("time to resolve", &figures.time_to_resolve),
        ];
        let said: Vec<String> = measures
            .iter()
            .filter(|(_, m)| !m.fallback.is_empty())
            .map(|(name, m)| {
                let used: Vec<String> = m
                    .fallback
                    .iter()
                    .map(|(anchor, n)| format!("{n} from {anchor}"))
                    .collect();
                format!("{name} {}", used.join(", "))
            })
            .collect();
        if !said.is_empty() {
            let _ = write!(
                out,
                "\nStart anchor unknown, fallback used ({label}): {}.",
                said.join("; ")
            );
        }
    }
    out.push('\n');
}

/// Busiest services, noisiest alerts, overdue action items, owed postmortems.
fn follow_up(out: &mut String, view: &MetricsView) {
    if !view.top_services.is_empty() {
        out.push_str("\n## Busiest services\n\n");
        for s in &view.top_services {
            let _ = writeln!(out, "- {}: {} incidents", s.service, s.incidents);
        }
    }
    if !view.noisy_alerts.is_empty() {
        out.push_str("\n## Noisiest alerts\n\n| source | alertname | alerts | deliveries | incidents |\n|---|---|---:|---:|---:|\n");
        for a in &view.noisy_alerts {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                cell(&a.source),
                cell(a.alertname.as_deref().unwrap_or("–")),
                a.alerts,
                a.deliveries,
                a.incidents
            );
        }
    }
    let overdue = &view.overdue_action_items;
    if !overdue.is_empty() {
        let _ = writeln!(out, "\n## Overdue action items: {}\n", overdue.count);
        for item in &overdue.oldest {
            let owner = item.owner.as_deref().unwrap_or("no owner");
            let _ = writeln!(
                out,
                "- {} (due {}, {owner}, {}): {}",
                item.item, item.due_on, item.incident, item.title
            );
        }
    }
    let owed = &view.postmortems_owed;
    if !owed.is_empty() {
        let _ = writeln!(
            out,
            "\n## Postmortems owed (SEV1–SEV2, not published): {}\n\n{}",
            owed.count,
            owed.incidents.join(", ")
        );
    }
}

fn group_row(out: &mut String, group: &GroupView) {
    let stats = |m: &MeasureView| {
        let short = |v: Option<i64>| v.map_or_else(|| "–".to_owned(), human);
        format!("{} / {} / {}", short(m.median), short(m.p90), short(m.mean))
    };
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {} |",
        cell(&group.group),
        group.incidents,
        stats(&group.time_to_acknowledge),
        stats(&group.time_to_mitigate),
        stats(&group.time_to_resolve)
    );
}

/// Text safe inside a table cell: one line, pipes escaped.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}
