//! Tests of `routing`.

use super::*;
use crate::domain::signals::EventAction;

fn event(labels: &[(&str, &str)]) -> AlertEvent {
    let mut e = AlertEvent::new(EventAction::Trigger, "fp1".into(), "High errors".into());
    e.labels = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    e
}

fn routing() -> Routing {
    let mut critical = Route::catch_all("payments-critical", RouteAction::Declare);
    critical.matchers = vec![
        Matcher::Equals {
            field: "service".into(),
            value: "payments".into(),
        },
        Matcher::regex("severity".into(), "critical|page").unwrap(),
    ];
    critical.title = Some("{{ labels.alertname }} on {{ labels.service }}".into());
    critical.copy_labels = vec!["team".into()];
    let mut wazuh = Route::catch_all("wazuh", RouteAction::Declare);
    wazuh.sources = vec!["wazuh".into()];
    wazuh.severity.field = "rule_level".into();
    wazuh.severity.levels = vec![(12.0, Severity::Sev1), (8.0, Severity::Sev2)];
    wazuh.severity.default = Severity::Sev4;
    let warnings = Route::catch_all("warnings", RouteAction::Record);
    Routing {
        routes: vec![critical, wazuh, warnings],
        ..Routing::default()
    }
}

#[test]
fn the_first_matching_route_wins_and_says_why() {
    let e = event(&[
        ("alertname", "HighErrorRate"),
        ("service", "payments"),
        ("severity", "critical"),
        ("team", "pay"),
    ]);
    let routed = routing().route("prom", &e);
    assert_eq!(routed.route.as_deref(), Some("payments-critical"));
    assert_eq!(routed.action, RouteAction::Declare);
    assert_eq!(routed.severity, Severity::Sev1);
    assert_eq!(routed.title, "HighErrorRate on payments");
    assert_eq!(routed.services, vec!["payments"]);
    assert_eq!(routed.labels["team"], "pay");
    assert_eq!(
        routed.to_string(),
        "route payments-critical, group {source=prom, alertname=HighErrorRate, service=payments}"
    );
    let warning = event(&[
        ("alertname", "Slow"),
        ("service", "payments"),
        ("severity", "warning"),
    ]);
    let routed = routing().route("prom", &warning);
    assert_eq!(routed.route.as_deref(), Some("warnings"));
    assert_eq!(routed.action, RouteAction::Record);
}

#[test]
fn regexes_are_anchored_and_levels_map_numbers() {
    let partial = event(&[("service", "payments"), ("severity", "critical-ish")]);
    assert_eq!(
        routing().route("prom", &partial).route.as_deref(),
        Some("warnings")
    );
    let level = event(&[("rule_level", "10")]);
    let routed = routing().route("wazuh", &level);
    assert_eq!(routed.route.as_deref(), Some("wazuh"));
    assert_eq!(routed.severity, Severity::Sev2);
    let low = routing().route("wazuh", &event(&[("rule_level", "3")]));
    assert_eq!(low.severity, Severity::Sev4);
}

#[test]
fn with_no_grouping_field_an_alert_is_its_own_group() {
    let mut route = Route::catch_all("r", RouteAction::Declare);
    route.group_by = vec!["cluster".into()];
    let routing = Routing {
        routes: vec![route],
        ..Routing::default()
    };
    assert_eq!(routing.route("s", &event(&[])).group_key, "key=fp1");
    assert_eq!(
        Routing::default().route("s", &event(&[])).group_key,
        "source=s,key=fp1"
    );
    let none = Routing::default().route("s", &event(&[]));
    assert_eq!(none.route, None);
    assert_eq!(none.action, RouteAction::Record);
}
