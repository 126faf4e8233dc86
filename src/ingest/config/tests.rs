//! Tests of `config`.

use super::*;

fn env(name: &str) -> Option<String> {
    (name.starts_with("OK")).then(|| format!("{name}-0123456789abcdef"))
}

const FILE: &str = "\
sources:
  - name: prom
    kind: alertmanager
    secret_env: OK_PROM
    previous_secret_env: OK_PROM_OLD
routes:
  - name: critical
    sources: [prom]
    match: {severity: critical}
    match_re: {alertname: \"High.*\"}
    group_window: 4h
    title: \"{{ labels.alertname }}\"
  - name: warnings
    action: record
on_all_resolved: monitoring
dependencies: {payments: [postgres]}
correlation: {before: 1h}
";

#[test]
fn a_whole_file_parses() {
    let alerting = parse(FILE, &env).unwrap();
    let prom = alerting.source("prom").unwrap();
    assert_eq!(prom.kind, SourceKind::Alertmanager);
    assert_eq!(prom.secrets.len(), 2);
    assert_eq!(alerting.routing.routes.len(), 2);
    assert_eq!(alerting.routing.routes[1].action, RouteAction::Record);
    assert_eq!(alerting.routing.on_all_resolved, ResolvedPolicy::Monitoring);
    assert_eq!(
        alerting.routing.correlation_before,
        Duration::from_secs(3600)
    );
    assert_eq!(alerting.routing.dependencies["payments"], vec!["postgres"]);
}

#[test]
fn errors_name_the_line_and_what_is_allowed() {
    let cases = [
        (
            FILE.replace("OK_PROM_OLD", "MISSING"),
            5,
            "`MISSING` is not set",
        ),
        (
            FILE.replace("kind: alertmanager", "kind: nagios"),
            3,
            "unknown source kind `nagios`",
        ),
        (
            FILE.replace("\"High.*\"", "\"High(\""),
            10,
            "not a valid regular expression",
        ),
        (
            FILE.replace("group_window: 4h", "group_window: soon"),
            11,
            "`group_window`",
        ),
        (
            FILE.replace("action: record", "action: page"),
            14,
            "unknown route action `page`",
        ),
        (
            FILE.replace("sources: [prom]", "sources: [nope]"),
            7,
            "`nope`, which is not defined",
        ),
        (
            FILE.replace("{{ labels.alertname }}", "{{ labels.alertname"),
            12,
            "title template",
        ),
        (
            FILE.replace("on_all_resolved: monitoring", "on_all_resolved: close"),
            15,
            "unknown resolved policy",
        ),
        (FILE.replace("match:", "mtch:"), 9, "mtch"),
    ];
    for (text, line, needle) in cases {
        let err = parse(&text, &env).unwrap_err();
        assert_eq!(err.line, line, "{err}");
        assert!(err.to_string().contains(needle), "{err} lacks {needle}");
    }
}
