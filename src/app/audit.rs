//! The audit trail: a record of every MCP call (tool, resource, prompt), `firebreak tool` run
//! and ingestion request: when, who and how they authenticated, the client and channel, what
//! was called and the incident it touched, the outcome, how long it took, and the arguments (a
//! digest and a redacted, size-capped copy, see [`preview`]).
//!
//! A write's record is inserted in the write's own transaction ([`record_in`]): it commits with
//! the write and rolls back with it, so it is never lost and never describes a write that did
//! not happen. Reads and refusals go through the [`AuditLog`] queue and are written in batches;
//! its documentation says what a crash can lose. Records older than
//! [`Settings::audit_retention`](crate::app::Settings::audit_retention) are pruned in the
//! background ([`App::prune_audit`](crate::app::App::prune_audit)).

mod preview;
mod queue;
mod trail;

pub use preview::{PREVIEW_MAX_BYTES, REDACTED, digest, digest_bytes, is_secret_key, preview};
pub use queue::{AuditLog, BATCH_SIZE, FLUSH_INTERVAL, QUEUE_CAPACITY};
pub use trail::{AuditEntry, AuditFilter, DEFAULT_LIMIT, MAX_LIMIT, duration_ms};

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::PgConnection;

use crate::app::Result;
use crate::domain::{AuthMethod, Channel, Grant, IncidentRef};
use crate::store;
use crate::store::audit::NewAudit;

/// The default of [`Settings::audit_retention`](crate::app::Settings::audit_retention): 180
/// days.
pub const RETENTION: chrono::Duration = chrono::Duration::days(180);
/// Most characters kept of a principal, client, name or outcome.
const FIELD_MAX_CHARS: usize = 200;

pub use kind::AuditKind;

/// Apart, because the macro's code names `Result` and this module's `Result` is another.
mod kind {
    use crate::domain::vocabulary::vocabulary;

    vocabulary! {
        /// What kind of request a record describes.
        pub enum AuditKind ("audit record kind") {
            /// An MCP `tools/call`, or a `firebreak tool` run.
            Tool = "tool",
            /// An MCP `resources/read`.
            Resource = "resource",
            /// An MCP `prompts/get`.
            Prompt = "prompt",
            /// A request to an ingestion endpoint.
            Ingest = "ingest",
        }
    }
}

/// One audited request.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    /// When it began.
    pub at: DateTime<Utc>,
    /// Who made it: a token's name, the local user, a source's name, or `unauthenticated`.
    pub principal: String,
    /// How the caller authenticated.
    pub auth_method: AuthMethod,
    /// The client's name and version (`claude-code 2.1.0`), or a sender's User-Agent.
    pub client: Option<String>,
    /// The way it arrived.
    pub channel: Channel,
    /// What was asked for: a tool, a resource, a prompt or an ingestion endpoint.
    pub kind: AuditKind,
    /// The tool or prompt name, the resource URI, or the endpoint (`POST /hooks/grafana/graf`).
    pub name: String,
    /// The incident it touched (the number of INC-n).
    pub incident: Option<i64>,
    /// `ok`, or the code of the error answered (`invalid_argument`, `insufficient_scope` …).
    pub outcome: String,
    /// How long it took.
    pub duration: Duration,
    /// SHA-256 (hex) of the canonical arguments, secrets redacted (see [`digest`]).
    pub args_digest: String,
    /// The arguments redacted and cut to at most [`PREVIEW_MAX_BYTES`] (see [`preview`]).
    pub args_preview: Value,
}

impl AuditRecord {
    /// The record of a call beginning now, by `grant`'s principal, with `arguments` digested
    /// and previewed; its incident is read from an `incident` argument (`INC-42` or 42), its
    /// outcome is `ok` and its duration zero until [`AuditRecord::finished`] says otherwise.
    /// Text is cut to 200 characters and NUL replaced, so the record can always be stored.
    pub fn for_call(
        grant: &Grant,
        client: Option<&str>,
        channel: Channel,
        kind: AuditKind,
        name: &str,
        arguments: &Value,
    ) -> AuditRecord {
        AuditRecord {
            at: Utc::now(),
            principal: preview::clean_text(&grant.principal, FIELD_MAX_CHARS),
            auth_method: grant.method,
            client: client.map(|c| preview::clean_text(c, FIELD_MAX_CHARS)),
            channel,
            kind,
            name: preview::clean_text(name, FIELD_MAX_CHARS),
            incident: incident_of(arguments),
            outcome: "ok".to_owned(),
            duration: Duration::ZERO,
            args_digest: digest(arguments),
            args_preview: preview(arguments),
        }
    }

    /// The record of an ingestion request to `endpoint` (`POST /hooks/github/gh`) beginning
    /// now, by the source it authenticated as (`unauthenticated` when it did not), with the
    /// sender's User-Agent as the client. A JSON body is digested and previewed as call
    /// arguments are (so its secrets, such as an Events v2 `routing_key`, are redacted in
    /// both); any other body is digested as sent, and its preview says how many bytes it had.
    pub fn for_ingest(
        source: Option<&str>,
        user_agent: Option<&str>,
        endpoint: &str,
        body: Option<&[u8]>,
    ) -> AuditRecord {
        let (args_digest, args_preview) = match body.map(serde_json::from_slice::<Value>) {
            Some(Ok(json)) => (digest(&json), preview(&json)),
            Some(Err(_)) => {
                let body = body.unwrap_or_default();
                (
                    digest_bytes(body),
                    json!({ "bytes": body.len(), "json": false }),
                )
            }
            None => (digest(&Value::Null), Value::Null),
        };
        AuditRecord {
            at: Utc::now(),
            principal: preview::clean_text(source.unwrap_or("unauthenticated"), FIELD_MAX_CHARS),
            auth_method: AuthMethod::SourceSecret,
            client: user_agent.map(|c| preview::clean_text(c, FIELD_MAX_CHARS)),
            channel: Channel::Webhook,
            kind: AuditKind::Ingest,
            name: preview::clean_text(endpoint, FIELD_MAX_CHARS),
            incident: None,
            outcome: "ok".to_owned(),
            duration: Duration::ZERO,
            args_digest,
            args_preview,
        }
    }

