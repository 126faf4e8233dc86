//! The audit trail as a resource, for `admin` credentials: `audit://log` answers the newest 50
//! records as JSON; `audit://log?principal=…&tool=…&incident=INC-4&outcome=…&since=-24h&limit=N`
//! narrows them (also `until`, and `before` with the `next_before` of the previous page).

use rmcp::ErrorData;
use rmcp::model::{ReadResourceResult, ResourceContents};
use serde_json::{Value, json};

use crate::app::audit::AuditFilter;
use crate::app::{self, App};
use crate::domain::{IncidentRef, ValidationError};
use crate::mcp::tool_error::protocol_error;
use crate::mcp::wire::When;

/// The audit trail's URI, without a query.
pub(super) const AUDIT_LOG_URI: &str = "audit://log";
/// Its template.
pub(super) const AUDIT_TEMPLATE: &str =
    "audit://log{?principal,tool,incident,outcome,since,until,limit,before}";
/// Its media type.
pub(super) const JSON: &str = "application/json";
/// What the template's description says.
pub(super) const AUDIT_DESCRIPTION: &str = "The audit trail as JSON, newest first (admin only): \
    every MCP call, `firebreak tool` run and ingestion request with its principal, how it \
    authenticated, client, channel, kind, name, incident, outcome, duration and redacted \
    arguments. Filters: principal, tool (a tool, prompt, resource URI or endpoint), incident \
    (INC-42), outcome (`ok` or an error code), since and until (RFC 3339 or relative, e.g. \
    -24h), limit (1-500, default 50) and before (the `next_before` of the previous page).";

/// True when `uri` addresses the audit trail (`audit://log`, with or without a query).
fn is_audit_log(uri: &str) -> bool {
    uri.strip_prefix(AUDIT_LOG_URI)
        .is_some_and(|rest| rest.is_empty() || rest == "/" || rest.starts_with('?'))
}

/// Reads `audit://log…`: the records its query selects, newest first. Any other `audit://`
/// URI is not found.
pub(super) async fn read(app: &App, uri: &str) -> Result<ReadResourceResult, ErrorData> {
    if !is_audit_log(uri) {
        return Err(super::not_found(
            uri,
            format!("Firebreak has no resource `{uri}`; the audit trail is {AUDIT_LOG_URI}"),
        ));
    }
    let invalid = |err: ValidationError| protocol_error(&app::Error::Invalid(err));
    let filter = filter(uri).map_err(invalid)?;
    let limit = filter.limit.unwrap_or(app::audit::DEFAULT_LIMIT);
    let entries = app
        .query_audit(filter)
        .await
        .map_err(|err| protocol_error(&err))?;
    // A full page may have more behind it.
    let next_before = entries
        .last()
        .filter(|_| i64::try_from(entries.len()) == Ok(limit))
        .map(|entry| entry.id);
    let records: Vec<Value> = entries.iter().map(|entry| entry.to_json()).collect();
    let body = json!({ "records": records, "next_before": next_before });
    Ok(ReadResourceResult::new(vec![
        ResourceContents::text(body.to_string(), uri).with_mime_type(JSON),
    ]))
}

/// The filter a URI's query names.
fn filter(uri: &str) -> Result<AuditFilter, ValidationError> {
    let mut filter = AuditFilter::default();
    let query = uri.split_once('?').map_or("", |(_, query)| query);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, raw) = pair.split_once('=').unwrap_or((pair, ""));
        let value = decode(raw)
            .ok_or_else(|| ValidationError::new(name, "is not valid percent-encoded UTF-8"))?;
        let number = |field: &str| {
            value.parse::<i64>().map_err(|_| {
                ValidationError::new(field, format!("`{value}` is not a whole number"))
            })
        };
        match name {
            "principal" => filter.principal = Some(value.clone()),
            "tool" | "name" => filter.name = Some(value.clone()),
            "outcome" => filter.outcome = Some(value.clone()),
            "incident" => filter.incident = Some(IncidentRef::parse("incident", &value)?),
            "since" => filter.since = Some(moment("since", &value)?),
            "until" => filter.until = Some(moment("until", &value)?),
            "limit" => filter.limit = Some(number("limit")?),
            "before" => filter.before_id = Some(number("before")?),
            other => {
                return Err(ValidationError::new(
                    other,
                    "is not a filter of audit://log: use principal, tool, incident, outcome, \
                     since, until, limit or before",
                ));
            }
        }
    }
    Ok(filter)
}

