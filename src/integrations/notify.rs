//! Notifications out: the operator's targets (Slack incoming webhooks, Microsoft Teams Workflows
//! webhooks, Standard Webhooks receivers), the message each receives for an event, and the HTTP
//! sender. May use `domain` (and reqwest, serde); the outbox and its workers are elsewhere.
//!
//! Outbound requests go only to the configured URLs: redirects are never followed.

pub mod config;
mod message;
mod sender;
mod signing;
mod slack;
mod teams;
mod webhook;

use sha2::{Digest, Sha256};

use crate::config::Secret;
use crate::domain::notification::{Event, Subscription, TargetKind};

pub use config::{Delivery, Outbound};
pub use sender::{Attempt, Sender};
pub use signing::{WebhookSecret, sign};

/// One configured receiver of notifications.
#[derive(Debug, Clone)]
pub struct Target {
    /// Its name (a slug): the outbox's `target`, and what `firebreak notifications` names.
    pub name: String,
    /// Its kind, and so its format.
    pub kind: TargetKind,
    /// Where to post (for Slack and Teams, the URL is the credential).
    pub url: Secret,
    /// Webhook targets: the signing secrets, the current one first, then the previous one
    /// while rotating. Empty for Slack and Teams.
    pub secrets: Vec<WebhookSecret>,
    /// Which events it receives.
    pub subscription: Subscription,
}

impl Target {
    /// The SHA-256 (hex) of its kind and URL: the outbox's `config_digest`, which changes when
    /// the target is pointed somewhere else (and so re-enables a target disabled by a 410).
    pub fn digest(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(self.kind.as_str().as_bytes());
        hasher.update(b"\n");
        hasher.update(self.url.expose().as_bytes());
        hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// The body posted to `target` for `event`, as JSON in the target's format. It depends only on
/// the event and `incident_url` (where the incident is seen, when Firebreak's public URL is
/// known), so every retry sends the same bytes.
pub fn render(target: &Target, event: &Event, incident_url: Option<&str>) -> Vec<u8> {
    let value = match target.kind {
        TargetKind::Slack => slack::render(event, incident_url),
        TargetKind::Teams => teams::render(event, incident_url),
        TargetKind::Webhook => return webhook::render(event, incident_url),
    };
    value.to_string().into_bytes()
}

#[cfg(test)]
mod tests;
