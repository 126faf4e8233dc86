use chrono::{DateTime, Duration, TimeZone, Utc};
use uuid::Uuid;

use super::*;
use crate::domain::status_update::{AffectedService, Audience, PageStatus, StakeholderUpdate};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 1, 12, 0, 0).unwrap()
}

fn config() -> PageConfig {
    PageConfig {
        title: "Example status".into(),
        components: vec![
            Component {
                service: "checkout".into(),
                name: "Checkout".into(),
                description: None,
            },
            Component {
                service: "api".into(),
                name: "Public API".into(),
                description: Some("REST and webhooks".into()),
            },
        ],
        public_url: None,
    }
}

fn update(
    incident: i64,
    minutes_ago: i64,
    status: PageStatus,
    services: &[(&str, ServiceState)],
) -> PublishedUpdate {
    PublishedUpdate {
        id: Uuid::now_v7(),
        incident_number: incident,
        message: format!("update {minutes_ago} minutes ago"),
        published_at: now() - Duration::minutes(minutes_ago),
        update: StakeholderUpdate {
            audience: Audience::Public,
            status,
            services: services
                .iter()
                .map(|(service, state)| AffectedService {
                    service: (*service).to_owned(),
                    state: *state,
                })
                .collect(),
            next_update_at: None,
            public_title: Some(format!("Incident {incident} title")),
        },
    }
}

fn state_of(page: &Page, service: &str) -> ServiceState {
    page.components
        .iter()
        .find(|c| c.component.service == service)
        .map(|c| c.state)
        .unwrap()
}

#[test]
fn a_quiet_page_is_all_operational() {
    let page = Page::build(&config(), Vec::new(), now());
    assert_eq!(page.headline.indicator, Indicator::None);
    assert_eq!(page.headline.description, "All Systems Operational");
    assert_eq!(page.components.len(), 2);
    assert!(page.incidents.is_empty());
    assert_eq!(page.updated_at, now());
}

#[test]
fn a_component_takes_the_worst_state_of_the_open_incidents_latest_updates() {
    use ServiceState::*;
    let updates = vec![
        update(
            1,
            30,
            PageStatus::Investigating,
            &[("checkout", MajorOutage)],
        ),
        update(
            1,
            10,
            PageStatus::Monitoring,
            &[("checkout", DegradedPerformance)],
        ),
        update(
            2,
            20,
            PageStatus::Identified,
            &[("checkout", PartialOutage)],
        ),
        update(
            2,
            5,
            PageStatus::Identified,
            &[("api", DegradedPerformance)],
        ),
    ];
    let page = Page::build(&config(), updates, now());
    // Incident 1's latest says degraded, incident 2's latest no longer names checkout.
    assert_eq!(state_of(&page, "checkout"), DegradedPerformance);
    assert_eq!(state_of(&page, "api"), DegradedPerformance);
    assert_eq!(page.headline.indicator, Indicator::Minor);
    assert_eq!(page.headline.description, "Degraded Performance");
    // Impact is the worst an incident ever got.
    assert_eq!(page.incidents[1].impact, Indicator::Critical);
}

#[test]
fn resolution_returns_components_to_operational() {
    use ServiceState::*;
    let updates = vec![
        update(
            1,
            30,
            PageStatus::Investigating,
            &[("checkout", MajorOutage)],
        ),
        update(1, 1, PageStatus::Resolved, &[("checkout", Operational)]),
        update(2, 20, PageStatus::Identified, &[("api", PartialOutage)]),
        update(2, 2, PageStatus::Resolved, &[]),
    ];
    let page = Page::build(&config(), updates, now());
    assert_eq!(state_of(&page, "checkout"), Operational);
    assert_eq!(state_of(&page, "api"), Operational);
    assert_eq!(page.headline.description, "All Systems Operational");
    assert!(page.incidents.iter().all(|i| i.resolved_at.is_some()));
}

#[test]
fn the_headline_follows_the_worst_component() {
    use ServiceState::*;
    for (state, indicator, words) in [
        (PartialOutage, Indicator::Major, "Partial System Outage"),
        (MajorOutage, Indicator::Critical, "Major Service Outage"),
    ] {
        let page = Page::build(
            &config(),
            vec![update(1, 1, PageStatus::Investigating, &[("api", state)])],
            now(),
        );
        assert_eq!(page.headline.indicator, indicator);
        assert_eq!(page.headline.description, words);
    }
    let page = Page::build(
        &config(),
        vec![update(1, 1, PageStatus::Investigating, &[])],
        now(),
    );
    assert_eq!(page.headline.description, "Minor Service Outage");
}

#[test]
fn services_that_are_not_components_are_left_out() {
    let updates = vec![update(
        1,
        1,
        PageStatus::Investigating,
        &[("billing-db", ServiceState::MajorOutage)],
    )];
    let page = Page::build(&config(), updates, now());
    assert!(page.incidents[0].updates[0].affected.is_empty());
    assert_eq!(page.incidents[0].impact, Indicator::None);
    assert!(
        page.components
            .iter()
            .all(|c| c.component.service != "billing-db")
    );
}

#[test]
fn updates_for_other_audiences_never_reach_the_page() {
    let mut internal = update(
        1,
        1,
        PageStatus::Investigating,
        &[("api", ServiceState::MajorOutage)],
    );
    internal.update.audience = Audience::Internal;
    let page = Page::build(&config(), vec![internal], now());
    assert!(page.incidents.is_empty());
    assert_eq!(state_of(&page, "api"), ServiceState::Operational);
}

#[test]
fn open_incidents_come_first_and_old_resolved_ones_drop_off() {
    let day = 24 * 60;
    let updates = vec![
        update(1, 91 * day, PageStatus::Resolved, &[]),
        update(2, 100 * day, PageStatus::Investigating, &[]),
        update(3, 10, PageStatus::Resolved, &[]),
        update(4, 60, PageStatus::Identified, &[]),
    ];
    let page = Page::build(&config(), updates, now());
    let order: Vec<i64> = page.incidents.iter().map(|i| i.number).collect();
    assert_eq!(order, [4, 2, 3]);
}

#[test]
fn an_incident_is_named_by_its_latest_public_title_and_promises_only_while_open() {
    let mut first = update(1, 20, PageStatus::Investigating, &[]);
    first.update.public_title = Some("Slow checkout".into());
    let mut second = update(1, 10, PageStatus::Identified, &[]);
    second.update.public_title = Some("Checkout errors".into());
    second.update.next_update_at = Some(now() + Duration::minutes(30));
    let mut third = update(1, 5, PageStatus::Monitoring, &[]);
    third.update.public_title = None;
    third.update.next_update_at = Some(now() + Duration::minutes(45));
    let page = Page::build(&config(), vec![first, second, third], now());
    let incident = &page.incidents[0];
    assert_eq!(incident.name, "Checkout errors");
    assert_eq!(incident.code(), "INC-1");
    assert_eq!(incident.next_update_at, Some(now() + Duration::minutes(45)));
    assert_eq!(incident.created_at, now() - Duration::minutes(20));
    assert_eq!(incident.updates[0].status, PageStatus::Monitoring);
}

#[test]
fn the_feed_takes_the_newest_updates_across_incidents() {
    let updates = (0..30)
        .map(|i| update(i % 3, i, PageStatus::Investigating, &[]))
        .collect();
    let page = Page::build(&config(), updates, now());
    let recent = page.recent_updates(5);
    assert_eq!(recent.len(), 5);
    assert!(
        recent
            .windows(2)
            .all(|w| w[0].1.published_at >= w[1].1.published_at)
    );
    assert_eq!(recent[0].1.published_at, now());
}