/// A time as the tools take one (RFC 3339, or relative such as `-24h`); `24h` counts as ago.
fn moment(field: &str, text: &str) -> Result<chrono::DateTime<chrono::Utc>, ValidationError> {
    let is_bare_relative = text.starts_with(|c: char| c.is_ascii_digit())
        && !text.contains(['-', ':', 'T'])
        && text.len() < 12;
    let text = if is_bare_relative {
        format!("-{text}")
    } else {
        text.to_owned()
    };
    serde_json::from_value::<When>(Value::String(text))
        .map(|when| when.at(chrono::Utc::now()))
        .map_err(|err| ValidationError::new(field, err.to_string()))
}

/// Percent-decodes a query value (`+` is a space).
fn decode(raw: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(raw.len());
    let mut rest = raw.bytes();
    while let Some(b) = rest.next() {
        match b {
            b'+' => bytes.push(b' '),
            b'%' => {
                let hex = [rest.next()?, rest.next()?];
                let hex = std::str::from_utf8(&hex).ok()?;
                bytes.push(u8::from_str_radix(hex, 16).ok()?);
            }
            other => bytes.push(other),
        }
    }
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_uri_is_recognised_with_or_without_a_query() {
        for uri in ["audit://log", "audit://log/", "audit://log?limit=5"] {
            assert!(is_audit_log(uri), "{uri}");
        }
        for uri in ["audit://logs", "audit://", "incident://INC-1"] {
            assert!(!is_audit_log(uri), "{uri}");
        }
    }

    #[test]
    fn the_query_becomes_a_filter() {
        let parsed = filter(
            "audit://log?principal=ops%2Dbot&tool=declare_incident&incident=inc-4\
             &outcome=ok&since=24h&limit=20&before=99",
        )
        .unwrap();
        assert_eq!(parsed.principal.as_deref(), Some("ops-bot"));
        assert_eq!(parsed.name.as_deref(), Some("declare_incident"));
        assert_eq!(parsed.incident, Some(IncidentRef::Number(4)));
        assert_eq!(parsed.outcome.as_deref(), Some("ok"));
        assert_eq!((parsed.limit, parsed.before_id), (Some(20), Some(99)));
        let since = parsed.since.unwrap();
        let ago = chrono::Utc::now() - since;
        assert!(
            (ago - chrono::Duration::hours(24)).num_seconds().abs() < 5,
            "{ago}"
        );
        assert_eq!(
            filter("audit://log?tool=POST+%2Fhooks%2Fgrafana%2Fgraf")
                .unwrap()
                .name
                .as_deref(),
            Some("POST /hooks/grafana/graf")
        );
        assert_eq!(
            filter("audit://log?since=2026-05-01T00:00:00Z")
                .unwrap()
                .since,
            Some("2026-05-01T00:00:00Z".parse().unwrap())
        );
    }

    #[test]
    fn unknown_filters_and_bad_values_are_refused_by_name() {
        for (uri, field) in [
            ("audit://log?who=alice", "who"),
            ("audit://log?limit=ten", "limit"),
            ("audit://log?incident=four", "incident"),
            ("audit://log?since=yesterday", "since"),
            ("audit://log?tool=%ZZ", "tool"),
        ] {
            let err = filter(uri).unwrap_err();
            assert_eq!(err.field, field, "{uri}: {err}");
        }
    }
}
