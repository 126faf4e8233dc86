//! Runbooks: loading a folder of them, finding and reading them, fetching remote ones, and
//! recording the steps taken on an incident.

mod folder;
mod remote;
mod steps;
mod sync;

pub use remote::RemoteRead;
pub use steps::{RecordedStep, StepReport};
pub use sync::{InvalidFile, SyncReport};

use chrono::{DateTime, Utc};

use crate::app::{App, Error, Result};
use crate::domain::runbook::{Criteria, RunbookMatch, RunbookSummary, StoredRunbook};
use crate::domain::{IncidentRef, ValidationError, validation};
use crate::integrations::runbook_fetch::{FetchLimits, RunbookFetcher};
use crate::store::{self, Lock};

/// Most matches `find_runbooks` returns.
const FIND_MAX: i64 = 50;
/// Matches returned when no limit is given.
const FIND_DEFAULT: i64 = 10;

/// What to look for with [`App::find_runbooks`].
#[derive(Debug, Clone, Default)]
pub struct FindRequest {
    /// Words to look for.
    pub text: Option<String>,
    /// A service slug.
    pub service: Option<String>,
    /// An alert name.
    pub alert: Option<String>,
    /// An incident whose services, labels and title are looked for too.
    pub incident: Option<IncidentRef>,
    /// Most matches, 1–50 (default 10).
    pub limit: Option<i64>,
}

/// Runbooks that matched, best first.
#[derive(Debug, Clone)]
pub struct RunbookMatches {
    /// The matches.
    pub matches: Vec<RunbookMatch>,
    /// Everything that was looked for, including what the incident contributed.
    pub criteria: Criteria,
    /// The incident's reference, when one was given.
    pub incident: Option<IncidentRef>,
    /// True when more runbooks matched than `limit`.
    pub is_truncated: bool,
    /// The server time of this answer.
    pub now: DateTime<Utc>,
}

impl App {
    /// One runbook by slug, archived or not, at its newest version, with its markdown.
    /// Fails with `not_found` when no runbook has that slug.
    #[tracing::instrument(skip_all, fields(slug = %slug))]
    pub async fn runbook(&self, slug: &str) -> Result<StoredRunbook> {
        self.runbook_version(slug, None).await
    }

    /// One runbook by slug at `version` (the newest when `None`). Fails with `not_found` when
    /// the slug or the version does not exist.
    #[tracing::instrument(skip_all, fields(slug = %slug, version = ?version))]
    pub async fn runbook_version(&self, slug: &str, version: Option<i64>) -> Result<StoredRunbook> {
        let mut conn = self.autocommit().await?;
        let found = find(&mut conn, slug, version).await?;
        Ok(found)
    }

    /// Active runbooks (slug and title) in slug order, at most `limit` (clamped to 1–500): what
    /// MCP `resources/list` shows.
    #[tracing::instrument(skip_all)]
    pub async fn list_runbooks(&self, limit: i64) -> Result<Vec<RunbookSummary>> {
        let mut conn = self.autocommit().await?;
        let list = store::runbooks::list_active(&mut conn, limit.clamp(1, 500)).await?;
        Ok(list)
    }

    /// Slugs of active runbooks starting with `prefix`, in order, at most `limit` (clamped to
    /// 1–100): for completing a partly typed slug.
    #[tracing::instrument(skip_all)]
    pub async fn runbook_slugs(&self, prefix: &str, limit: i64) -> Result<Vec<String>> {
        let mut conn = self.autocommit().await?;
        let slugs =
            store::runbooks::slugs_with_prefix(&mut conn, prefix, limit.clamp(1, 100)).await?;
        Ok(slugs)
    }

    /// Active runbooks matching the text, service, alert or incident, best first. Without any
    /// criterion every active runbook is listed.
    #[tracing::instrument(skip_all)]
    pub async fn find_runbooks(&self, request: FindRequest) -> Result<RunbookMatches> {
        let limit = validation::limit("limit", request.limit, FIND_DEFAULT, FIND_MAX)?;
        let mut criteria =
            Criteria::parse(request.text.as_deref(), request.service, request.alert)?;
        let mut conn = self.autocommit().await?;
        let incident = match request.incident {
            Some(reference) => {
                let incident = crate::app::load(&mut conn, reference, Lock::None).await?;
                criteria.add_incident(&incident);
                Some(incident.reference())
            }
            None => None,
        };
        let mut matches = store::runbooks::search(&mut conn, &criteria, limit + 1).await?;
        let is_truncated = matches.len() as i64 > limit;
        matches.truncate(limit as usize);
        Ok(RunbookMatches {
            matches,
            criteria,
            incident,
            is_truncated,
            now: Utc::now(),
        })
    }

