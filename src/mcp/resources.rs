//! MCP resources: incident briefs, timelines, alerts, postmortems and runbooks as markdown,
//! addressed as `incident://INC-42`, `incident://INC-42/timeline`, `incident://INC-42/alerts`,
//! `postmortem://INC-42` and
//! `runbook://{slug}`. Incidents are also accepted as `incident://42` and by UUID. The audit
//! trail, for `admin` credentials, is JSON at `audit://log` (see [`audit`]).

mod audit;

use rmcp::ErrorData;
use rmcp::model::{
    ListResourceTemplatesResult, ListResourcesResult, ReadResourceResult, Resource,
    ResourceContents, ResourceTemplate,
};
use serde_json::json;

use crate::app::signals::AlertQuery;
use crate::app::{self, App, ListRequest, StatusFilter};
use crate::domain::runbook::RunbookSummary;
use crate::domain::{IncidentRef, IncidentSummary};
use crate::mcp::markdown;
use crate::mcp::tool_error::protocol_error;

/// Resources whose URIs start with this are the audit trail (`admin` only).
pub(crate) const AUDIT_RESOURCE_PREFIX: &str = "audit://";

/// The template of incident briefs.
pub(crate) const INCIDENT_TEMPLATE: &str = "incident://{incident}";
/// The template of incident timelines.
pub(crate) const TIMELINE_TEMPLATE: &str = "incident://{incident}/timeline";
/// The template of an incident's alerts.
pub(crate) const ALERTS_TEMPLATE: &str = "incident://{incident}/alerts";
/// The template of postmortems.
pub(crate) const POSTMORTEM_TEMPLATE: &str = "postmortem://{incident}";
/// The template of runbooks.
pub(crate) const RUNBOOK_TEMPLATE: &str = "runbook://{slug}";

const MARKDOWN: &str = "text/markdown";
/// How many open incidents `resources/list` shows, newest first.
const LISTED_INCIDENTS: i64 = 50;
/// How many runbooks `resources/list` shows, in slug order.
const LISTED_RUNBOOKS: i64 = 100;
/// How many timeline entries the timeline resource shows, newest kept.
const TIMELINE_ENTRIES: i64 = 200;
/// How many alerts `incident://INC-42/alerts` shows.
const ALERT_ENTRIES: i64 = 100;
/// What the not-found error offers instead.
const ACCEPTED: &str = "incident://INC-42 (also incident://42 or incident://<uuid>), \
incident://INC-42/timeline, incident://INC-42/alerts, postmortem://INC-42 and runbook://<slug>";

/// A parsed resource URI.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Address {
    /// `incident://INC-42`.
    Brief(IncidentRef),
    /// `incident://INC-42/timeline`.
    Timeline(IncidentRef),
    /// `incident://INC-42/alerts`.
    Alerts(IncidentRef),
    /// `postmortem://INC-42`.
    Postmortem(IncidentRef),
    /// `runbook://{slug}`.
    Runbook(String),
}

impl Address {
    fn parse(uri: &str) -> Option<Address> {
        let (scheme, rest) = uri.split_once("://")?;
        let rest = rest.trim_end_matches('/');
        let incident = |raw: &str| IncidentRef::parse("uri", raw).ok();
        match scheme {
            "incident" => {
                if let Some(raw) = rest.strip_suffix("/timeline") {
                    incident(raw).map(Address::Timeline)
                } else if let Some(raw) = rest.strip_suffix("/alerts") {
                    incident(raw).map(Address::Alerts)
                } else {
                    incident(rest).map(Address::Brief)
                }
            }
            "postmortem" => incident(rest).map(Address::Postmortem),
            "runbook" if is_runbook_slug(rest) => Some(Address::Runbook(rest.to_owned())),
            _ => None,
        }
    }
}

