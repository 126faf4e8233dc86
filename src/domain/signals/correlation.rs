//! Which changes may have caused an incident: a score with its reasons, never a verdict.
//!
//! A change is a candidate when it happened within the window before impact started (or
//! just after) and touched one of the incident's services or what they depend on (a change
//! that names no service is a candidate for any incident). Its score, 0–1, weighs time
//! proximity 40 % (halving every 30 minutes before impact; after impact a third as much),
//! service match 35 % (direct 1.0, a dependency 0.7, no services named 0.3), failure 15 % and
//! kind 10 % (deploy 1.0, config 0.9, flag 0.8, infrastructure 0.7, release 0.6, code 0.4).

use chrono::{DateTime, Duration, Utc};

use crate::domain::signals::change::{ChangeKind, ChangeRelation};

/// What correlation needs to know about a change.
#[derive(Debug, Clone)]
pub struct Candidate<'a> {
    /// Its kind.
    pub kind: ChangeKind,
    /// The services it touched.
    pub services: &'a [String],
    /// True when it failed.
    pub failed: bool,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// What responders decided, if they did.
    pub relation: Option<ChangeRelation>,
}

/// What correlation needs to know about the incident.
#[derive(Debug, Clone)]
pub struct Subject<'a> {
    /// Its services.
    pub services: &'a [String],
    /// What they depend on.
    pub dependencies: &'a [String],
    /// When impact started (or was detected).
    pub impact_started_at: DateTime<Utc>,
}

/// A change's score for an incident, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    /// 0–1, higher is more likely.
    pub score: f64,
    /// The reasons, in words.
    pub reasons: Vec<String>,
}

/// Scores `change` for `subject`; `None` when it is not a candidate at all.
pub fn score(
    change: &Candidate<'_>,
    subject: &Subject<'_>,
    before: Duration,
    after: Duration,
) -> Option<Scored> {
    let offset = change.occurred_at - subject.impact_started_at;
    if offset < -before || offset > after {
        return None;
    }
    let (service_weight, service_reason) = service_match(change.services, subject)?;
    let minutes = offset.num_seconds().abs() as f64 / 60.0;
    let time_weight = if offset <= Duration::zero() {
        0.5_f64.powf(minutes / 30.0)
    } else {
        0.5_f64.powf(minutes / 30.0) / 3.0
    };
    let when = if offset <= Duration::zero() {
        format!("{} {} before impact started", change.kind, span(minutes))
    } else {
        format!("{} {} after impact started", change.kind, span(minutes))
    };
    let mut reasons = vec![when, service_reason];
    if change.failed {
        reasons.push("it failed".into());
    }
    let score = 0.40 * time_weight
        + 0.35 * service_weight
        + 0.15 * if change.failed { 1.0 } else { 0.0 }
        + 0.10 * kind_weight(change.kind);
    let mut score = (score * 100.0).round() / 100.0;
    match change.relation {
        Some(ChangeRelation::Confirmed) => {
            score = 1.0;
            reasons.insert(0, "confirmed by a responder".into());
        }
        Some(ChangeRelation::Suspected) => reasons.insert(0, "suspected by a responder".into()),
        Some(ChangeRelation::RuledOut) => {
            score = 0.0;
            reasons.insert(0, "ruled out by a responder".into());
        }
        None => {}
    }
    Some(Scored { score, reasons })
}

fn service_match(services: &[String], subject: &Subject<'_>) -> Option<(f64, String)> {
    if services.is_empty() {
        return Some((0.3, "names no service".into()));
    }
    if let Some(shared) = services.iter().find(|s| subject.services.contains(s)) {
        return Some((1.0, format!("same service {shared}")));
    }
    if let Some(dep) = services.iter().find(|s| subject.dependencies.contains(s)) {
        return Some((0.7, format!("{dep}, which an affected service depends on")));
    }
    if subject.services.is_empty() {
        return Some((0.3, "the incident names no service".into()));
    }
    None
}

fn kind_weight(kind: ChangeKind) -> f64 {
    match kind {
        ChangeKind::Deploy => 1.0,
        ChangeKind::Config => 0.9,
        ChangeKind::FeatureFlag => 0.8,
        ChangeKind::Infrastructure => 0.7,
        ChangeKind::Release => 0.6,
        ChangeKind::Code => 0.4,
    }
}

fn span(minutes: f64) -> String {
    if minutes < 1.0 {
        "under a minute".into()
    } else if minutes < 120.0 {
        format!("{} min", minutes.round() as i64)
    } else {
        format!("{:.1} h", minutes / 60.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject<'a>(services: &'a [String], deps: &'a [String]) -> Subject<'a> {
        Subject {
            services,
            dependencies: deps,
            impact_started_at: DateTime::UNIX_EPOCH + Duration::days(1),
        }
    }

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + Duration::days(1) + Duration::minutes(minutes)
    }

    #[test]
    fn closer_same_service_failed_deploys_score_higher() {
        let pay = vec!["payments".to_owned()];
        let db = vec!["postgres".to_owned()];
        let s = subject(&pay, &db);
        let (b, a) = (Duration::hours(2), Duration::minutes(10));
        let change = |minutes, services: &'static [String], failed| Candidate {
            kind: ChangeKind::Deploy,
            services,
            failed,
            occurred_at: at(minutes),
            relation: None,
        };
        static PAY: std::sync::LazyLock<Vec<String>> =
            std::sync::LazyLock::new(|| vec!["payments".into()]);
        static DB: std::sync::LazyLock<Vec<String>> =
            std::sync::LazyLock::new(|| vec!["postgres".into()]);
        static WEB: std::sync::LazyLock<Vec<String>> =
            std::sync::LazyLock::new(|| vec!["web".into()]);
        let near = score(&change(-5, &PAY, false), &s, b, a).unwrap();
        let far = score(&change(-90, &PAY, false), &s, b, a).unwrap();
        let dep = score(&change(-5, &DB, false), &s, b, a).unwrap();
        let failed = score(&change(-5, &PAY, true), &s, b, a).unwrap();
        assert!(near.score > far.score && near.score > dep.score && failed.score > near.score);
        assert_eq!(
            near.reasons,
            vec![
                "deploy 5 min before impact started",
                "same service payments"
            ]
        );
        assert!(dep.reasons[1].contains("postgres"));
        assert_eq!(
            score(&change(-5, &WEB, false), &s, b, a),
            None,
            "another service"
        );
        assert_eq!(
            score(&change(-121, &PAY, false), &s, b, a),
            None,
            "outside the window"
        );
        assert_eq!(
            score(&change(11, &PAY, false), &s, b, a),
            None,
            "too long after"
        );
    }
}
