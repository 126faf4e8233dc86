//! Every serving process's copy of the live tokens, so accepting one costs a hash and a map
//! lookup, never a database round trip. A background task reloads the copy when the `api_token`
//! trigger notifies (`LISTEN firebreak_tokens`), and every [`RELOAD_INTERVAL`] in case a notice
//! is lost or the listener is reconnecting: a revocation reaches every replica within about a
//! second. Uses are counted in memory and written every [`FLUSH_INTERVAL`], one statement each.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::postgres::PgListener;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{SECRET_PREFIX, digest};
use crate::app::{App, Result};
use crate::domain::{AuthMethod, Grant, Scopes};
use crate::store::{self, tokens::LiveToken};

/// How often the copy is reloaded even without a notice.
pub const RELOAD_INTERVAL: Duration = Duration::from_secs(1);
/// How often recorded uses are written to `last_used_at`.
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(30);
/// How long the last write of uses may take at shutdown.
const FINAL_FLUSH_TIMEOUT: Duration = Duration::from_secs(2);

/// The live tokens, by the digest of each secret they accept. Cheap to clone; clones share it.
#[derive(Clone, Default)]
pub struct TokenRegistry {
    inner: Arc<RwLock<Snapshot>>,
    /// Set once any token has existed (revoked and expired ones count), and never cleared: a
    /// server that once required credentials never falls back to anonymous access because its
    /// last token was revoked or expired.
    made: Arc<AtomicBool>,
    /// The background task, to wait for its last write of uses at shutdown.
    task: Arc<std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>>,
}

/// One load of the live tokens.
#[derive(Default)]
struct Snapshot {
    /// Each accepted secret's digest: a token's current one and, while it rotates, its
    /// previous one.
    by_digest: HashMap<[u8; 32], Entry>,
    /// The newest use of each token not yet written, in Unix milliseconds (0: none), by id.
    /// Kept across reloads, so no use is lost to one.
    uses: HashMap<i64, Arc<AtomicI64>>,
}

/// What one digest grants.
struct Entry {
    name: String,
    scopes: Scopes,
    expires_at: Option<DateTime<Utc>>,
    /// The end of a rotation's grace, for a previous secret's digest.
    valid_until: Option<DateTime<Utc>>,
    last_used: Arc<AtomicI64>,
}

impl std::fmt::Debug for TokenRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the digests or names: only how many.
        f.debug_struct("TokenRegistry")
            .field("tokens", &self.len())
            .finish()
    }
}

impl TokenRegistry {
    /// Loads the live tokens, then keeps them current in a background task until `shutdown`
    /// (writing the uses recorded meanwhile before it ends).
    pub async fn start(app: &App, shutdown: CancellationToken) -> Result<TokenRegistry> {
        // Listening first: a change made during the load then wakes the task.
        let listener = listen(app).await.ok();
        let registry = TokenRegistry::default();
        let mut retired = HashMap::new();
        registry.reload(app, &mut retired).await?;
        let task = registry.clone();
        let handle = tokio::spawn(task.maintain(app.clone(), listener, shutdown));
        *registry.task.lock().unwrap_or_else(PoisonError::into_inner) = Some(handle);
        Ok(registry)
    }

    /// Waits until the background task has ended (after `shutdown`), its last uses written.
    pub async fn finished(&self) {
        let handle = self
            .task
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(handle) = handle {
            let _ = handle.await;
        }
    }

    /// The grant for a bearer `secret`, if a live token has it and it is valid at `now`:
    /// not expired and, for a rotated-out secret, within its grace. Records the use.
    pub fn grant_for(&self, secret: &str, now: DateTime<Utc>) -> Option<Grant> {
        if !secret.starts_with(SECRET_PREFIX) {
            return None;
        }
        // No constant-time comparison is needed: the lookup compares SHA-256 digests, not
        // secrets, and what its timing could reveal (how much of a digest matched) does not
        // help anyone find a preimage of a 256-bit random secret.
        let digest = digest(secret);
        let snapshot = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        let entry = snapshot.by_digest.get(&digest)?;
        let valid = |end: Option<DateTime<Utc>>| end.is_none_or(|end| now < end);
        if !valid(entry.expires_at) || !valid(entry.valid_until) {
            return None;
        }
        entry
            .last_used
            .fetch_max(now.timestamp_millis(), Ordering::Relaxed);
        Some(Grant {
            principal: entry.name.clone(),
            scopes: entry.scopes,
            method: AuthMethod::DatabaseToken,
        })
    }

    /// How many live tokens were loaded.
    pub fn len(&self) -> usize {
        self.inner
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .uses
            .len()
    }

    /// True when no live token was loaded (so only other credentials can be accepted).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True once any token has been made in this database, live or not: requests must then
    /// carry a credential.
    pub fn requires_credentials(&self) -> bool {
        self.made.load(Ordering::Relaxed)
    }

