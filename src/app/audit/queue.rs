//! The batched writer of audit records for reads and refusals, so a read costs no database
//! round trip of its own.
//!
//! [`AuditLog::record`] never blocks: it puts the record on a bounded queue
//! ([`QUEUE_CAPACITY`]) and, when the queue is full, drops it, counts it, and the writer logs
//! how many went (`tracing::warn`). A background task writes what is queued with one
//! multi-row insert every [`FLUSH_INTERVAL`] or [`BATCH_SIZE`] records, whichever comes first.
//! While the database is unavailable it keeps the records (up to [`QUEUE_CAPACITY`]) and tries
//! again every second; a batch the database refuses for another reason is dropped and logged.
//!
//! What a crash can lose: a process killed outright (SIGKILL, OOM, power loss) loses the
//! records still queued, normally those of the last [`FLUSH_INTERVAL`] (200 ms), more while
//! the database was unreachable. Batches commit without waiting for the WAL flush
//! (`synchronous_commit = off`), so a crash of the PostgreSQL server itself may also lose the
//! batches of its last ~0.6 s (three `wal_writer_delay`s). A clean shutdown loses nothing:
//! [`AuditLog::close`] drains the queue. Writes never go through here: their records commit
//! with them.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::postgres::PgPool;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::app::audit::AuditRecord;
use crate::store;
use crate::store::audit::NewAudit;
use crate::store::pooler::Pooling;

/// Most records waiting to be written; more are dropped (and counted).
pub const QUEUE_CAPACITY: usize = 8192;
/// Longest a record waits in the queue while the database answers.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(200);
/// Most records written by one statement; a full batch is written at once.
pub const BATCH_SIZE: usize = 256;
/// How long the writer waits before trying an unavailable database again.
const RETRY_INTERVAL: Duration = Duration::from_secs(1);

/// The audit queue for reads and refusals. Cheap to clone; every clone feeds the same writer,
/// which starts with the first record (inside the Tokio runtime) and ends when the last clone
/// is dropped, after writing what is left.
#[derive(Clone)]
pub struct AuditLog {
    shared: Arc<Shared>,
}

struct Shared {
    records: mpsc::Sender<AuditRecord>,
    flushes: mpsc::UnboundedSender<oneshot::Sender<()>>,
    /// The writer until it is started (on the first use inside a runtime).
    idle: Mutex<Option<Writer>>,
    is_started: AtomicBool,
    dropped: Arc<AtomicU64>,
}

impl AuditLog {
    /// A queue writing to `pool` (its transactions started as `pooling` says); its writer
    /// starts on first use.
    pub fn new(pool: PgPool, pooling: Pooling) -> AuditLog {
        let (records, records_rx) = mpsc::channel(QUEUE_CAPACITY);
        let (flushes, flushes_rx) = mpsc::unbounded_channel();
        let dropped = Arc::new(AtomicU64::new(0));
        let writer = Writer {
            pool,
            pooling,
            records: records_rx,
            flushes: flushes_rx,
            dropped: Arc::clone(&dropped),
            reported: 0,
        };
        AuditLog {
            shared: Arc::new(Shared {
                records,
                flushes,
                idle: Mutex::new(Some(writer)),
                is_started: AtomicBool::new(false),
                dropped,
            }),
        }
    }