    /// The same app with other limits for remote runbook fetches (timeouts, size cap).
    pub fn with_fetch_limits(mut self, limits: FetchLimits) -> Self {
        self.fetcher = fetcher(&self.settings.runbook_hosts, limits);
        self
    }
}

/// Which runbook a caller asked for: a local one by slug (and version), or a remote one by URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunbookSource {
    /// A synced runbook.
    Local {
        /// Its slug.
        slug: String,
        /// A version other than the newest.
        version: Option<i64>,
    },
    /// A runbook fetched from an allow-listed host.
    Remote {
        /// Its URL, as given.
        url: String,
    },
}

impl RunbookSource {
    /// Exactly one of `slug` and `url`; `version` only with `slug`.
    pub fn parse(
        slug: Option<String>,
        version: Option<i64>,
        url: Option<String>,
    ) -> std::result::Result<RunbookSource, ValidationError> {
        match (slug, url) {
            (Some(raw), None) => Ok(RunbookSource::Local {
                slug: self::slug("slug", &raw)?,
                version,
            }),
            (None, Some(_)) if version.is_some() => Err(ValidationError::new(
                "version",
                "applies to local runbooks only: pass it with `slug`, not with `url`",
            )),
            (None, Some(url)) => Ok(RunbookSource::Remote { url }),
            (Some(_), Some(_)) => Err(ValidationError::new(
                "slug",
                "and `url` were both given; pass exactly one: `slug` for a local runbook or `url` for a remote one",
            )),
            (None, None) => Err(ValidationError::new(
                "slug",
                "or `url` is required: pass `slug` for a local runbook (see find_runbooks) or `url` for a remote one",
            )),
        }
    }
}

/// A runbook as read from its source.
#[derive(Debug, Clone)]
pub enum RunbookRead {
    /// A synced runbook version.
    Local(StoredRunbook),
    /// A fetched (or cached) remote runbook.
    Remote(RemoteRead),
}

impl App {
    /// Reads the runbook `source` names.
    pub async fn read_runbook(&self, source: RunbookSource) -> Result<RunbookRead> {
        match source {
            RunbookSource::Local { slug, version } => self
                .runbook_version(&slug, version)
                .await
                .map(RunbookRead::Local),
            RunbookSource::Remote { url } => {
                self.remote_runbook(&url).await.map(RunbookRead::Remote)
            }
        }
    }
}

/// Builds the remote runbook fetcher; logs and returns `None` if the HTTP client cannot start.
pub(crate) fn fetcher(hosts: &[String], limits: FetchLimits) -> Option<RunbookFetcher> {
    match RunbookFetcher::new(hosts, limits) {
        Ok(fetcher) => Some(fetcher),
        Err(err) => {
            tracing::error!(error = %err, "remote runbooks are off: the HTTP client did not start");
            None
        }
    }
}

/// Checks that `value` is shaped like a slug; `field` names the parameter in the error.
pub(crate) fn slug(field: &str, value: &str) -> std::result::Result<String, ValidationError> {
    let value = value.trim();
    if validation::is_slug(value) {
        return Ok(value.to_owned());
    }
    Err(ValidationError::new(
        field,
        format!(
            "`{value}` is not a runbook slug: use lowercase letters, digits and `-` (e.g. `high-error-rate`); find slugs with find_runbooks"
        ),
    ))
}

/// Loads a runbook version or fails with `not_found`, saying what exists.
async fn find(
    conn: &mut sqlx::PgConnection,
    slug: &str,
    version: Option<i64>,
) -> Result<StoredRunbook> {
    if let Some(found) = store::runbooks::find(conn, slug, version).await? {
        return Ok(found);
    }
    let message = match (version, store::runbooks::find(conn, slug, None).await?) {
        (Some(version), Some(latest)) => format!(
            "runbook `{slug}` has no version {version}; its versions are 1–{}",
            latest.latest_version
        ),
        _ => format!("runbook `{slug}` does not exist; find runbooks with find_runbooks"),
    };
    Err(Error::RunbookNotFound(message))
}
