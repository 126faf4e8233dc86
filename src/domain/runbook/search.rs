//! What `find_runbooks` looks for: services, alert names and words, given directly or taken
//! from an incident, and how matches are weighed.

use crate::domain::runbook::FrontMatter;
use crate::domain::runbook::front_matter::ALERT_MAX_CHARS;
use crate::domain::validation;
use crate::domain::{Incident, ValidationError};

/// Score added per matching alert name: the most specific signal.
pub const ALERT_WEIGHT: f32 = 4.0;
/// Score added per matching service.
pub const SERVICE_WEIGHT: f32 = 2.0;
/// Most words used from a text query.
const WORDS_MAX: usize = 32;
/// Longest text query, in characters.
const TEXT_MAX_CHARS: usize = 500;

/// The incident labels whose value names an alert.
const ALERT_LABELS: [&str; 2] = ["alertname", "alert"];
/// The incident labels whose value names a service.
const SERVICE_LABELS: [&str; 2] = ["service", "app"];

/// What to look for. Text rank is at most 1, so a runbook matching an alert or a service ranks
/// above one that only mentions the words.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Criteria {
    /// Service slugs; a runbook listing any of them matches.
    pub services: Vec<String>,
    /// Alert names, compared without regard to case.
    pub alerts: Vec<String>,
    /// Words; a runbook mentioning any of them matches, ranked by how well.
    pub words: Vec<String>,
}

impl Criteria {
    /// Validates the criteria given as tool arguments.
    pub fn parse(
        text: Option<&str>,
        service: Option<String>,
        alert: Option<String>,
    ) -> Result<Criteria, ValidationError> {
        let mut criteria = Criteria::default();
        if let Some(text) = text {
            let chars = text.chars().count();
            if text.trim().is_empty() || chars > TEXT_MAX_CHARS {
                return Err(ValidationError::new(
                    "text",
                    format!(
                        "must be 1–{TEXT_MAX_CHARS} characters of words to look for (got {chars})"
                    ),
                ));
            }
            validation::characters::line("text", text.trim())?;
            criteria.add_words(text);
            if criteria.words.is_empty() {
                return Err(ValidationError::new(
                    "text",
                    "has no words to look for (single characters and one- or two-digit numbers are ignored)",
                ));
            }
        }
        if let Some(service) = service {
            criteria.services = validation::services("service", vec![service])?;
        }
        if let Some(alert) = alert {
            let alert = alert.trim().to_owned();
            let chars = alert.chars().count();
            if chars == 0 || chars > ALERT_MAX_CHARS || alert.chars().any(char::is_control) {
                return Err(ValidationError::new(
                    "alert",
                    format!(
                        "must be an alert name of 1–{ALERT_MAX_CHARS} printable characters (e.g. `HighErrorRate`), got {chars} characters"
                    ),
                ));
            }
            validation::characters::line("alert", &alert)?;
            criteria.alerts.push(alert);
        }
        Ok(criteria)
    }

    /// Adds what an incident says about itself: its services (and `service` / `app` labels),
    /// the alert in its `alertname` / `alert` label, and the words of its title.
    pub fn add_incident(&mut self, incident: &Incident) {
        let labelled = |keys: [&str; 2]| -> Vec<String> {
            keys.iter()
                .filter_map(|key| incident.labels.get(*key))
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
                .collect()
        };
        for service in incident
            .services
            .iter()
            .cloned()
            .chain(labelled(SERVICE_LABELS))
        {
            if validation::is_slug(&service) && !self.services.contains(&service) {
                self.services.push(service);
            }
        }
        for alert in labelled(ALERT_LABELS) {
            if !self.alerts.iter().any(|a| a.eq_ignore_ascii_case(&alert)) {
                self.alerts.push(alert);
            }
        }
        self.add_words(&incident.title);
    }

    /// True when there is nothing to look for.
    pub fn is_empty(&self) -> bool {
        self.services.is_empty() && self.alerts.is_empty() && self.words.is_empty()
    }

    /// The alert names lowercased, for case-insensitive comparison.
    pub fn alert_keys(&self) -> Vec<String> {
        self.alerts.iter().map(|a| a.to_lowercase()).collect()
    }

    /// The words as a PostgreSQL web-search query matching any of them (`disk or full`), or
    /// `None` without words.
    pub fn text_query(&self) -> Option<String> {
        (!self.words.is_empty()).then(|| self.words.join(" or "))
    }

    /// Splits `text` into lowercase words of letters and digits. Anything else separates words,
    /// so quotes, `-` and `or` can never turn into query operators. Single characters and
    /// one- or two-digit numbers (`db-3`, step numbers) are dropped: they match everything.
    fn add_words(&mut self, text: &str) {
        for word in text.split(|c: char| !c.is_alphanumeric()) {
            let word = word.to_lowercase();
            let is_operator = matches!(word.as_str(), "or" | "and");
            let is_noise = word.chars().count() < 2
                || (word.len() < 3 && word.chars().all(|c| c.is_ascii_digit()));
            if is_noise || is_operator || self.words.contains(&word) {
                continue;
            }
            if self.words.len() == WORDS_MAX {
                break;
            }
            self.words.push(word.chars().take(64).collect());
        }
    }
}

/// An active runbook that matched a search, with what matched.
#[derive(Debug, Clone, PartialEq)]
pub struct RunbookMatch {
    /// The newest version's metadata.
    pub meta: FrontMatter,
    /// Newest version.
    pub version: i64,
    /// The searched services it lists.
    pub matched_services: Vec<String>,
    /// The searched alerts it answers (as the runbook spells them).
    pub matched_alerts: Vec<String>,
    /// How well the words matched, 0 to 1 (0 without words or without a text match).
    pub text_rank: f32,
    /// The ranking score: [`ALERT_WEIGHT`] per alert, [`SERVICE_WEIGHT`] per service, plus the
    /// text rank.
    pub score: f32,
}
