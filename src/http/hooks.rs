//! Ingestion endpoints beside `/mcp`: `POST /hooks/{alertmanager|grafana|github|generic}/{source}`
//! and PagerDuty's `POST /v2/enqueue` and `POST /v2/change/enqueue`, unchanged. Each source
//! authenticates with its own secret (never an MCP token): a bad or missing credential is `401`
//! with no detail, an unknown source `404`, a body over 1 MiB `413`, a payload not in the
//! source's format `400` naming the field. A delivery is one transaction, so a sender's retry
//! of a payload that failed applies it whole.

mod answer;
mod audit;

use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use axum::routing::post;

use crate::app::App;
use crate::app::signals::SignalSource;
use crate::http::body::{BodyLimits, Unread, read_within};
use crate::ingest::formats::{Envelope, EventsV2, FormatError, Parsed, routing_key_of};
use crate::ingest::verify::{
    bearer, github_signature_matches, routing_key_source, secret_matches, signature_matches,
};
use crate::ingest::{Alerting, Source, SourceKind, formats};

use answer::{Answer, refused_event};
use audit::AuditSlot;

/// Largest ingestion body.
pub const MAX_HOOK_BODY_BYTES: usize = 1024 * 1024;

/// The sources in force, replaced whole on reload.
#[derive(Debug, Clone, Default)]
pub struct SourcesHandle(Arc<RwLock<Arc<Alerting>>>);

impl SourcesHandle {
    /// A handle on `alerting`.
    pub fn new(alerting: Alerting) -> Self {
        SourcesHandle(Arc::new(RwLock::new(Arc::new(alerting))))
    }