/// The incident a per-incident resource (brief, timeline, alerts, postmortem) is about; `None`
/// for any other URI. What `resources/subscribe` accepts.
pub(crate) fn incident_of(uri: &str) -> Option<IncidentRef> {
    match Address::parse(uri)? {
        Address::Brief(reference)
        | Address::Timeline(reference)
        | Address::Alerts(reference)
        | Address::Postmortem(reference) => Some(reference),
        Address::Runbook(_) => None,
    }
}

/// A runbook slug as it may appear in a URI: no spaces, no query, no fragment.
fn is_runbook_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= 200
        && slug
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
}

/// The resource templates, which also serve as the completion targets.
pub(crate) fn templates() -> ListResourceTemplatesResult {
    let template = |uri: &str, name: &str, title: &str, description: &str| {
        ResourceTemplate::new(uri, name)
            .with_title(title)
            .with_description(description)
            .with_mime_type(MARKDOWN)
    };
    ListResourceTemplatesResult::with_all_items(vec![
        template(
            INCIDENT_TEMPLATE,
            "incident",
            "Incident brief",
            "An incident's brief as markdown: severity, status, version, services, lifecycle \
             times, summary, impact, roles, durations and the newest timeline entries. \
             `incident` is INC-42, 42 or the incident's UUID.",
        ),
        template(
            TIMELINE_TEMPLATE,
            "incident-timeline",
            "Incident timeline",
            "An incident's timeline as markdown, oldest first: the newest 200 entries, saying \
             when older ones are left out.",
        ),
        template(
            ALERTS_TEMPLATE,
            "incident-alerts",
            "Incident alerts",
            "An incident's alerts as markdown, newest first (at most 100), each with its source, \
             status, counts and the reason Firebreak declared, attached or deduplicated it.",
        ),
        template(
            POSTMORTEM_TEMPLATE,
            "postmortem",
            "Postmortem",
            "An incident's postmortem as markdown (draft, in review or published). Draft one \
             with `draft_postmortem`.",
        ),
        template(
            RUNBOOK_TEMPLATE,
            "runbook",
            "Runbook",
            "A runbook as markdown: front matter, meaning, impact, diagnosis, mitigation and \
             numbered steps (risky ones marked).",
        ),
        ResourceTemplate::new(audit::AUDIT_TEMPLATE, "audit-log")
            .with_title("Audit trail")
            .with_description(audit::AUDIT_DESCRIPTION)
            .with_mime_type(audit::JSON),
    ])
}

/// Open incidents (newest first, at most 50), then active runbooks (at most 100).
pub(crate) async fn list(app: &App) -> Result<ListResourcesResult, ErrorData> {
    let request = ListRequest {
        statuses: vec![StatusFilter::Open],
        limit: Some(LISTED_INCIDENTS),
        ..ListRequest::default()
    };
    let page = app
        .list_incidents(request)
        .await
        .map_err(|err| protocol_error(&err))?;
    let runbooks = app
        .list_runbooks(LISTED_RUNBOOKS)
        .await
        .map_err(|err| protocol_error(&err))?;
    let resources: Vec<Resource> = page
        .incidents
        .iter()
        .map(incident_resource)
        .chain(runbooks.iter().map(runbook_resource))
        .collect();
    Ok(ListResourcesResult::with_all_items(resources))
}

fn incident_resource(incident: &IncidentSummary) -> Resource {
    let reference = incident.reference();
    let services = if incident.services.is_empty() {
        String::new()
    } else {
        format!(", affecting {}", incident.services.join(", "))
    };
    Resource::new(format!("incident://{reference}"), reference.to_string())
        .with_title(format!("{reference}: {}", incident.title))
        .with_description(format!(
            "{} incident, {}{services}, declared {}. Brief with roles, durations and recent timeline.",
            incident.severity,
            incident.status,
            incident.declared_at.format("%Y-%m-%d %H:%M UTC"),
        ))
        .with_mime_type(MARKDOWN)
}

