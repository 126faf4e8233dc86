//! Stakeholder updates as tools show them.

use schemars::JsonSchema;
use serde::Serialize;

use crate::app::status_updates::{LastUpdate, PostedUpdate};
use crate::domain::status_update::{Audience, StakeholderUpdate};
use chrono::{DateTime, Utc};

/// One affected service.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ServiceStateView {
    /// The service.
    pub service: String,
    /// `operational`, `degraded_performance`, `partial_outage` or `major_outage`.
    pub state: String,
}

/// An update as it was published.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PublishedView {
    /// `internal`, `stakeholders` or `public`.
    pub audience: String,
    /// `investigating`, `identified`, `monitoring` or `resolved`.
    pub status: String,
    /// The message, exactly as published.
    pub message: String,
    /// The affected services.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<ServiceStateView>,
    /// When the next update is due.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_update_at: Option<DateTime<Utc>>,
    /// The incident's name on the status page (public updates).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_title: Option<String>,
    /// When it was posted.
    pub posted_at: DateTime<Utc>,
}

impl PublishedView {
    fn of(update: &StakeholderUpdate, message: &str, posted_at: DateTime<Utc>) -> Self {
        PublishedView {
            audience: update.audience.as_str().to_owned(),
            status: update.status.as_str().to_owned(),
            message: message.to_owned(),
            services: update
                .services
                .iter()
                .map(|s| ServiceStateView {
                    service: s.service.clone(),
                    state: s.state.as_str().to_owned(),
                })
                .collect(),
            next_update_at: update.next_update_at,
            public_title: update.public_title.clone(),
            posted_at,
        }
    }
}

/// What `post_status_update` answers.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PostedUpdateView {
    /// The incident.
    pub incident: String,
    /// The incident's own status (an update does not change it).
    pub incident_status: String,
    /// What was published.
    pub published: PublishedView,
    /// Where it shows: the status page for public updates; notification targets that
    /// subscribe to status updates for every audience.
    pub shown_on: String,
}

impl From<&PostedUpdate> for PostedUpdateView {
    fn from(posted: &PostedUpdate) -> Self {
        let shown_on = match (posted.update.audience, &posted.page_url) {
            (Audience::Public, Some(url)) => {
                format!(
                    "the public status page ({url}) and notifications subscribed to public updates"
                )
            }
            (Audience::Public, None) => {
                "the public status page (/status) and notifications subscribed to public updates"
                    .to_owned()
            }
            (audience, _) => {
                format!("notifications subscribed to {audience} updates; never the status page")
            }
        };
        PostedUpdateView {
            incident: posted.incident.to_string(),
            incident_status: posted.incident_status.as_str().to_owned(),
            published: PublishedView::of(
                &posted.update,
                &posted.entry.body,
                posted.entry.occurred_at,
            ),
            shown_on,
        }
    }
}

/// The newest update for one audience, in the brief.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct LastUpdateView {
    /// The update.
    #[serde(flatten)]
    pub published: PublishedView,
    /// Who posted it.
    pub by: String,
    /// True when the promised next update is late: post one now.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub next_update_overdue: bool,
    /// True when the incident is over but the status page still shows it: post a `resolved`
    /// public update.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub page_still_open: bool,
}

impl From<&LastUpdate> for LastUpdateView {
    fn from(last: &LastUpdate) -> Self {
        LastUpdateView {
            published: PublishedView::of(&last.update, &last.message, last.posted_at),
            by: last.by.clone(),
            next_update_overdue: last.next_update_overdue,
            page_still_open: last.page_still_open,
        }
    }
}