    /// The same record with its outcome (`ok` or an error code) and duration.
    pub fn finished(mut self, outcome: &str, duration: Duration) -> AuditRecord {
        self.outcome = preview::clean_text(outcome, FIELD_MAX_CHARS);
        self.duration = duration;
        self
    }

    /// The row to insert. Fields set directly (not through [`AuditRecord::for_call`]) are
    /// stored as they are.
    fn row(&self) -> NewAudit<'_> {
        NewAudit {
            at: self.at,
            principal: &self.principal,
            auth_method: self.auth_method.as_str(),
            client: self.client.as_deref(),
            channel: self.channel.as_str(),
            kind: self.kind.as_str(),
            name: &self.name,
            incident_number: self.incident,
            outcome: &self.outcome,
            duration_us: i64::try_from(self.duration.as_micros()).unwrap_or(i64::MAX),
            args_digest: &self.args_digest,
            args_preview: &self.args_preview,
        }
    }
}

/// The incident number an `incident` argument names (`INC-42`, `42`, `#42` or 42); `None` for
/// a UUID or anything else.
pub fn incident_of(arguments: &Value) -> Option<i64> {
    match arguments.get("incident")? {
        Value::Number(number) => number.as_i64(),
        Value::String(text) => match IncidentRef::parse("incident", text).ok()? {
            IncidentRef::Number(number) => Some(number),
            IncidentRef::Id(_) => None,
        },
        _ => None,
    }
}

/// The incident a write's answer names: its `incident` (`INC-42`) or `reference`, at the top or
/// inside an `incident` object (a declaration answers with the incident it made).
pub fn incident_in_answer(answer: &Value) -> Option<i64> {
    let named = |value: &Value| {
        let text = value.as_str()?;
        match IncidentRef::parse("incident", text).ok()? {
            IncidentRef::Number(number) => Some(number),
            IncidentRef::Id(_) => None,
        }
    };
    answer
        .get("incident")
        .and_then(named)
        .or_else(|| answer.get("reference").and_then(named))
        .or_else(|| answer.get("incident")?.get("reference").and_then(named))
}

/// Inserts `record` on `conn`: inside a write's transaction, so it commits (or rolls back)
/// with the write.
pub async fn record_in(conn: &mut PgConnection, record: &AuditRecord) -> Result<()> {
    store::audit::insert(conn, &record.row()).await?;
    Ok(())
}

impl crate::app::App {
    /// The queue that records reads and refusals in batches (see [`AuditLog`]).
    pub fn audit_log(&self) -> &AuditLog {
        &self.audit
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Scopes;

    fn grant() -> Grant {
        Grant {
            principal: "ops\u{0}bot".into(),
            scopes: Scopes::ALL,
            method: AuthMethod::StaticToken,
        }
    }

    #[test]
    fn a_call_record_digests_previews_and_finds_the_incident() {
        let args = json!({"incident": "inc-7", "note": "db restarted", "token": "s3cr3t"});
        let record = AuditRecord::for_call(
            &grant(),
            Some("claude-code 2.1.0"),
            Channel::Http,
            AuditKind::Tool,
            "add_timeline_note",
            &args,
        )
        .finished("invalid_argument", Duration::from_micros(1500));
        assert_eq!(record.incident, Some(7));
        assert_eq!(record.principal, "ops\u{fffd}bot");
        assert_eq!(record.args_digest, digest(&args));
        assert_eq!(record.args_preview["token"], REDACTED);
        assert_eq!(record.outcome, "invalid_argument");
        let row = record.row();
        assert_eq!(
            (row.duration_us, row.auth_method, row.channel),
            (1500, "static_token", "http")
        );
    }

    #[test]
    fn the_incident_is_read_from_a_number_or_a_reference_only() {
        assert_eq!(incident_of(&json!({"incident": 42})), Some(42));
        assert_eq!(incident_of(&json!({"incident": "INC-3"})), Some(3));
        let id = "0196b3a4-0000-7000-8000-000000000001";
        assert_eq!(incident_of(&json!({ "incident": id })), None);
        assert_eq!(incident_of(&json!({"title": "x"})), None);
        assert_eq!(incident_of(&json!(null)), None);
    }

    #[test]
    fn an_entry_renders_its_incident_and_duration_for_people_and_scripts() {
        let record = AuditRecord::for_call(
            &grant(),
            None,
            Channel::Mcp,
            AuditKind::Resource,
            "incident://INC-2",
            &json!({"incident": 2}),
        )
        .finished("ok", Duration::from_micros(2250));
        let view = AuditEntry { id: 9, record }.to_json();
        assert_eq!(view["incident"], "INC-2");
        assert_eq!(view["duration_ms"], 2.25);
        assert_eq!(view["auth_method"], "static_token");
        assert_eq!(view["kind"], "resource");
    }
}
