//! Read-only lookups behind MCP resources, prompts and completions: the latest entries of a
//! timeline, and the incidents a partly typed reference may mean.

use crate::app::{App, Result, load};
use crate::domain::{Incident, IncidentRef, Status, TimelineEntry, ValidationError};
use crate::store::{self, Lock};

/// Most timeline entries one lookup returns.
const RECENT_MAX: i64 = 500;
/// Most suggestions one lookup returns.
const SUGGESTIONS_MAX: i64 = 100;

/// The latest entries of an incident's timeline.
#[derive(Debug, Clone)]
pub struct RecentTimeline {
    /// The incident.
    pub incident: Incident,
    /// The newest entries, oldest first.
    pub entries: Vec<TimelineEntry>,
    /// How many entries the timeline has in all.
    pub total: i64,
}

/// Incidents that a partly typed reference may mean.
#[derive(Debug, Clone)]
pub struct IncidentSuggestions {
    /// Open incidents first, then the rest.
    pub incidents: Vec<Incident>,
    /// True when more incidents match than were returned.
    pub has_more: bool,
}

impl App {
    /// The newest `limit` entries (1–500) of an incident's timeline, with the total count.
    #[tracing::instrument(skip_all, fields(incident = %reference))]
    pub async fn recent_timeline(
        &self,
        reference: IncidentRef,
        limit: i64,
    ) -> Result<RecentTimeline> {
        let limit = limit.clamp(1, RECENT_MAX);
        let mut conn = self.autocommit().await?;
        let incident = load(&mut conn, reference, Lock::None).await?;
        let (entries, total) = store::timeline::recent(&mut conn, incident.id, limit).await?;
        Ok(RecentTimeline {
            incident,
            entries,
            total,
        })
    }

    /// Incidents whose number starts with `digits` (all of them when empty): open incidents
    /// first, at most `limit` (1–100).
    #[tracing::instrument(skip_all, fields(digits = %digits))]
    pub async fn suggest_incidents(&self, digits: &str, limit: i64) -> Result<IncidentSuggestions> {
        if digits.len() > 18 || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(ValidationError::new(
                "incident",
                format!("`{digits}` is not the start of an incident number"),
            )
            .into());
        }
        let limit = limit.clamp(1, SUGGESTIONS_MAX);
        let open: Vec<Status> = Status::ALL.into_iter().filter(|s| s.is_open()).collect();
        let mut conn = self.autocommit().await?;
        let mut incidents =
            store::incidents::with_number_prefix(&mut conn, digits, &open, limit + 1).await?;
        let has_more = incidents.len() as i64 > limit;
        incidents.truncate(limit as usize);
        Ok(IncidentSuggestions {
            incidents,
            has_more,
        })
    }
}
