//! `resources/subscribe` for the incident resources: each session keeps the URIs it subscribed
//! to, and one task per session turns the process's [`LiveUpdates`] into
//! `notifications/resources/updated` for the URIs whose incident changed (through any
//! replica). Only transports that keep a session can deliver them: stdio, and HTTP with
//! `--http-sessions`; elsewhere subscribing is refused and the capability not advertised, as
//! it is behind a transaction pooler without a direct URL (nothing can `LISTEN` there).
//!
//! A session's memory is bounded: URIs longer than [`MAX_URI_BYTES`] are refused, a session
//! holds at most [`MAX_SUBSCRIPTIONS`], and each is keyed by what it names (the resource kind
//! and the incident's number), so `incident://INC-1`, `incident://1/` and the UUID form are
//! one subscription. Subscribing again in another spelling replaces the spelling
//! notifications echo: a client hears the URI it subscribed with last.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use rmcp::model::{ErrorCode, ResourceUpdatedNotificationParam};
use rmcp::service::{Peer, RequestContext};
use rmcp::{ErrorData, RoleServer};
use serde_json::json;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::AbortHandle;
use tokio_util::sync::CancellationToken;

use crate::app::live::Change;
use crate::domain::{IncidentRef, Scope};
use crate::mcp::{FirebreakServer, deadline, resources, tool_error};

/// The longest URI a subscription accepts. Incident URIs are far shorter (a UUID one is 58
/// bytes); without a limit each could hold a request body's worth of memory.
pub(crate) const MAX_URI_BYTES: usize = 512;
/// The most subscriptions one session holds: far more incidents than anyone watches at once,
/// and a bound on what a session can make the server keep.
pub(crate) const MAX_SUBSCRIPTIONS: usize = 256;

/// What can be subscribed to, for the error that refuses anything else.
const SUBSCRIBABLE: &str = "incident://INC-42 (also incident://42 or incident://<uuid>), \
incident://INC-42/timeline, incident://INC-42/alerts and postmortem://INC-42";

/// One session's subscriptions. Clones share them; a new session starts with
/// [`Session::default`].
#[derive(Clone, Default)]
pub(crate) struct Session(Arc<SessionState>);

#[derive(Default)]
struct SessionState {
    inner: Mutex<Inner>,
}

/// Which resource a subscription names, whatever the spelling of its URI.
type Key = (Kind, i64);

/// The kinds of per-incident resource (as `resources::incident_of` accepts them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Brief,
    Timeline,
    Alerts,
    Postmortem,
}

impl Kind {
    /// The kind of a URI `resources::incident_of` accepted; the same tests in the same order.
    fn of(uri: &str) -> Kind {
        let (scheme, rest) = uri.split_once("://").unwrap_or((uri, ""));
        let rest = rest.trim_end_matches('/');
        if scheme == "postmortem" {
            Kind::Postmortem
        } else if rest.ends_with("/timeline") {
            Kind::Timeline
        } else if rest.ends_with("/alerts") {
            Kind::Alerts
        } else {
            Kind::Brief
        }
    }
}

#[derive(Default)]
struct Inner {
    /// Each subscribed resource, with the URI the client last wrote for it (notifications echo
    /// it).
    uris: HashMap<Key, String>,
    /// The task forwarding changes, started by the first subscription.
    forwarder: Option<AbortHandle>,
}

impl Drop for SessionState {
    fn drop(&mut self) {
        // The session is over: nobody is left to notify.
        let inner = self.inner.get_mut().unwrap_or_else(PoisonError::into_inner);
        if let Some(forwarder) = inner.forwarder.take() {
            forwarder.abort();
        }
    }
}

impl SessionState {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The subscribed URIs `change` concerns.
    fn affected(&self, change: &Change) -> Vec<String> {
        let mut uris: Vec<String> = self
            .lock()
            .uris
            .iter()
            .filter(|((_, number), _)| change.touches(*number))
            .map(|(_, uri)| uri.clone())
            .collect();
        uris.sort();
        uris
    }
}

