//! Writes that are safe to retry. A write may carry the caller's idempotency key; the key is
//! claimed at the start of the write's transaction and its first answer stored before the
//! transaction commits, so:
//!
//! - a retry with the same key and the same request gets the first answer back and writes
//!   nothing (Stripe's and the IETF Idempotency-Key draft's semantics);
//! - the same key with another request is a `conflict`;
//! - concurrent retries apply once: the second waits on the key's row, then replays;
//! - a write that fails rolls its claim back, so a retry runs it again;
//! - keys are scoped by principal and expire after [`KEY_TTL`].

use chrono::{DateTime, Duration, Utc};
use sqlx::PgConnection;

use crate::app::audit::{self, AuditRecord};
use crate::app::{App, Error, Result, commit};
use crate::domain::{Actor, ValidationError, validation};
use crate::store;
use crate::store::idempotency::KeyUse;

/// How long the first answer of a keyed write is kept for retries.
pub const KEY_TTL: Duration = Duration::hours(24);

/// Renders the answer a write stores for its key (its wire view; the transport supplies it).
pub type Answer<T> = fn(&T) -> serde_json::Value;

/// A caller's idempotency key and a digest of the request it came with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    key: String,
    tool: String,
    request_digest: String,
}

impl IdempotencyKey {
    /// Checks the key (1–200 printable characters) for a request to `tool` whose canonical
    /// arguments digest to `request_digest`.
    pub fn parse(
        key: String,
        tool: &str,
        request_digest: String,
    ) -> std::result::Result<Self, ValidationError> {
        Ok(IdempotencyKey {
            key: validation::key("idempotency_key", key)?,
            tool: tool.to_owned(),
            request_digest,
        })
    }
}

/// Who writes, the key that makes a retry safe (if any), how to render the answer to keep, and
/// the call's audit record, which the write commits in its own transaction.
pub struct Write<'a, T> {
    actor: &'a Actor,
    key: Option<IdempotencyKey>,
    answer: Answer<T>,
    audit: Option<AuditSlot>,
}

/// A call's audit record, shared by the transport that made it and the write that commits it.
///
/// A write inserts the record in its transaction and marks it committed once the transaction
/// is; when the call is answered, the transport queues the record (with the call's outcome)
/// unless a write committed it. So a write that rolls back leaves no record of a write, only
/// the queued record of the refusal, with its error code.
#[derive(Clone)]
pub struct AuditSlot {
    shared: std::sync::Arc<std::sync::Mutex<SlotState>>,
    started: std::time::Instant,
}

struct SlotState {
    record: AuditRecord,
    committed: bool,
}

