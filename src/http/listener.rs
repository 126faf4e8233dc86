//! Accepting connections with limits, before any authentication:
//!
//! - at most `max_connections` at once. When they are all taken, the connection idle the
//!   longest (no request in progress: a kept-alive client, or one still sending its request
//!   head, such as a slowloris) is closed to make room; when none is idle, the newcomer gets one
//!   of [`HEALTH_RESERVE`] extra slots that serve `/healthz` only (a load balancer's probe still
//!   gets its answer), and beyond those it is closed at once, so descriptors never run out;
//! - a connection must deliver a complete request head within `header_timeout` of opening or of
//!   its previous response, so idle keep-alive connections close after that long too (hyper
//!   runs one timer for both); reading the body is bounded in `body`;
//! - TCP_NODELAY on every connection (small responses would otherwise wait ~40 ms for delayed
//!   ACKs).

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, Response, StatusCode, header};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// Extra connections, beyond `max_connections`, that may only ask for `/healthz`.
pub const HEALTH_RESERVE: usize = 16;
/// How long a health-only connection may take to send its request head.
const HEALTH_HEADER_TIMEOUT: Duration = Duration::from_secs(2);

/// The limits on connections.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Connections served at once (beyond them, the health-only reserve).
    pub max_connections: usize,
    /// Time allowed for a request head, from the connection's start or its previous response.
    pub header_timeout: Duration,
}

