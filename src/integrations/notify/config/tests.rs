//! Tests of `config`: a whole file, and each refusal with its line.

use super::*;
use crate::domain::Severity;
use crate::domain::notification::{EventType, Subscription, TargetKind};
use crate::domain::status_update::Audience;

const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

fn env(name: &str) -> Option<String> {
    match name {
        "OPS_SLACK_WEBHOOK_URL" => Some("https://hooks.slack.com/services/T0/B0/xyz".into()),
        "TEAMS_URL" => Some("https://example.webhook.office.com/workflows/abc".into()),
        "AUDIT_HOOK_SECRET" | "AUDIT_HOOK_SECRET_OLD" => Some(SECRET.into()),
        "BAD_SECRET" => Some("C2FVsBQIhrscChlQIMV+b5sSYspob7oD".into()),
        "FTP_URL" => Some("ftp://files.example.com/x".into()),
        "EMPTY" => Some("  ".into()),
        _ => None,
    }
}

const FILE: &str = "\
public_url: https://firebreak.example.com/
status_page:
  title: Example Inc. status
  components:
    - service: checkout
      name: Checkout
      description: Web and mobile checkout
    - service: api
      name: API
delivery:
  timeout: 5s
  first_retry: 10s
  give_up_after: 12h
targets:
  - name: ops-slack
    kind: slack
    url_env: OPS_SLACK_WEBHOOK_URL
    events: [declared, severity_changed, status_update]
    audiences: [internal, stakeholders]
    severities: [SEV1, SEV2]
    services: [checkout]
  - name: audit-hook
    kind: webhook
    url: https://hooks.example.com/firebreak
    secret_env: AUDIT_HOOK_SECRET
    previous_secret_env: AUDIT_HOOK_SECRET_OLD
  - name: teams
    kind: teams
    url_env: TEAMS_URL
";

fn refusal(text: &str) -> String {
    match parse(text, &env) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(err) => err,
    }
}

#[test]
fn a_whole_file_parses() {
    let outbound = parse(FILE, &env).unwrap();
    assert_eq!(
        outbound.public_url.as_deref(),
        Some("https://firebreak.example.com")
    );
    let page = &outbound.status_page;
    assert_eq!(page.title, "Example Inc. status");
    assert_eq!(page.public_url, outbound.public_url);
    assert_eq!(page.public_services(), ["checkout", "api"]);
    assert_eq!(
        page.components[0].description.as_deref(),
        Some("Web and mobile checkout")
    );
    assert_eq!(outbound.delivery.timeout, Duration::from_secs(5));
    assert_eq!(outbound.delivery.retry.first_retry, Duration::from_secs(10));
    assert_eq!(
        outbound.delivery.retry.give_up_after,
        Duration::from_secs(12 * 3600)
    );
    let slack = outbound.target("ops-slack").unwrap();
    assert_eq!(slack.kind, TargetKind::Slack);
    assert_eq!(
        slack.url.expose(),
        "https://hooks.slack.com/services/T0/B0/xyz"
    );
    assert!(slack.secrets.is_empty());
    let wanted = &slack.subscription;
    assert_eq!(
        wanted.events,
        [
            EventType::Declared,
            EventType::SeverityChanged,
            EventType::StatusUpdate
        ]
    );
    assert_eq!(
        wanted.audiences,
        [Audience::Internal, Audience::Stakeholders]
    );
    assert_eq!(wanted.severities, [Severity::Sev1, Severity::Sev2]);
    assert_eq!(wanted.services, ["checkout"]);
    let hook = outbound.target("audit-hook").unwrap();
    assert_eq!(hook.secrets.len(), 2);
    assert_eq!(hook.subscription, Subscription::default());
    assert_eq!(outbound.target("teams").unwrap().kind, TargetKind::Teams);
    assert_ne!(slack.digest(), hook.digest());
    assert_eq!(slack.digest().len(), 64);
    assert!(
        !format!("{outbound:?}").contains("xyz"),
        "a secret URL is printed"
    );
}

#[test]
fn an_empty_file_means_no_targets_and_the_defaults() {
    let outbound = parse("", &env).unwrap();
    assert!(outbound.targets.is_empty());
    assert_eq!(outbound.delivery, Delivery::default());
    assert_eq!(outbound.status_page, PageConfig::default());
    assert_eq!(outbound.delivery.timeout, Duration::from_secs(10));
}

