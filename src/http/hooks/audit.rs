//! Every request to the ingestion endpoints leaves an audit record (kind `ingest`): a layer
//! around the routes times it and records it through the [`AuditLog`](crate::app::audit::AuditLog)
//! queue once it is answered, with what the handler learnt on the way (the source it
//! authenticated as, the body, the incident it touched). An accepted delivery's record commits
//! in the delivery's own transaction; refusals are queued.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::app::App;
use crate::app::audit::AuditRecord;
use crate::http::hooks::answer::Answer;

/// What a handler learns about its request for the audit record, filled in as it goes (the
/// layer puts one into the request's extensions).
#[derive(Debug, Clone, Default)]
pub(super) struct AuditSlot(Arc<Mutex<Facts>>);

#[derive(Debug, Default)]
struct Facts {
    /// What the layer knew at the start: when, the endpoint and the sender's User-Agent.
    start: Option<Start>,
    /// A delivery's transaction committed the record: the layer queues none.
    committed: bool,
    /// The source the request authenticated as.
    source: Option<String>,
    /// The body, once read.
    body: Option<Bytes>,
    /// The incident the delivery touched.
    incident: Option<i64>,
}

impl AuditSlot {
    /// The slot of `request` (a fresh one, recorded nowhere, outside the layer).
    pub(super) fn of(request: &Request) -> AuditSlot {
        request
            .extensions()
            .get::<AuditSlot>()
            .cloned()
            .unwrap_or_default()
    }

    /// The request proved it comes from `source`.
    pub(super) fn authenticated(&self, source: &str) {
        self.facts().source = Some(source.to_owned());
    }

    /// The body as it arrived.
    pub(super) fn body(&self, body: &Bytes) {
        self.facts().body = Some(body.clone());
    }

    /// What applying the delivery did: the first incident it declared, attached to or resolved.
    pub(super) fn applied(&self, answer: &Answer) {
        if let Answer::Alerts(outcomes) = answer {
            self.facts().incident = outcomes.iter().find_map(|o| o.incident);
        }
    }

    /// The record as an accepted delivery commits it, in its own transaction.
    pub(super) fn for_commit(&self) -> AuditRecord {
        let facts = self.facts();
        let start = facts.start.clone().unwrap_or_else(|| Start {
            at: chrono::Utc::now(),
            started: Instant::now(),
            endpoint: String::new(),
            user_agent: None,
        });
        let mut record = AuditRecord::for_ingest(
            facts.source.as_deref(),
            start.user_agent.as_deref(),
            &start.endpoint,
            facts.body.as_deref(),
        )
        .finished("ok", start.started.elapsed());
        record.at = start.at;
        record
    }

    /// The delivery committed its record.
    pub(super) fn committed(&self) {
        self.facts().committed = true;
    }

    fn facts(&self) -> MutexGuard<'_, Facts> {
        match self.0.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

/// When and where a request began.
#[derive(Debug, Clone)]
struct Start {
    at: chrono::DateTime<chrono::Utc>,
    started: Instant,
    endpoint: String,
    user_agent: Option<String>,
}

/// The layer: answers the request, then queues its record (unless its delivery committed it).
pub(super) async fn record(State(app): State<App>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let slot = AuditSlot::default();
    request.extensions_mut().insert(slot.clone());
    let endpoint = format!("{} {}", request.method(), request.uri().path());
    let user_agent = request
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let at = chrono::Utc::now();
    slot.facts().start = Some(Start {
        at,
        started,
        endpoint: endpoint.clone(),
        user_agent: user_agent.clone(),
    });
    let response = next.run(request).await;
    let facts = std::mem::take(&mut *slot.facts());
    if facts.committed {
        return response;
    }
    let mut record = AuditRecord::for_ingest(
        facts.source.as_deref(),
        user_agent.as_deref(),
        &endpoint,
        facts.body.as_deref(),
    )
    .finished(outcome(response.status()), started.elapsed());
    record.at = at;
    record.incident = facts.incident;
    app.audit_log().record(record);
    response
}

/// The outcome code an answer's status stands for.
fn outcome(status: StatusCode) -> &'static str {
    match status.as_u16() {
        200..=299 => "ok",
        400 => "invalid_argument",
        401 => "unauthorized",
        404 => "not_found",
        405 => "method_not_allowed",
        408 => "timeout",
        413 => "payload_too_large",
        503 => "unavailable",
        500 => "internal",
        _ => "http_error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_become_the_codes_the_trail_uses() {
        assert_eq!(outcome(StatusCode::ACCEPTED), "ok");
        assert_eq!(outcome(StatusCode::UNAUTHORIZED), "unauthorized");
        assert_eq!(outcome(StatusCode::PAYLOAD_TOO_LARGE), "payload_too_large");
        assert_eq!(outcome(StatusCode::BAD_REQUEST), "invalid_argument");
        assert_eq!(outcome(StatusCode::IM_A_TEAPOT), "http_error");
    }
}