impl AuditSlot {
    /// A slot for `record`, a call beginning now.
    pub fn new(record: AuditRecord) -> AuditSlot {
        AuditSlot {
            shared: std::sync::Arc::new(std::sync::Mutex::new(SlotState {
                record,
                committed: false,
            })),
            started: std::time::Instant::now(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, SlotState> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The record as a successful write commits it, unless one was committed already.
    fn for_commit(&self) -> Option<AuditRecord> {
        let state = self.state();
        (!state.committed).then(|| state.record.clone().finished("ok", self.started.elapsed()))
    }

    fn mark_committed(&self) {
        self.state().committed = true;
    }

    /// Ends the call with `outcome` (`ok` or an error code): queues the record on `app`'s audit
    /// log unless a write committed it. `incident` fills in the incident when the arguments did
    /// not name one (a declaration's answer does).
    pub fn finish(&self, app: &App, outcome: &str, incident: Option<i64>) {
        let state = self.state();
        if state.committed {
            return;
        }
        let mut record = state
            .record
            .clone()
            .finished(outcome, self.started.elapsed());
        record.incident = record.incident.or(incident);
        app.audit_log().record(record);
    }
}

/// What a write answered.
#[derive(Debug, Clone)]
pub enum Written<T> {
    /// Applied now.
    Applied(T),
    /// The key was used before with this request: its first answer, as stored.
    Replayed(serde_json::Value),
}

impl<T> Written<T> {
    /// The applied value, if this was not a replay.
    pub fn applied(self) -> Option<T> {
        match self {
            Written::Applied(value) => Some(value),
            Written::Replayed(_) => None,
        }
    }
}

impl<'a, T> Write<'a, T> {
    /// A write by `actor`, remembered under `key` (rendered with `answer`) when there is one.
    pub fn new(actor: &'a Actor, key: Option<IdempotencyKey>, answer: Answer<T>) -> Self {
        Write {
            actor,
            key,
            answer,
            audit: None,
        }
    }

    /// The same write, committing `slot`'s audit record in its transaction.
    pub fn audited(mut self, slot: Option<AuditSlot>) -> Self {
        self.audit = slot;
        self
    }

    /// A write without a key (nothing is remembered).
    pub fn unkeyed(actor: &'a Actor) -> Self {
        Write {
            actor,
            key: None,
            answer: |_| serde_json::Value::Null,
            audit: None,
        }
    }

    /// Who writes.
    pub fn actor(&self) -> &'a Actor {
        self.actor
    }

    /// True when the write carries a key (and so must run in one transaction with it).
    pub(crate) fn is_keyed(&self) -> bool {
        self.key.is_some()
    }

    /// Claims the key inside the write's transaction. `Some(answer)` when the key was used
    /// before with the same request: the caller returns it and writes nothing.
    pub(crate) async fn claim(
        &self,
        conn: &mut PgConnection,
        now: DateTime<Utc>,
    ) -> Result<Option<serde_json::Value>> {
        let Some(key) = &self.key else {
            return Ok(None);
        };
        let used = KeyUse {
            principal: &self.actor.principal,
            key: &key.key,
            tool: &key.tool,
            request_digest: &key.request_digest,
        };
        if store::idempotency::claim(conn, used, now, now - KEY_TTL).await? {
            return Ok(None);
        }
        let Some(first) = store::idempotency::find(conn, used.principal, used.key).await? else {
            // Pruned between the claim and the read: the key is free again.
            store::idempotency::claim(conn, used, now, now - KEY_TTL).await?;
            return Ok(None);
        };
        if first.request_digest != key.request_digest {
            return Err(Error::Conflict(format!(
                "idempotency_key `{}` was already used at {} for a different {} request; \
                 send exactly the same arguments to retry that call, or use a new key for a new one",
                key.key,
                first
                    .created_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                first.tool,
            )));
        }
        match first.answer {
            Some(answer) => Ok(Some(answer)),
            None => Err(Error::Conflict(format!(
                "idempotency_key `{}` belongs to a call that is still being written; retry in a moment",
                key.key
            ))),
        }
    }

    /// Stores the answer for the key claimed in this transaction (nothing without a key).
    pub(crate) async fn remember(&self, conn: &mut PgConnection, value: &T) -> Result<()> {
        if let Some(key) = &self.key {
            let answer = (self.answer)(value);
            store::idempotency::remember(conn, &self.actor.principal, &key.key, &answer).await?;
        }
        Ok(())
    }
}

/// Most expired keys deleted per statement, so pruning never holds locks for long.
const PRUNE_BATCH: i64 = 1000;

impl App {
    /// Runs `work` in one transaction that first claims the write's key (answering with the
    /// first answer, and writing nothing, when the key was used before) and last stores the
    /// answer for it.
    pub(crate) async fn write_in_transaction<T>(
        &self,
        write: &Write<'_, T>,
        now: DateTime<Utc>,
        work: impl AsyncFnOnce(&mut PgConnection) -> Result<T>,
    ) -> Result<Written<T>> {
        let mut tx = self.begin().await?;
        if let Some(first) = write.claim(&mut tx, now).await? {
            return Ok(Written::Replayed(first));
        }
        let value = work(&mut tx).await?;
        write.remember(&mut tx, &value).await?;
        let audited = write.audit.as_ref().and_then(AuditSlot::for_commit);
        if let Some(mut record) = audited {
            if record.incident.is_none() {
                record.incident = audit::incident_in_answer(&(write.answer)(&value));
            }
            audit::record_in(&mut tx, &record).await?;
        }
        commit(tx).await?;
        if let Some(slot) = &write.audit {
            slot.mark_committed();
        }
        Ok(Written::Applied(value))
    }

    /// Runs `work` outside a transaction when the write carries no key (`work` must then be
    /// atomic on its own: one statement, or an optimistic write that repeats itself), and as
    /// [`App::write_in_transaction`] when it does.
    pub(crate) async fn write_autocommit_unless_keyed<T>(
        &self,
        write: &Write<'_, T>,
        now: DateTime<Utc>,
        work: impl AsyncFnOnce(&mut PgConnection) -> Result<T>,
    ) -> Result<Written<T>> {
        // An audited write needs a transaction for its record to commit with it.
        if write.is_keyed() || write.audit.is_some() {
            return self.write_in_transaction(write, now, work).await;
        }
        let mut conn = self.autocommit().await?;
        let value = work(&mut conn).await?;
        conn.commit().await?;
        Ok(Written::Applied(value))
    }

    /// Deletes the keys older than [`KEY_TTL`]; returns how many went. Safe to run on every
    /// replica at once.
    pub async fn prune_idempotency_keys(&self) -> Result<u64> {
        let before = Utc::now() - KEY_TTL;
        let mut pruned = 0;
        loop {
            // Each batch commits by itself, so its locks go with it (also behind a pooler).
            let mut conn = self.autocommit().await?;
            let done = store::idempotency::prune(&mut conn, before, PRUNE_BATCH).await?;
            conn.commit().await?;
            pruned += done;
            if done < PRUNE_BATCH as u64 {
                return Ok(pruned);
            }
        }
    }
}
