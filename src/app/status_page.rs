//! Reading the public status page: the public updates of the incidents it shows, built into the
//! page model. One statement, straight on the pool.

use chrono::{Duration, Utc};

use crate::app::{App, Result};
use crate::domain::status_page::{HISTORY_DAYS, Page, PageConfig};
use crate::store;

/// Most public updates one page reads (the newest). Far above what 90 days hold; a bound so a
/// runaway writer cannot make every page view read without end.
const MAX_UPDATES: i64 = 5_000;

impl App {
    /// The status page as of now, for `config`'s components.
    #[tracing::instrument(skip_all)]
    pub async fn status_page(&self, config: &PageConfig) -> Result<Page> {
        let now = Utc::now();
        let mut conn = self.autocommit().await?;
        let since = now - Duration::days(HISTORY_DAYS);
        let updates = store::status_page::published(&mut conn, since, MAX_UPDATES).await?;
        Ok(Page::build(config, updates, now))
    }
}
