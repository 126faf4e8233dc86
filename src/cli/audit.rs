//! `firebreak audit`: the audit trail on stdout, newest first, one line of text (or one JSON
//! object) per record.

use std::io::Write;

use chrono::{DateTime, Utc};

use crate::app::audit::{AuditEntry, AuditFilter, duration_ms};
use crate::cli::{Error, connect_app};
use crate::config::{AuditArgs, DatabaseArgs};
use crate::domain::IncidentRef;

/// `firebreak audit`: prints the records the options select.
pub(super) async fn run(database: &DatabaseArgs, args: &AuditArgs) -> Result<(), Error> {
    let filter = filter(args, Utc::now())?;
    let app = connect_app(database).await?;
    let entries = app.query_audit(filter).await?;
    // A person (or a script) asked for the trail: stdout is right here.
    let mut out = std::io::stdout().lock();
    for entry in &entries {
        if args.json {
            writeln!(out, "{}", entry.to_json())?;
        } else {
            writeln!(out, "{}", line(entry))?;
        }
    }
    Ok(())
}

/// The query the options stand for, with relative times counted back from `now`.
fn filter(args: &AuditArgs, now: DateTime<Utc>) -> Result<AuditFilter, Error> {
    let incident = args
        .incident
        .as_deref()
        .map(|raw| IncidentRef::parse("--incident", raw))
        .transpose()
        .map_err(|err| Error::Config(err.to_string()))?;
    let time = |option: &str, value: &Option<String>| {
        value
            .as_deref()
            .map(|text| {
                moment(text, now).map_err(|reason| Error::Config(format!("{option}: {reason}")))
            })
            .transpose()
    };
    Ok(AuditFilter {
        principal: args.principal.clone(),
        name: args.tool.clone(),
        incident,
        outcome: args.outcome.clone(),
        since: time("--since", &args.since)?,
        until: time("--until", &args.until)?,
        limit: Some(args.limit),
        before_id: args.before,
    })
}

/// A moment written as RFC 3339 (`2026-05-01T09:30:00Z`), as how long ago (`24h`, `7d`, `30m`,
/// `-2h`, `1w`), or `now`.
fn moment(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("now") {
        return Ok(now);
    }
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    let ago = text.strip_prefix('-').unwrap_or(text);
    let split = ago.find(|c: char| !c.is_ascii_digit()).unwrap_or(ago.len());
    let (number, unit) = ago.split_at(split);
    let seconds = match unit.trim() {
        "s" => 1,
        "m" | "min" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => 0,
    };
    number
        .parse::<i64>()
        .ok()
        .filter(|_| seconds > 0)
        .and_then(|n| n.checked_mul(seconds))
        .and_then(chrono::Duration::try_seconds)
        .and_then(|ago| now.checked_sub_signed(ago))
        .ok_or_else(|| {
            format!(
                "`{text}` is not a time: use RFC 3339 (e.g. 2026-05-01T09:30:00Z) or how long ago (e.g. 24h, 7d)"
            )
        })
}

/// One record as a line: time, who via how, channel, what, incident, outcome, duration.
fn line(entry: &AuditEntry) -> String {
    let r = &entry.record;
    let incident = r
        .incident
        .map_or_else(|| "-".to_owned(), |n| format!("INC-{n}"));
    let client = r
        .client
        .as_deref()
        .map(|c| format!(" ({c})"))
        .unwrap_or_default();
    format!(
        "{id:>6} {at} {principal} via {method}{client} {channel} {kind} {name} {incident} {outcome} {ms:.1}ms",
        id = entry.id,
        at = r.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        principal = r.principal,
        method = r.auth_method,
        channel = r.channel,
        kind = r.kind,
        name = r.name,
        outcome = r.outcome,
        ms = duration_ms(r.duration),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-05-02T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn times_are_absolute_or_how_long_ago() {
        let hours = |h: i64| now() - chrono::Duration::hours(h);
        assert_eq!(moment("24h", now()), Ok(hours(24)));
        assert_eq!(moment("-24h", now()), Ok(hours(24)));
        assert_eq!(moment("7d", now()), Ok(hours(24 * 7)));
        assert_eq!(moment("now", now()), Ok(now()));
        assert_eq!(
            moment("2026-05-01T09:30:00+02:00", now()),
            Ok("2026-05-01T07:30:00Z".parse().unwrap())
        );
        for wrong in ["yesterday", "24", "3y", "2026-05-01", "h"] {
            let err = moment(wrong, now()).unwrap_err();
            assert!(err.contains("is not a time"), "{wrong}: {err}");
        }
    }
}
