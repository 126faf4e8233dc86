//! Remote runbooks: fetched from allow-listed hosts, cached in PostgreSQL, revalidated with
//! `ETag` / `Last-Modified`, and served stale (and marked so) when the host fails.

use chrono::Utc;

use crate::app::{App, Error, Result};
use crate::domain::ValidationError;
use crate::domain::runbook::{CachedRunbook, RemoteRunbook, content_hash};
use crate::integrations::runbook_fetch::{FetchError, Fetched, Validators};
use crate::store;

/// A remote runbook as read.
#[derive(Debug, Clone)]
pub struct RemoteRead {
    /// The cached copy now held (fresh, revalidated, or stale).
    pub copy: CachedRunbook,
    /// Its parsed content.
    pub document: RemoteRunbook,
    /// Why the copy could not be refreshed, when it is stale.
    pub stale_reason: Option<String>,
}

impl App {
    /// Fetches the runbook at `url` from an allow-listed host, revalidating the cached copy
    /// when there is one. When the host fails and a copy is cached, that copy is returned with
    /// `stale_reason` set; without a copy the failure is an `unavailable` error. A URL the
    /// rules refuse is an `invalid_argument` error and is never requested.
    #[tracing::instrument(skip_all, fields(url = %raw_url))]
    pub async fn remote_runbook(&self, raw_url: &str) -> Result<RemoteRead> {
        let fetcher = self.fetcher.as_ref().ok_or_else(|| {
            Error::Upstream("remote runbooks are unavailable: the HTTP client did not start".into())
        })?;
        let url = fetcher
            .check_url(raw_url)
            .map_err(|err| ValidationError::new("url", err.to_string()))?;
        let key = url.as_str();
        // The fetch happens outside any transaction: a slow host must not hold a connection.
        // Each cache statement stands alone: no BEGIN/COMMIT around them.
        let cached = store::runbook_cache::find(&mut *self.autocommit().await?, key).await?;
        let validators = cached
            .as_ref()
            .map_or_else(Validators::default, |c| Validators {
                etag: c.etag.clone(),
                last_modified: c.last_modified.clone(),
            });
        let fetched = fetcher.fetch(&url, &validators).await;
        let now = Utc::now();
        let (copy, stale_reason) = match fetched {
            Ok(Fetched::NotModified) => {
                let mut conn = self.autocommit().await?;
                let confirmed = store::runbook_cache::confirm(&mut conn, key, now).await?;
                conn.commit().await?;
                match confirmed.or(cached) {
                    Some(copy) => (copy, None),
                    None => return Err(upstream(key, &FetchError::Status(304))),
                }
            }
            Ok(Fetched::Document {
                markdown,
                etag,
                last_modified,
            }) => {
                let fresh = CachedRunbook {
                    url: key.to_owned(),
                    content_hash: content_hash(&markdown),
                    markdown,
                    etag,
                    last_modified,
                    fetched_at: now,
                    changed_at: now,
                };
                let mut conn = self.autocommit().await?;
                let saved = store::runbook_cache::save(&mut conn, &fresh).await?;
                conn.commit().await?;
                (saved, None)
            }
            Err(err) if err.is_refusal() => {
                return Err(ValidationError::new("url", err.to_string()).into());
            }
            Err(err) => {
                tracing::warn!(error = %err, "remote runbook fetch failed");
                match cached {
                    Some(copy) => (copy, Some(err.to_string())),
                    None => return Err(upstream(key, &err)),
                }
            }
        };
        Ok(RemoteRead {
            document: RemoteRunbook::parse(&copy.markdown),
            copy,
            stale_reason,
        })
    }
}

fn upstream(url: &str, err: &FetchError) -> Error {
    Error::Upstream(format!(
        "could not fetch {url}: {err}; no cached copy exists yet. Retry later, or use a local runbook (find_runbooks)"
    ))
}