fn runbook_resource(runbook: &RunbookSummary) -> Resource {
    Resource::new(format!("runbook://{}", runbook.slug), runbook.slug.clone())
        .with_title(runbook.title.clone())
        .with_description(format!(
            "Runbook: {}. Front matter, meaning, impact, diagnosis, mitigation and numbered steps.",
            runbook.title
        ))
        .with_mime_type(MARKDOWN)
}

/// Reads one resource: markdown, or JSON for the audit trail.
pub(crate) async fn read(app: &App, uri: &str) -> Result<ReadResourceResult, ErrorData> {
    if uri.starts_with(AUDIT_RESOURCE_PREFIX) {
        return audit::read(app, uri).await;
    }
    let address = Address::parse(uri).ok_or_else(|| {
        not_found(
            uri,
            format!("Firebreak has no resource `{uri}`; it serves {ACCEPTED}"),
        )
    })?;
    // Every missing thing (incident, postmortem, runbook) has the code `not_found`.
    let failed = |err: app::Error| match err.code() {
        "not_found" => not_found(uri, format!("{uri}: {err}")),
        _ => protocol_error(&err),
    };
    let text = match address {
        Address::Brief(reference) => {
            markdown::incident_brief(&app.incident_brief(reference).await.map_err(failed)?)
        }
        Address::Timeline(reference) => markdown::timeline(
            &app.recent_timeline(reference, TIMELINE_ENTRIES)
                .await
                .map_err(failed)?,
        ),
        Address::Alerts(reference) => {
            let query = AlertQuery {
                incident: Some(reference),
                limit: Some(ALERT_ENTRIES),
                ..AlertQuery::default()
            };
            let page = app.list_alerts(query).await.map_err(failed)?;
            markdown::alerts(&reference.to_string(), &page)
        }
        Address::Postmortem(reference) => app
            .postmortem_markdown(reference)
            .await
            .map_err(failed)?
            .ok_or_else(|| {
                not_found(
                    uri,
                    format!(
                        "{uri}: {reference} has no postmortem yet; draft it with draft_postmortem"
                    ),
                )
            })?,
        // The file as written, front matter included: what the team keeps in git.
        Address::Runbook(slug) => app.runbook(&slug).await.map_err(failed)?.markdown,
    };
    Ok(ReadResourceResult::new(vec![
        ResourceContents::text(text, uri).with_mime_type(MARKDOWN),
    ]))
}

/// The SEP-2164 resource-not-found error, naming the URI and the forms Firebreak serves.
fn not_found(uri: &str, message: String) -> ErrorData {
    ErrorData::resource_not_found(message, Some(json!({ "uri": uri, "accepted": ACCEPTED })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incident_uris_accept_every_reference_form() {
        let id = "0196b3a4-0000-7000-8000-000000000001";
        assert_eq!(
            Address::parse("incident://INC-42"),
            Some(Address::Brief(IncidentRef::Number(42)))
        );
        assert_eq!(
            Address::parse("incident://42/"),
            Some(Address::Brief(IncidentRef::Number(42)))
        );
        assert!(matches!(
            Address::parse(&format!("incident://{id}")),
            Some(Address::Brief(IncidentRef::Id(_)))
        ));
        assert_eq!(
            Address::parse("incident://inc-7/timeline"),
            Some(Address::Timeline(IncidentRef::Number(7)))
        );
        assert_eq!(
            Address::parse("postmortem://INC-3"),
            Some(Address::Postmortem(IncidentRef::Number(3)))
        );
        assert_eq!(
            Address::parse("runbook://disk-full"),
            Some(Address::Runbook("disk-full".into()))
        );
    }

    #[test]
    fn malformed_uris_are_not_addresses() {
        for uri in [
            "incident://",
            "incident://INC-x",
            "incident://INC-4/notes",
            "incidents://INC-4",
            "INC-4",
            "runbook://",
            "runbook://a b",
            "runbook://x?y=1",
            "file:///etc/passwd",
        ] {
            assert_eq!(Address::parse(uri), None, "{uri}");
        }
    }
}