    /// Reloads the copy from the database; the uses of tokens no longer live move to `retired`.
    async fn reload(&self, app: &App, retired: &mut HashMap<i64, i64>) -> Result<()> {
        let mut conn = app.autocommit().await?;
        let tokens = store::tokens::live(&mut conn, Utc::now()).await?;
        if !tokens.is_empty()
            || (!self.requires_credentials() && store::tokens::any_made(&mut conn).await?)
        {
            self.made.store(true, Ordering::Relaxed);
        }
        drop(conn);
        for (id, at) in self.replace(tokens) {
            let kept = retired.entry(id).or_default();
            *kept = (*kept).max(at);
        }
        Ok(())
    }

    /// Puts `tokens` in place of the copy; returns the unwritten uses of the tokens dropped.
    fn replace(&self, tokens: Vec<LiveToken>) -> Vec<(i64, i64)> {
        let mut snapshot = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        let mut uses = std::mem::take(&mut snapshot.uses);
        let mut next = Snapshot::default();
        for token in tokens {
            let last_used = uses.remove(&token.id).unwrap_or_default();
            let entry = |valid_until| Entry {
                name: token.name.clone(),
                scopes: token.scopes,
                expires_at: token.expires_at,
                valid_until,
                last_used: last_used.clone(),
            };
            if let Some((previous, until)) = token.previous {
                next.by_digest.insert(previous, entry(Some(until)));
            }
            next.by_digest.insert(token.secret_digest, entry(None));
            next.uses.insert(token.id, last_used);
        }
        *snapshot = next;
        drop(snapshot);
        uses.into_iter()
            .map(|(id, used)| (id, used.swap(0, Ordering::Relaxed)))
            .filter(|(_, at)| *at != 0)
            .collect()
    }

    /// Moves the uses recorded since the last call into `pending` (newest per token).
    fn take_uses(&self, pending: &mut HashMap<i64, i64>) {
        let snapshot = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        for (id, used) in &snapshot.uses {
            let at = used.swap(0, Ordering::Relaxed);
            if at != 0 {
                let kept = pending.entry(*id).or_default();
                *kept = (*kept).max(at);
            }
        }
    }

    /// Writes the pending uses in one statement; on failure they stay pending for next time.
    async fn flush(&self, app: &App, pending: &mut HashMap<i64, i64>) {
        self.take_uses(pending);
        if pending.is_empty() {
            return;
        }
        let (ids, times): (Vec<i64>, Vec<DateTime<Utc>>) = pending
            .iter()
            .filter_map(|(id, at)| Some((*id, DateTime::from_timestamp_millis(*at)?)))
            .unzip();
        let written = async {
            let mut conn = app.autocommit().await?;
            store::tokens::touch(&mut conn, &ids, &times).await?;
            conn.commit().await?;
            Result::Ok(())
        };
        match written.await {
            Ok(()) => pending.clear(),
            Err(err) => tracing::warn!(error = %err, "could not record when tokens were used"),
        }
    }

    /// Reloads on every notice and every [`RELOAD_INTERVAL`], and writes uses every
    /// [`FLUSH_INTERVAL`], until `shutdown`.
    async fn maintain(
        self,
        app: App,
        mut listener: Option<PgListener>,
        shutdown: CancellationToken,
    ) {
        let mut pending = HashMap::new();
        let mut flush_at = Instant::now() + FLUSH_INTERVAL;
        let mut failing = false;
        loop {
            let woken = tokio::select! {
                () = shutdown.cancelled() => break,
                woken = wait_for_change(&mut listener, RELOAD_INTERVAL) => woken,
            };
            if woken == Wake::Broken {
                // Poll meanwhile; try again every round until listening works.
                listener = listen(&app).await.ok();
            }
            match self.reload(&app, &mut pending).await {
                Ok(()) if failing => {
                    failing = false;
                    tracing::info!(tokens = self.len(), "API tokens reloaded again");
                }
                Ok(()) => {}
                // Once per outage: the tokens loaded before are still accepted meanwhile.
                Err(err) if !failing => {
                    failing = true;
                    tracing::warn!(error = %err, "cannot reload API tokens; keeping those loaded");
                }
                Err(_) => {}
            }
            if Instant::now() >= flush_at {
                self.flush(&app, &mut pending).await;
                flush_at = Instant::now() + FLUSH_INTERVAL;
            }
        }
        let last = self.flush(&app, &mut pending);
        if tokio::time::timeout(FINAL_FLUSH_TIMEOUT, last)
            .await
            .is_err()
        {
            tracing::warn!("could not record the last token uses before shutting down");
        }
    }
}

/// Why [`wait_for_change`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wake {
    /// A change was notified.
    Notified,
    /// The interval passed.
    Elapsed,
    /// There is no working listener.
    Broken,
}

async fn listen(app: &App) -> std::result::Result<PgListener, sqlx::Error> {
    let mut listener = app.listener().await?;
    listener.listen(store::tokens::CHANNEL).await?;
    Ok(listener)
}