impl FirebreakServer {
    /// Subscribes this session to `uri`: an incident resource of an incident that exists, for
    /// a credential that may read it.
    pub(crate) async fn subscribe_checked(
        &self,
        uri: &str,
        context: &RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        // Before anything echoes the URI back.
        if uri.len() > MAX_URI_BYTES {
            return Err(ErrorData::invalid_params(
                format!(
                    "cannot subscribe: the URI is {} bytes, longer than the {MAX_URI_BYTES} \
                     bytes allowed; Firebreak sends updates for {SUBSCRIBABLE}",
                    uri.len()
                ),
                Some(json!({ "max_uri_bytes": MAX_URI_BYTES })),
            ));
        }
        self.require(
            context,
            Scope::IncidentsRead,
            &format!("subscription to `{uri}`"),
        )
        .map_err(|refused| tool_error::protocol_error(&refused))?;
        let Some(live) = &self.live else {
            return Err(ErrorData::new(
                ErrorCode::METHOD_NOT_FOUND,
                "resources/subscribe needs a session to deliver updates on: this server runs \
                 stateless HTTP. Start it with --http-sessions (FIREBREAK_HTTP_SESSIONS=true) or \
                 use stdio; otherwise read the resource again when needed",
                None,
            ));
        };
        if !self.app.can_listen() {
            return Err(ErrorData::new(
                ErrorCode::METHOD_NOT_FOUND,
                "resources/subscribe is off: this server reaches PostgreSQL through a \
                 transaction pooler (FIREBREAK_DB_POOLER=transaction), where LISTEN cannot \
                 work, and has no direct URL. Set FIREBREAK_DIRECT_DATABASE_URL \
                 (--direct-database-url) to a URL straight to PostgreSQL; otherwise read the \
                 resource again when needed",
                None,
            ));
        }
        let reference = resources::incident_of(uri).ok_or_else(|| {
            ErrorData::invalid_params(
                format!("cannot subscribe to `{uri}`: Firebreak sends updates for {SUBSCRIBABLE}"),
                Some(json!({ "uri": uri, "accepted": SUBSCRIBABLE })),
            )
        })?;
        let limit = self.app.settings().call_timeout;
        let number = deadline::within(limit, self.app.incident_number(reference))
            .await
            .ok_or_else(|| deadline::protocol_error(&format!("subscription to {uri}"), limit))?
            .map_err(|err| match err.code() {
                "not_found" => ErrorData::resource_not_found(
                    format!("cannot subscribe to `{uri}`: {err}"),
                    Some(json!({ "uri": uri })),
                ),
                _ => tool_error::protocol_error(&err),
            })?;
        let key = (Kind::of(uri), number);
        let mut inner = self.session.0.lock();
        if !inner.uris.contains_key(&key) && inner.uris.len() >= MAX_SUBSCRIPTIONS {
            return Err(ErrorData::invalid_params(
                format!(
                    "cannot subscribe to `{uri}`: this session already holds \
                     {MAX_SUBSCRIPTIONS} subscriptions, the most allowed; unsubscribe from one \
                     first (resources/unsubscribe)"
                ),
                Some(json!({ "uri": uri, "max_subscriptions": MAX_SUBSCRIPTIONS })),
            ));
        }
        inner.uris.insert(key, uri.to_owned());
        if inner.forwarder.is_none() {
            // Receiving from now on, before the task runs: nothing committed after this
            // subscription was accepted can be missed.
            let task = forward(
                Arc::downgrade(&self.session.0),
                live.subscribe(),
                live.stopped(),
                context.peer.clone(),
            );
            inner.forwarder = Some(tokio::spawn(task).abort_handle());
        }
        tracing::debug!(uri, incident = number, "subscribed");
        Ok(())
    }

    /// Ends this session's subscription to the resource `uri` names, in whichever spelling it
    /// was subscribed (nothing happens if there was none).
    pub(crate) async fn unsubscribe_uri(&self, uri: &str) {
        if uri.len() > MAX_URI_BYTES {
            return; // never subscribed
        }
        let number = match resources::incident_of(uri) {
            Some(IncidentRef::Number(number)) => Some(number),
            // By UUID: the key is the number, found as subscribing found it.
            Some(reference) => {
                let limit = self.app.settings().call_timeout;
                deadline::within(limit, self.app.incident_number(reference))
                    .await
                    .and_then(Result::ok)
            }
            None => None,
        };
        let mut inner = self.session.0.lock();
        if let Some(number) = number {
            inner.uris.remove(&(Kind::of(uri), number));
        }
        // Should the lookup fail, the spelling itself still ends its subscription.
        inner.uris.retain(|_, subscribed| subscribed != uri);
    }
}

/// Sends `notifications/resources/updated` for the session's URIs each change concerns, until
/// the session ends, the client is gone or the process shuts down.
async fn forward(
    session: Weak<SessionState>,
    mut changes: broadcast::Receiver<Change>,
    stopped: CancellationToken,
    peer: Peer<RoleServer>,
) {
    loop {
        let change = tokio::select! {
            () = stopped.cancelled() => return,
            received = changes.recv() => match received {
                Ok(change) => change,
                // Fell behind: what was skipped is unknown, so everything may have changed.
                Err(RecvError::Lagged(_)) => Change::Everything,
                Err(RecvError::Closed) => return,
            },
        };
        let Some(state) = session.upgrade() else {
            return;
        };
        let uris = state.affected(&change);
        drop(state);
        for uri in uris {
            let update = ResourceUpdatedNotificationParam::new(uri);
            if peer.notify_resource_updated(update).await.is_err() {
                return; // the transport is closed
            }
        }
    }
}
