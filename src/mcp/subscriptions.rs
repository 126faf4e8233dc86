//! `resources/subscribe` for the incident resources: each session keeps the URIs it subscribed
//! to, and one task per session turns the process's [`LiveUpdates`] into
//! `notifications/resources/updated` for the URIs whose incident changed (through any
//! replica). Only transports that keep a session can deliver them: stdio, and HTTP with
//! `--http-sessions`; elsewhere subscribing is refused and the capability not advertised.

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
use crate::domain::Scope;
use crate::mcp::{FirebreakServer, deadline, resources, tool_error};

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

#[derive(Default)]
struct Inner {
    /// Each subscribed URI, as the client wrote it (notifications echo it), with the number
    /// of its incident.
    uris: HashMap<String, i64>,
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
            .filter(|(_, number)| change.touches(**number))
            .map(|(uri, _)| uri.clone())
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
        let mut inner = self.session.0.lock();
        inner.uris.insert(uri.to_owned(), number);
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

    /// Ends this session's subscription to `uri` (nothing happens if there was none).
    pub(crate) fn unsubscribe_uri(&self, uri: &str) {
        self.session.0.lock().uris.remove(uri);
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