    /// Queues `record` for the next batch. Never waits: when the queue is full the record is
    /// dropped and counted ([`AuditLog::dropped`]).
    pub fn record(&self, record: AuditRecord) {
        self.start();
        match self.shared.records.try_send(record) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Closed(_)) => {
                self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Writes everything queued before this call; returns once it is written (or the writer
    /// gave up on it, which it logs).
    pub async fn flush(&self) {
        self.start();
        let (done, written) = oneshot::channel();
        if self.shared.flushes.send(done).is_ok() {
            let _ = written.await;
        }
    }

    /// Drains the queue at shutdown (as [`AuditLog::flush`]) and lets go of this handle.
    pub async fn close(self) {
        self.flush().await;
    }

    /// How many records were dropped because the queue was full, since the start.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// Starts the writer on the current runtime, once; outside a runtime records wait.
    fn start(&self) {
        if self.shared.is_started.load(Ordering::Acquire) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let mut idle = match self.shared.idle.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(writer) = idle.take() {
            runtime.spawn(writer.run());
            self.shared.is_started.store(true, Ordering::Release);
        }
    }
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("queued", &(QUEUE_CAPACITY - self.shared.records.capacity()))
            .field("dropped", &self.dropped())
            .finish()
    }
}

/// The background task: owns the receiving ends, so it ends when every [`AuditLog`] is gone.
struct Writer {
    pool: PgPool,
    pooling: Pooling,
    records: mpsc::Receiver<AuditRecord>,
    flushes: mpsc::UnboundedReceiver<oneshot::Sender<()>>,
    dropped: Arc<AtomicU64>,
    /// Drops already logged.
    reported: u64,
}

impl Writer {
    async fn run(mut self) {
        let mut pending: Vec<AuditRecord> = Vec::with_capacity(BATCH_SIZE);
        // When the oldest pending record must be written.
        let mut due: Option<Instant> = None;
        // True after the database was unavailable, until `due`: a full batch then waits too.
        let mut is_backing_off = false;
        loop {
            let room = BATCH_SIZE.saturating_sub(pending.len()).max(1);
            tokio::select! {
                received = self.records.recv_many(&mut pending, room) => {
                    if received == 0 {
                        // Every handle is gone: write what is left and stop.
                        self.write(&mut pending).await;
                        if !pending.is_empty() {
                            tracing::warn!(lost = pending.len(), "audit records could not be written before shutdown");
                        }
                        return;
                    }
                    if pending.len() >= BATCH_SIZE && !is_backing_off {
                        due = self.write(&mut pending).await;
                        is_backing_off = due.is_some();
                    } else if due.is_none() {
                        due = Some(Instant::now() + FLUSH_INTERVAL);
                    }
                }
                Some(done) = self.flushes.recv() => {
                    while let Ok(record) = self.records.try_recv() {
                        pending.push(record);
                    }
                    due = self.write(&mut pending).await;
                    is_backing_off = due.is_some();
                    let _ = done.send(());
                }
                () = sleep_until(due), if due.is_some() => {
                    due = self.write(&mut pending).await;
                    is_backing_off = due.is_some();
                }
            }
        }
    }

    /// Writes `pending` a batch at a time, removing what was written (or refused); returns when
    /// to try again if the database was unavailable.
    async fn write(&mut self, pending: &mut Vec<AuditRecord>) -> Option<Instant> {
        self.report_drops();
        while !pending.is_empty() {
            let n = pending.len().min(BATCH_SIZE);
            match insert(&self.pool, &self.pooling, &pending[..n]).await {
                Ok(()) => {
                    pending.drain(..n);
                }
                Err(err) if err.is_unavailable() => {
                    if pending.len() > QUEUE_CAPACITY {
                        let excess = pending.len() - QUEUE_CAPACITY;
                        pending.drain(..excess);
                        self.dropped.fetch_add(excess as u64, Ordering::Relaxed);
                    }
                    tracing::warn!(error = %err, pending = pending.len(), "audit records not written yet: the database is unavailable");
                    return Some(Instant::now() + RETRY_INTERVAL);
                }
                Err(err) => {
                    tracing::error!(error = %err, lost = n, "the database refused a batch of audit records");
                    pending.drain(..n);
                }
            }
        }
        None
    }

    fn report_drops(&mut self) {
        let dropped = self.dropped.load(Ordering::Relaxed);
        if dropped > self.reported {
            tracing::warn!(
                dropped = dropped - self.reported,
                total = dropped,
                "audit records dropped: the queue was full"
            );
            self.reported = dropped;
        }
    }
}

async fn insert(pool: &PgPool, pooling: &Pooling, records: &[AuditRecord]) -> store::Result<()> {
    let rows: Vec<NewAudit<'_>> = records.iter().map(AuditRecord::row).collect();
    // A batch may be lost to a crash anyway (what is queued is in memory), so its commit does
    // not wait for the WAL to reach the disk: no fsync per batch competing with the writes'.
    let mut tx = pooling.begin(pool).await?;
    store::outbox::relax_durability(&mut tx).await?;
    store::audit::insert_many(&mut tx, &rows).await?;
    tx.commit().await?;
    Ok(())
}

async fn sleep_until(due: Option<Instant>) {
    if let Some(due) = due {
        tokio::time::sleep_until(due).await;
    }
}