    /// The configuration now in force.
    pub fn current(&self) -> Arc<Alerting> {
        match self.0.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Replaces it.
    pub fn replace(&self, alerting: Alerting) {
        let alerting = Arc::new(alerting);
        match self.0.write() {
            Ok(mut guard) => *guard = alerting,
            Err(poisoned) => *poisoned.into_inner() = alerting,
        }
    }
}

#[derive(Clone)]
struct Hooks {
    app: App,
    sources: SourcesHandle,
    limits: BodyLimits,
    refusals: Arc<RefusalBudget>,
}

/// Most refusals recorded in the ledger per source and minute: a flood of bad credentials must
/// not turn into a flood of database writes. The rest are logged only.
pub const REFUSALS_PER_MINUTE: u32 = 60;

/// How many refusals each source has had recorded in the current minute.
#[derive(Debug, Default)]
struct RefusalBudget(std::sync::Mutex<std::collections::HashMap<String, (i64, u32)>>);

impl RefusalBudget {
    /// Whether one more refusal of `source` may be recorded now.
    fn allows(&self, source: &str) -> bool {
        let minute = chrono::Utc::now().timestamp() / 60;
        let mut counts = match self.0.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let entry = counts.entry(source.to_owned()).or_insert((minute, 0));
        if entry.0 != minute {
            *entry = (minute, 0);
        }
        entry.1 += 1;
        entry.1 <= REFUSALS_PER_MINUTE
    }
}

/// The ingestion routes.
pub(super) fn router(app: App, sources: SourcesHandle, timeout: Duration) -> Router {
    let hooks = Hooks {
        app: app.clone(),
        sources,
        limits: BodyLimits {
            max_bytes: MAX_HOOK_BODY_BYTES,
            timeout,
        },
        refusals: Arc::new(RefusalBudget::default()),
    };
    Router::new()
        .route("/hooks/{kind}/{source}", post(hook))
        .route("/v2/enqueue", post(enqueue))
        .route("/v2/change/enqueue", post(change_enqueue))
        .with_state(hooks)
        // Every request leaves an audit record, whatever it is answered.
        .layer(axum::middleware::from_fn_with_state(app, audit::record))
}

/// `POST /hooks/{kind}/{source}`.
async fn hook(
    State(hooks): State<Hooks>,
    Path((kind, name)): Path<(String, String)>,
    request: Request,
) -> Response {
    let audit = AuditSlot::of(&request);
    let alerting = hooks.sources.current();
    let Some(kind) = url_kind(&kind) else {
        return Answer::not_found(&format!(
            "no ingestion endpoint /hooks/{kind}: use alertmanager, grafana, github or generic (PagerDuty events go to /v2/enqueue)"
        ));
    };
    let Some(source) = alerting.source(&name).filter(|s| s.kind == kind) else {
        return Answer::not_found(&format!(
            "no {} source named `{name}` is configured",
            kind.as_str()
        ));
    };
    let (parts, body) = request.into_parts();
    // Bearer sources are checked before their body is read.
    if matches!(kind, SourceKind::Alertmanager | SourceKind::Generic)
        && !bearer_ok(source, &parts.headers)
    {
        return hooks.refuse(source, "bad or missing bearer token").await;
    }
    let bytes = match hooks.read(&parts.headers, body).await {
        Ok(bytes) => bytes,
        Err(response) => return response,
    };
    audit.body(&bytes);
    if let Err(reason) = authenticate(source, &parts.headers, &bytes) {
        return hooks.refuse(source, reason).await;
    }
    audit.authenticated(&source.name);
    let envelope = Envelope {
        github_event: header_text(&parts.headers, "x-github-event"),
    };
    let parsed = match formats::parse(kind, &bytes, envelope) {
        Ok(parsed) => parsed,
        Err(err) => return hooks.invalid(source, &err).await,
    };
    let answer = hooks.apply(source, parsed, &audit).await;
    audit.applied(&answer);
    answer.into_response(None)
}

/// `POST /v2/enqueue`: PagerDuty Events v2 alert events.
async fn enqueue(State(hooks): State<Hooks>, request: Request) -> Response {
    hooks.events_v2(request, EventsV2::parse).await
}

/// `POST /v2/change/enqueue`: PagerDuty change events.
async fn change_enqueue(State(hooks): State<Hooks>, request: Request) -> Response {
    hooks.events_v2(request, EventsV2::parse_change).await
}

impl Hooks {
    async fn events_v2(
        &self,
        request: Request,
        parse: fn(&[u8]) -> Result<EventsV2, FormatError>,
    ) -> Response {
        let audit = AuditSlot::of(&request);
        let (parts, body) = request.into_parts();
        let bytes = match self.read(&parts.headers, body).await {
            Ok(bytes) => bytes,
            Err(response) => return response,
        };
        audit.body(&bytes);
        let alerting = self.sources.current();
        let source =
            routing_key_of(&bytes).and_then(|key| routing_key_source(&alerting.sources, &key));
        let Some(source) = source else {
            return Answer::unauthorized();
        };
        audit.authenticated(&source.name);
        let event = match parse(&bytes) {
            Ok(event) => event,
            Err(err) => {
                let _ = self
                    .app
                    .record_refusal(&source.name, &format!("refused: {err}"))
                    .await;
                return refused_event(&err);
            }
        };
        let answer = self.apply(source, event.parsed, &audit).await;
        audit.applied(&answer);
        answer.into_response(Some(SourceKind::EventsV2))
    }

    /// The body within the ingestion limits, or the answer that says why not.
    async fn read(&self, headers: &HeaderMap, body: Body) -> Result<Bytes, Response> {
        let declared = header_text(headers, header::CONTENT_LENGTH.as_str())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|len| len > self.limits.max_bytes as u64) {
            return Err(Answer::too_large(self.limits.max_bytes));
        }
        read_within(body, self.limits)
            .await
            .map_err(|unread| match unread {
                Unread::TooLarge => Answer::too_large(self.limits.max_bytes),
                Unread::TimedOut => Answer::timed_out(self.limits.timeout),
                Unread::Broken(reason) => {
                    Answer::bad_request("", &format!("the body could not be read: {reason}"))
                }
            })
    }

    async fn refuse(&self, source: &Source, reason: &str) -> Response {
        // The ledger says why; the sender is told nothing about which part failed.
        self.ledger_refusal(&source.name, &format!("refused: {reason}"))
            .await;
        Answer::unauthorized()
    }

    async fn invalid(&self, source: &Source, err: &FormatError) -> Response {
        self.ledger_refusal(&source.name, &format!("refused: {err}"))
            .await;
        Answer::bad_request(&err.field, &err.reason)
    }