#[test]
fn errors_name_the_line_the_field_and_what_is_allowed() {
    let cases = [
        (
            FILE.replace("  timeout: 5s", "  timout: 5s"),
            11,
            "unknown field `timout`",
        ),
        (
            FILE.replace("    kind: slack", "    kind: email"),
            16,
            "unknown target kind `email`: use one of `slack`, `teams`, `webhook`",
        ),
        (
            FILE.replace("declared, severity", "declared, paged, severity"),
            18,
            "unknown event type `paged`",
        ),
        (
            FILE.replace("[internal, stakeholders]", "[internal, press]"),
            19,
            "unknown audience `press`",
        ),
        (
            FILE.replace("[SEV1, SEV2]", "[SEV1, SEV9]"),
            20,
            "unknown severity `SEV9`",
        ),
        (
            FILE.replace("services: [checkout]", "services: [Check Out]"),
            21,
            "not a service slug",
        ),
        (
            FILE.replace("services: [checkout]", "services: []"),
            21,
            "`services` is empty",
        ),
        (
            FILE.replace("name: teams", "name: ops-slack"),
            27,
            "target `ops-slack` is defined twice",
        ),
        (
            FILE.replace("name: teams", "name: Teams!"),
            27,
            "not a slug",
        ),
        (
            FILE.replace("url_env: TEAMS_URL", "url_env: MISSING_URL"),
            29,
            "MISSING_URL is not set",
        ),
        (
            FILE.replace("url_env: TEAMS_URL", "url_env: EMPTY"),
            29,
            "EMPTY is empty",
        ),
        (
            FILE.replace("url_env: TEAMS_URL", "url_env: FTP_URL"),
            29,
            "only http and https",
        ),
        (
            FILE.replace("url_env: TEAMS_URL", "url: https://x.example.com/"),
            29,
            "is a credential",
        ),
        (
            FILE.replace("    url_env: TEAMS_URL\n", ""),
            27,
            "needs `url_env`",
        ),
        (
            FILE.replace("https://hooks.example.com/firebreak", "hooks.example.com"),
            24,
            "not an absolute URL",
        ),
        (
            FILE.replace(
                "https://hooks.example.com/firebreak",
                "https://u:p@hooks.example.com",
            ),
            24,
            "user name or password",
        ),
        (
            FILE.replace("    secret_env: AUDIT_HOOK_SECRET\n", "")
                .replace("    previous_secret_env: AUDIT_HOOK_SECRET_OLD\n", ""),
            22,
            "needs `secret_env`",
        ),
        (
            FILE.replace(
                "secret_env: AUDIT_HOOK_SECRET\n",
                "secret_env: BAD_SECRET\n",
            ),
            25,
            "does not start with `whsec_`",
        ),
        (
            FILE.replace("AUDIT_HOOK_SECRET_OLD", "OLD_GONE"),
            26,
            "OLD_GONE is not set",
        ),
        (
            FILE.replace(
                "url_env: TEAMS_URL",
                "url_env: TEAMS_URL\n    secret_env: AUDIT_HOOK_SECRET",
            ),
            30,
            "webhook targets only",
        ),
        (
            FILE.replace(
                "events: [declared, severity_changed, status_update]",
                "events: [declared]",
            ),
            19,
            "leaves out `status_update`",
        ),
        (
            FILE.replace("service: api", "service: API"),
            8,
            "not a service slug",
        ),
        (
            FILE.replace("service: api", "service: checkout"),
            8,
            "`checkout` is listed twice",
        ),
        (
            FILE.replace("name: API", "name: \"\""),
            9,
            "`status_page.components.name` must be one line",
        ),
        (
            FILE.replace("timeout: 5s", "timeout: 90s"),
            11,
            "between 1s and 60s",
        ),
        (
            FILE.replace("timeout: 5s", "timeout: soon"),
            11,
            "`delivery.timeout`: `soon` is not a duration",
        ),
        (
            FILE.replace("give_up_after: 12h", "give_up_after: 30s"),
            13,
            "between 1m and 168h",
        ),
        (
            FILE.replace("first_retry: 10s", "first_retry: 1h")
                .replace("give_up_after: 12h", "give_up_after: 2m"),
            13,
            "shorter than",
        ),
        (
            FILE.replace("https://firebreak.example.com/", "firebreak.example.com"),
            1,
            "`public_url`",
        ),
    ];
    for (text, line, needle) in cases {
        let err = refusal(&text);
        assert!(
            err.starts_with(&format!("line {line}: ")),
            "{err} (expected line {line})"
        );
        assert!(err.contains(needle), "{err} lacks {needle}");
        assert!(!err.contains("hooks.slack.com"), "{err} shows a secret URL");
    }
}

#[test]
fn a_missing_file_is_named() {
    let err = load(Path::new("/nonexistent/notifications.yaml")).unwrap_err();
    assert!(err.contains("/nonexistent/notifications.yaml"), "{err}");
}

#[test]
fn incident_links_follow_the_template_and_a_template_must_name_the_incident() {
    let outbound = parse(
        "incident_url: https://grafana.example.com/incidents/{reference}?n={number}\n",
        &env,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        outbound.incident_link(42).as_deref(),
        Some("https://grafana.example.com/incidents/INC-42?n=42")
    );
    assert_eq!(
        parse("targets: []\n", &env).map(|o| o.incident_link(1)),
        Ok(None)
    );
    let err = parse(
        "incident_url: https://grafana.example.com/incidents\n",
        &env,
    )
    .err();
    assert!(err.is_some_and(|e| e.starts_with("line 1:") && e.contains("{reference}")));
    let err = parse("incident_url: ftp://x/{number}\n", &env).err();
    assert!(err.is_some_and(|e| e.contains("incident_url")));
}
