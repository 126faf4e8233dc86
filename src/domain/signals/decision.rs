//! What one alert event does, given what is already known about its identity and its group,
//! and the reason the ledger records for it.

use chrono::{DateTime, SecondsFormat, Utc};
use uuid::Uuid;

use crate::domain::signals::alert::{AlertEvent, EventAction};
use crate::domain::signals::routing::{RouteAction, Routed};

/// An incident an alert belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IncidentLink {
    /// Its id.
    pub id: Uuid,
    /// Its number.
    pub number: i64,
}

/// The firing alert that has the event's identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenAlert {
    /// Its id.
    pub id: Uuid,
    /// When it was first seen firing.
    pub first_seen: DateTime<Utc>,
    /// Its incident, if it has one.
    pub incident: Option<IncidentLink>,
}

/// What is known when an event arrives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Known {
    /// The firing alert with this identity, if there is one.
    pub open_alert: Option<OpenAlert>,
    /// The open incident of the alert's group (within the group window), if there is one.
    pub group_incident: Option<IncidentLink>,
}

/// What an event does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Already firing: counted, nothing new on any timeline.
    Deduplicate(OpenAlert),
    /// New, and no open incident of its group: declare one.
    Declare,
    /// New, and its group has an open incident: attach to it.
    Attach(IncidentLink),
    /// New, kept without an incident.
    Record(String),
    /// The firing alert resolves.
    Resolve(OpenAlert),
    /// The firing alert was acknowledged at the sender.
    Acknowledge(OpenAlert),
    /// Nothing to apply it to.
    Ignore(String),
}

/// Decides what `event` does.
pub fn decide(event: &AlertEvent, routed: &Routed, known: Known) -> Decision {
    match (event.action, known.open_alert) {
        (EventAction::Trigger, Some(open)) => Decision::Deduplicate(open),
        (EventAction::Trigger, None) => match (routed.action, known.group_incident) {
            (RouteAction::Record, _) => Decision::Record(match &routed.route {
                Some(route) => format!("recorded only: route {route}"),
                None => "recorded only: no route matched".to_owned(),
            }),
            (_, Some(incident)) => Decision::Attach(incident),
            (RouteAction::Declare, None) => Decision::Declare,
            (RouteAction::Attach, None) => Decision::Record(format!(
                "recorded only: {routed} has no open incident to attach to"
            )),
        },
        (EventAction::Resolve, Some(open)) => Decision::Resolve(open),
        (EventAction::Acknowledge, Some(open)) => Decision::Acknowledge(open),
        (EventAction::Resolve, None) => {
            Decision::Ignore("resolve ignored: no firing alert has this identity".into())
        }
        (EventAction::Acknowledge, None) => {
            Decision::Ignore("acknowledge ignored: no firing alert has this identity".into())
        }
    }
}

/// `declared INC-7: route payments-critical, group {alertname=HighErrorRate, service=payments}`.
pub fn declared_reason(number: i64, routed: &Routed) -> String {
    format!(
        "declared INC-{number}: {routed}, {}",
        routed.severity_reason
    )
}

/// `attached to INC-7: route …, group {…}`.
pub fn attached_reason(number: i64, routed: &Routed) -> String {
    format!("attached to INC-{number}: {routed}")
}

/// `deduplicated: firing since 2026-12-01T12:01:07Z`.
pub fn deduplicated_reason(open: &OpenAlert) -> String {
    format!(
        "deduplicated: firing since {}",
        open.first_seen.to_rfc3339_opts(SecondsFormat::Secs, true)
    )
}

/// `resolved; 2 of 3 alerts of INC-7 still firing` (or without an incident: `resolved`).
pub fn resolved_reason(incident: Option<i64>, still_firing: i64, total: i64) -> String {
    match incident {
        Some(number) if still_firing > 0 => {
            format!("resolved; {still_firing} of {total} alerts of INC-{number} still firing")
        }
        Some(number) => {
            format!("resolved; no alert of INC-{number} is still firing ({total} in all)")
        }
        None => "resolved".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::signals::routing::{Route, Routing};

    fn routed(action: RouteAction) -> Routed {
        let routing = Routing {
            routes: vec![Route::catch_all("r", action)],
            ..Routing::default()
        };
        routing.route(
            "prom",
            &AlertEvent::new(EventAction::Trigger, "k".into(), "t".into()),
        )
    }

    fn open(incident: Option<IncidentLink>) -> OpenAlert {
        OpenAlert {
            id: Uuid::nil(),
            first_seen: DateTime::UNIX_EPOCH,
            incident,
        }
    }

    #[test]
    fn every_combination_decides_as_documented() {
        let inc = IncidentLink {
            id: Uuid::nil(),
            number: 7,
        };
        let fire = AlertEvent::new(EventAction::Trigger, "k".into(), "t".into());
        let resolve = AlertEvent {
            action: EventAction::Resolve,
            ..fire.clone()
        };
        let ack = AlertEvent {
            action: EventAction::Acknowledge,
            ..fire.clone()
        };
        let known = |open_alert, group_incident| Known {
            open_alert,
            group_incident,
        };
        let declare = routed(RouteAction::Declare);
        let attach = routed(RouteAction::Attach);
        let record = routed(RouteAction::Record);
        assert_eq!(
            decide(&fire, &declare, known(Some(open(None)), None)),
            Decision::Deduplicate(open(None))
        );
        assert_eq!(
            decide(&fire, &declare, known(None, None)),
            Decision::Declare
        );
        assert_eq!(
            decide(&fire, &declare, known(None, Some(inc))),
            Decision::Attach(inc)
        );
        assert_eq!(
            decide(&fire, &attach, known(None, Some(inc))),
            Decision::Attach(inc)
        );
        assert!(
            matches!(decide(&fire, &attach, known(None, None)), Decision::Record(r) if r.contains("no open incident"))
        );
        assert!(
            matches!(decide(&fire, &record, known(None, Some(inc))), Decision::Record(r) if r == "recorded only: route r")
        );
        assert_eq!(
            decide(&resolve, &declare, known(Some(open(Some(inc))), None)),
            Decision::Resolve(open(Some(inc)))
        );
        assert!(matches!(
            decide(&resolve, &declare, known(None, Some(inc))),
            Decision::Ignore(_)
        ));
        assert_eq!(
            decide(&ack, &declare, known(Some(open(None)), None)),
            Decision::Acknowledge(open(None))
        );
        assert!(matches!(
            decide(&ack, &declare, known(None, None)),
            Decision::Ignore(_)
        ));
    }

    #[test]
    fn reasons_read_as_the_ledger_shows_them() {
        assert_eq!(
            resolved_reason(Some(7), 2, 3),
            "resolved; 2 of 3 alerts of INC-7 still firing"
        );
        assert_eq!(
            declared_reason(7, &routed(RouteAction::Declare)),
            "declared INC-7: route r, group {source=prom, key=k}, no `severity`: default"
        );
    }
}