    /// Records a refusal, within the source's budget of [`REFUSALS_PER_MINUTE`].
    async fn ledger_refusal(&self, source: &str, reason: &str) {
        if !self.refusals.allows(source) {
            tracing::debug!(
                source,
                reason,
                "refusal not recorded: over the per-minute budget"
            );
            return;
        }
        if let Err(err) = self.app.record_refusal(source, reason).await {
            tracing::warn!(error = %err, source, "could not record a refused delivery");
        }
    }

    /// Applies a delivery; its audit record (from `audit`) commits in the delivery's own
    /// transaction.
    async fn apply(&self, source: &Source, parsed: Parsed, audit: &AuditSlot) -> Answer {
        let record = audit.for_commit();
        let signal = SignalSource {
            name: &source.name,
            kind: source.kind.as_str(),
        };
        let deadline = self.app.settings().call_timeout;
        let work = async {
            match parsed {
                Parsed::Alerts(events) => self
                    .app
                    .ingest_alerts(signal, events, Some(&record))
                    .await
                    .map(Answer::Alerts),
                Parsed::Changes(changes) => self
                    .app
                    .ingest_changes(signal, changes, Some(&record))
                    .await
                    .map(Answer::Changes),
                Parsed::Ignored(reason) => Ok(Answer::Ignored(reason)),
            }
        };
        match tokio::time::timeout(deadline, work).await {
            Ok(Ok(answer)) => {
                if !matches!(answer, Answer::Ignored(_)) {
                    audit.committed();
                }
                answer
            }
            Ok(Err(err)) => Answer::Failed(err),
            Err(_elapsed) => Answer::Late(deadline),
        }
    }
}

/// The source kind a `/hooks/{kind}` path names (Events v2 has its own paths).
fn url_kind(kind: &str) -> Option<SourceKind> {
    match kind {
        "alertmanager" => Some(SourceKind::Alertmanager),
        "grafana" => Some(SourceKind::Grafana),
        "github" => Some(SourceKind::Github),
        "generic" => Some(SourceKind::Generic),
        _ => None,
    }
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn bearer_ok(source: &Source, headers: &HeaderMap) -> bool {
    header_text(headers, header::AUTHORIZATION.as_str())
        .and_then(bearer)
        .is_some_and(|secret| secret_matches(&source.secrets, secret))
}

/// Checks a read body's credentials; the reason goes to the ledger only.
fn authenticate(source: &Source, headers: &HeaderMap, body: &[u8]) -> Result<(), &'static str> {
    match source.kind {
        SourceKind::Github => match header_text(headers, "x-hub-signature-256") {
            Some(signature) if github_signature_matches(&source.secrets, body, signature) => Ok(()),
            Some(_) => Err("bad X-Hub-Signature-256"),
            None => Err("missing X-Hub-Signature-256"),
        },
        SourceKind::Grafana => grafana(source, headers, body),
        _ => Ok(()),
    }
}

/// Grafana: an HMAC signature when one is sent (over `timestamp:body` when the source names a
/// timestamp header, which must then be recent), else a bearer token.
fn grafana(source: &Source, headers: &HeaderMap, body: &[u8]) -> Result<(), &'static str> {
    let Some(signature) = header_text(headers, "x-grafana-alerting-signature") else {
        return if bearer_ok(source, headers) {
            Ok(())
        } else {
            Err("bad or missing bearer token or signature")
        };
    };
    let message = match &source.timestamp_header {
        Some(name) => {
            let stamp = header_text(headers, name).ok_or("missing signature timestamp")?;
            let seconds: i64 = stamp
                .trim()
                .parse()
                .map_err(|_| "malformed signature timestamp")?;
            let age = (chrono::Utc::now().timestamp() - seconds).unsigned_abs();
            if age > source.max_skew.as_secs() {
                return Err("signature timestamp outside the window");
            }
            [stamp.trim().as_bytes(), b":", body].concat()
        }
        None => body.to_vec(),
    };
    if signature_matches(&source.secrets, &message, signature) {
        Ok(())
    } else {
        Err("bad X-Grafana-Alerting-Signature")
    }
}