/// Serves `router` on `listener` within `limits` until `shutdown` fires, then stops accepting
/// and drains: requests in flight and those arriving on open connections are answered (with
/// `Connection: close`), and idle connections are left until their client closes them or
/// the header timeout does.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: CancellationToken,
) {
    let slots = Slots::new(limits.max_connections);
    let tracker = TaskTracker::new();
    let serve_one = |tcp: TcpStream, peer: SocketAddr| {
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::warn!(error = %err, "could not set TCP_NODELAY");
        }
        let Some(slot) = slots.admit() else {
            tracing::warn!("connection refused: every slot, health reserve included, is busy");
            return; // dropping the stream closes it
        };
        let header_timeout = match slot.kind {
            Kind::Regular => limits.header_timeout,
            Kind::HealthOnly => HEALTH_HEADER_TIMEOUT.min(limits.header_timeout),
        };
        tracker.spawn(connection(
            tcp,
            peer,
            router.clone(),
            slot,
            header_timeout,
            shutdown.clone(),
        ));
    };
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let (tcp, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(err) => {
                // Out of descriptors (EMFILE) or a connection reset before accept: wait a
                // moment rather than spin.
                tracing::warn!(error = %err, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        serve_one(tcp, peer);
    }
    // Stop accepting at once, so a load balancer's connects are refused (which it may retry
    // on another replica: nothing was sent) rather than queued on a listener nobody reads.
    // Connections the kernel already completed would be reset by the close, with a request
    // perhaps already sent on them: take those first, and serve them like the others.
    match listener.into_std() {
        Ok(listener) => {
            while let Ok((tcp, peer)) = listener.accept() {
                match TcpStream::from_std(tcp) {
                    Ok(tcp) => serve_one(tcp, peer),
                    Err(err) => tracing::warn!(error = %err, "could not serve a queued connection"),
                }
            }
        }
        Err(err) => tracing::warn!(error = %err, "could not take the queued connections"),
    }
    tracker.close();
    tracker.wait().await;
}

/// Serves one connection until it closes, is evicted, or the server shuts down.
async fn connection(
    tcp: TcpStream,
    peer: SocketAddr,
    router: Router,
    slot: Slot,
    header_timeout: Duration,
    shutdown: CancellationToken,
) {
    let evicted = slot.evicted.clone();
    let slot = Arc::new(slot);
    let service = {
        let (slot, shutdown) = (slot.clone(), shutdown.clone());
        hyper::service::service_fn(move |request: Request<Incoming>| {
            let (router, slot, shutdown) = (router.clone(), slot.clone(), shutdown.clone());
            async move {
                let mut response = respond(router, &slot, peer, request).await;
                // Shutting down: this connection's last answer, so the client opens its next
                // request elsewhere instead of sending it on a connection about to close.
                if shutdown.is_cancelled() {
                    response.headers_mut().insert(
                        header::CONNECTION,
                        header::HeaderValue::from_static("close"),
                    );
                }
                Ok::<_, Infallible>(response)
            }
        })
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .keep_alive(true);
    let served = builder.serve_connection(TokioIo::new(tcp), service);
    tokio::pin!(served);
    let outcome = tokio::select! {
        outcome = served.as_mut() => outcome,
        () = evicted.notified() => {
            served.as_mut().graceful_shutdown();
            served.await
        }
        // Not `graceful_shutdown`, which would close idle keep-alive connections at once:
        // HTTP/1.1 cannot close an idle connection safely from the server's side, since the
        // client may be sending a request on it at that moment (it then sees a reset, and a
        // load balancer cannot retry a POST that was sent). So, shutting down, a connection
        // answers what arrives with `Connection: close` (above) and an idle one is left to
        // the client, which closes it after its own keep-alive timeout (nginx's should be
        // below `header_timeout`), or to the header timeout, which bounds the wait.
        () = shutdown.cancelled() => served.await,
    };
    if let Err(err) = outcome
        && !err.is_incomplete_message()
    {
        tracing::debug!(error = %err, "connection ended");
    }
}

/// Answers one request, counting it as in progress on its connection while it runs. The peer's
/// address goes along as axum's `ConnectInfo` (the status page's rate limit is per client).
async fn respond(
    router: Router,
    slot: &Slot,
    peer: SocketAddr,
    mut request: Request<Incoming>,
) -> Response<Body> {
    if slot.kind == Kind::HealthOnly && request.uri().path() != "/healthz" {
        let mut response = Response::new(Body::from(
            "{\"error\":\"too_many_connections\",\"message\":\"every connection slot is busy; retry shortly\"}",
        ));
        *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
        let headers = response.headers_mut();
        headers.insert(
            header::CONNECTION,
            header::HeaderValue::from_static("close"),
        );
        headers.insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        headers.insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/json"),
        );
        return response;
    }
    let _busy = slot.busy();
    request.extensions_mut().insert(ConnectInfo(peer));
    match router.oneshot(request.map(Body::new)).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// Whether a connection is one of the regular ones or from the health reserve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Regular,
    HealthOnly,
}

/// The connections being served, to cap them and pick one to evict.
#[derive(Clone)]
struct Slots {
    inner: Arc<Mutex<SlotTable>>,
}

struct SlotTable {
    max: usize,
    next_id: u64,
    regular: HashMap<u64, SlotState>,
    health_only: usize,
}

struct SlotState {
    /// Since when it has had no request in progress (its opening, or its last response).
    idle_since: Instant,
    in_progress: usize,
    evict: Arc<Notify>,
}

/// One admitted connection; dropping it frees the slot.
struct Slot {
    id: u64,
    kind: Kind,
    evicted: Arc<Notify>,
    slots: Slots,
}

impl Slots {
    fn new(max: usize) -> Slots {
        Slots {
            inner: Arc::new(Mutex::new(SlotTable {
                max: max.max(1),
                next_id: 0,
                regular: HashMap::new(),
                health_only: 0,
            })),
        }
    }

    /// A slot for a new connection: a free one, the longest-idle one (whose connection is told
    /// to close), one from the health reserve, or none.
    fn admit(&self) -> Option<Slot> {
        let mut table = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        table.next_id += 1;
        let id = table.next_id;
        let evict = Arc::new(Notify::new());
        if table.regular.len() >= table.max {
            let idlest = table
                .regular
                .iter()
                .filter(|(_, state)| state.in_progress == 0)
                .min_by_key(|(_, state)| state.idle_since)
                .map(|(id, _)| *id);
            match idlest {
                Some(idle) => {
                    if let Some(state) = table.regular.remove(&idle) {
                        // notify_one stores a permit, so a connection not yet waiting sees it.
                        state.evict.notify_one();
                    }
                }
                None if table.health_only < HEALTH_RESERVE => {
                    table.health_only += 1;
                    return Some(Slot {
                        id,
                        kind: Kind::HealthOnly,
                        evicted: evict,
                        slots: self.clone(),
                    });
                }
                None => return None,
            }
        }
        table.regular.insert(
            id,
            SlotState {
                idle_since: Instant::now(),
                in_progress: 0,
                evict: evict.clone(),
            },
        );
        Some(Slot {
            id,
            kind: Kind::Regular,
            evicted: evict,
            slots: self.clone(),
        })
    }

    fn update(&self, id: u64, change: impl FnOnce(&mut SlotState)) {
        let mut table = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(state) = table.regular.get_mut(&id) {
            change(state);
        }
    }
}

impl Slot {
    /// Marks a request in progress until the guard drops.
    fn busy(&self) -> Busy<'_> {
        self.slots.update(self.id, |state| state.in_progress += 1);
        Busy(self)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut table = self.slots.inner.lock().unwrap_or_else(|e| e.into_inner());
        match self.kind {
            Kind::Regular => {
                table.regular.remove(&self.id);
            }
            Kind::HealthOnly => table.health_only = table.health_only.saturating_sub(1),
        }
    }
}

/// A request in progress on a connection.
struct Busy<'a>(&'a Slot);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.slots.update(self.0.id, |state| {
            state.in_progress = state.in_progress.saturating_sub(1);
            state.idle_since = Instant::now();
        });
    }
}

/// Raises this process's soft limit on open files to its hard limit (servers need one
/// descriptor per connection) and returns the soft limit in force.
pub fn raise_open_files_limit() -> Option<u64> {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
    if soft < hard {
        match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
            Ok(()) => return Some(hard),
            Err(err) => {
                tracing::warn!(error = %err, soft, hard, "could not raise the open-files limit");
            }
        }
    }
    Some(soft)
}
