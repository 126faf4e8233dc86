//! Changes: deploys, config and flag changes, infrastructure, pushes and releases, as every
//! source format is translated to them.

use chrono::{DateTime, Utc};

use crate::domain::error::ValidationError;
use crate::domain::signals::alert::{cut, one_line};
use crate::domain::validation;
use crate::domain::vocabulary::vocabulary;

vocabulary! {
    /// What changed.
    pub enum ChangeKind ("change kind") {
        /// A deploy of a service.
        Deploy = "deploy" | "deployment",
        /// A configuration change.
        Config = "config" | "configuration",
        /// A feature flag flipped.
        FeatureFlag = "feature_flag" | "flag",
        /// Infrastructure (Terraform, Kubernetes, network).
        Infrastructure = "infrastructure" | "infra",
        /// Code pushed to the default branch.
        Code = "code" | "push",
        /// A release published.
        Release = "release",
    }
}

vocabulary! {
    /// Who made a change.
    pub enum ActorKind ("actor kind") {
        /// A person.
        Human = "human" | "person" | "user",
        /// A pipeline or bot.
        Automation = "automation" | "bot",
        /// An AI agent.
        Agent = "agent",
    }
}

vocabulary! {
    /// What responders decided about a change for an incident.
    pub enum ChangeRelation ("change relation") {
        /// It may have caused the incident.
        Suspected = "suspected",
        /// It did (seeded into the postmortem's trigger).
        Confirmed = "confirmed",
        /// It did not.
        RuledOut = "ruled_out",
    }
}

/// A change as received.
#[derive(Debug, Clone, PartialEq)]
pub struct NewChange {
    /// Its identity at the source (a deployment id, a delivery digest): a redelivery is the
    /// same change.
    pub external_id: String,
    /// What changed.
    pub kind: ChangeKind,
    /// The services it touched.
    pub services: Vec<String>,
    /// Where (`production`).
    pub environment: Option<String>,
    /// One line.
    pub summary: String,
    /// Where to see it.
    pub url: Option<String>,
    /// Who made it.
    pub actor: Option<String>,
    /// Person, automation or agent.
    pub actor_kind: Option<ActorKind>,
    /// The commit.
    pub sha: Option<String>,
    /// The branch or tag.
    pub git_ref: Option<String>,
    /// The sender's status word (`success`, `failure` …).
    pub status: Option<String>,
    /// True when the change failed (a failed deploy weighs more).
    pub failed: bool,
    /// When it happened (default: when it arrived).
    pub occurred_at: Option<DateTime<Utc>>,
}

impl NewChange {
    /// A change with only its identity, kind and summary.
    pub fn new(external_id: String, kind: ChangeKind, summary: String) -> Self {
        NewChange {
            external_id,
            kind,
            services: Vec::new(),
            environment: None,
            summary,
            url: None,
            actor: None,
            actor_kind: None,
            sha: None,
            git_ref: None,
            status: None,
            failed: false,
            occurred_at: None,
        }
    }

    /// Checks the change; `field` prefixes names in errors.
    pub fn checked(mut self, field: &str, now: DateTime<Utc>) -> Result<Self, ValidationError> {
        let id = self.external_id.trim();
        if id.is_empty() || id.chars().count() > 255 || id.chars().any(char::is_control) {
            return Err(ValidationError::new(
                format!("{field}.id"),
                "must be 1–255 printable characters: the change's identity at its source",
            ));
        }
        self.external_id = id.to_owned();
        let summary = one_line(&self.summary);
        if summary.is_empty() {
            return Err(ValidationError::new(
                format!("{field}.summary"),
                "is empty: say what changed",
            ));
        }
        self.summary = cut(&summary, 1024);
        let services = std::mem::take(&mut self.services)
            .into_iter()
            .map(|s| s.trim().to_ascii_lowercase())
            .collect();
        self.services = validation::services(&format!("{field}.services"), services)?;
        let short = |v: Option<String>, max| {
            v.map(|v| cut(&one_line(&v), max))
                .filter(|v: &String| !v.is_empty())
        };
        self.environment = short(self.environment, 100);
        self.url = short(self.url, 2048);
        self.actor = short(self.actor, 200);
        self.sha = short(self.sha, 100);
        self.git_ref = short(self.git_ref, 255);
        self.status = short(self.status, 50);
        self.occurred_at =
            validation::timestamp(&format!("{field}.occurred_at"), self.occurred_at, now)?;
        Ok(self)
    }
}

/// Whether a sender's status word means the change failed.
pub fn is_failure(status: &str) -> bool {
    matches!(
        status.to_ascii_lowercase().as_str(),
        "failure" | "failed" | "error" | "errored" | "timed_out" | "cancelled" | "rolled_back"
    )
}

/// A change as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// Its id.
    pub id: uuid::Uuid,
    /// `CHG-<number>`.
    pub number: i64,
    /// The source it came from.
    pub source: String,
    /// The change as received.
    pub change: NewChange,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// What responders decided about it for the incident asked about, if anything.
    pub relation: Option<ChangeRelation>,
}

impl Change {
    /// `CHG-<n>`.
    pub fn reference(&self) -> String {
        format!("CHG-{}", self.number)
    }
}