/// Waits for a notice on the tokens channel, or `patience`. Notices buffered meanwhile are
/// drained: one reload covers them all.
async fn wait_for_change(listener: &mut Option<PgListener>, patience: Duration) -> Wake {
    let Some(active) = listener else {
        tokio::time::sleep(patience).await;
        return Wake::Broken;
    };
    let woken = match tokio::time::timeout(patience, active.try_recv()).await {
        Err(_elapsed) => Wake::Elapsed,
        Ok(Ok(Some(_))) => Wake::Notified,
        Ok(Ok(None) | Err(_)) => Wake::Broken,
    };
    while active.next_buffered().is_some() {}
    woken
}

#[cfg(test)]
mod tests {
    use chrono::Duration as Span;

    use super::*;
    use crate::domain::Scope;

    fn token(id: i64, secret: &str) -> LiveToken {
        LiveToken {
            id,
            name: format!("token-{id}"),
            scopes: Scopes::of(&[Scope::IncidentsRead]),
            secret_digest: digest(secret),
            previous: None,
            expires_at: None,
        }
    }

    #[test]
    fn a_live_secret_grants_its_token_and_others_nothing() {
        let registry = TokenRegistry::default();
        assert!(registry.is_empty());
        registry.replace(vec![token(1, "fbk_one"), token(2, "fbk_two")]);
        assert_eq!(registry.len(), 2);
        let grant = registry.grant_for("fbk_two", Utc::now()).unwrap();
        assert_eq!(grant.principal, "token-2");
        assert_eq!(grant.scopes, Scopes::of(&[Scope::IncidentsRead]));
        assert_eq!(grant.method, AuthMethod::DatabaseToken);
        assert!(registry.grant_for("fbk_three", Utc::now()).is_none());
        assert!(registry.grant_for("fbk_on", Utc::now()).is_none());
        assert!(registry.grant_for("", Utc::now()).is_none());
    }

    #[test]
    fn an_expired_token_is_refused() {
        let now = Utc::now();
        let registry = TokenRegistry::default();
        let mut expiring = token(1, "fbk_one");
        expiring.expires_at = Some(now + Span::seconds(10));
        registry.replace(vec![expiring]);
        assert!(registry.grant_for("fbk_one", now).is_some());
        assert!(
            registry
                .grant_for("fbk_one", now + Span::seconds(10))
                .is_none()
        );
    }

    #[test]
    fn a_rotated_out_secret_works_until_its_grace_ends() {
        let now = Utc::now();
        let registry = TokenRegistry::default();
        let mut rotated = token(1, "fbk_new");
        rotated.previous = Some((digest("fbk_old"), now + Span::hours(24)));
        registry.replace(vec![rotated]);
        assert_eq!(registry.len(), 1, "one token, two secrets");
        for secret in ["fbk_old", "fbk_new"] {
            let grant = registry.grant_for(secret, now).unwrap();
            assert_eq!(grant.principal, "token-1");
        }
        let later = now + Span::hours(24);
        assert!(registry.grant_for("fbk_old", later).is_none());
        assert!(registry.grant_for("fbk_new", later).is_some());
    }

    #[test]
    fn a_revoked_token_is_gone_at_the_next_reload() {
        let registry = TokenRegistry::default();
        registry.replace(vec![token(1, "fbk_one")]);
        assert!(registry.grant_for("fbk_one", Utc::now()).is_some());
        registry.replace(Vec::new());
        assert!(registry.grant_for("fbk_one", Utc::now()).is_none());
        assert!(registry.is_empty());
    }

    #[test]
    fn uses_are_kept_across_reloads_and_handed_over_when_a_token_goes() {
        let now = Utc::now();
        let registry = TokenRegistry::default();
        registry.replace(vec![token(1, "fbk_one"), token(2, "fbk_two")]);
        registry.grant_for("fbk_one", now - Span::seconds(5));
        registry.grant_for("fbk_one", now);
        registry.grant_for("fbk_two", now);
        // A reload keeps token 1's use; token 2 went, so its use is handed back.
        let dropped = registry.replace(vec![token(1, "fbk_one")]);
        assert_eq!(dropped, [(2, now.timestamp_millis())]);
        let mut pending = HashMap::new();
        registry.take_uses(&mut pending);
        assert_eq!(pending, HashMap::from([(1, now.timestamp_millis())]));
        // Taken once: nothing new until the next use.
        pending.clear();
        registry.take_uses(&mut pending);
        assert!(pending.is_empty());
    }

    #[test]
    fn the_debug_form_shows_no_token() {
        let registry = TokenRegistry::default();
        registry.replace(vec![token(1, "fbk_one")]);
        let shown = format!("{registry:?}");
        assert!(!shown.contains("token-1"), "{shown}");
        assert!(shown.contains("tokens: 1"), "{shown}");
    }
}
