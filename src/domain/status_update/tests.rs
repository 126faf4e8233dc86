use chrono::{Duration, TimeZone, Utc};

use super::*;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0)
        .single()
        .unwrap_or_default()
}

fn draft(audience: &str, message: &str) -> UpdateDraft {
    UpdateDraft {
        audience: audience.parse().unwrap_or(Audience::Internal),
        status: PageStatus::Investigating,
        message: message.into(),
        services: vec![("checkout".into(), ServiceState::PartialOutage)],
        next_update_at: Some(now() + Duration::minutes(30)),
        public_title: Some("Checkout errors".into()),
    }
}

fn people() -> PeopleOnIncident {
    PeopleOnIncident {
        names: vec!["alice".into(), "bob.smith@example.com".into(), "ci".into()],
    }
}

fn public() -> Vec<String> {
    vec!["checkout".into(), "api".into()]
}

#[test]
fn a_public_update_is_checked_and_keeps_its_words() {
    let checked = draft("public", "Some checkouts fail; we are rolling back.")
        .check(&public(), None, &people(), now())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(checked.message, "Some checkouts fail; we are rolling back.");
    assert_eq!(checked.data.audience, Audience::Public);
    assert_eq!(checked.data.services[0].state, ServiceState::PartialOutage);
    assert_eq!(
        checked.data.public_title.as_deref(),
        Some("Checkout errors")
    );
}

#[test]
fn public_updates_name_no_one() {
    for message in [
        "Alice is rolling back the deploy",
        "ask bob.smith about it",
        "contact ops@example.com",
        "cc @carol",
    ] {
        let err = draft("public", message)
            .check(&public(), None, &people(), now())
            .err();
        assert!(
            err.as_ref().is_some_and(|e| e.field == "message"),
            "{message}: {err:?}"
        );
    }
    // The same words are fine internally; short principals never match ordinary words.
    let mut internal = draft("internal", "Alice is rolling back the deploy");
    internal.public_title = None;
    assert!(internal.check(&public(), None, &people(), now()).is_ok());
    assert!(
        draft("public", "CI checks pass again")
            .check(&public(), None, &people(), now())
            .is_ok()
    );
}

fn refused(message: &str, people: &PeopleOnIncident) -> bool {
    draft("public", message)
        .check(&public(), None, people, now())
        .is_err_and(|e| e.field == "message")
}

fn named(names: &[&str]) -> PeopleOnIncident {
    PeopleOnIncident {
        names: names.iter().map(|n| (*n).to_owned()).collect(),
    }
}

#[test]
fn any_part_of_a_name_is_refused_as_a_whole_word() {
    let people = named(&[
        "Alice Chen (SRE)",
        "alice.smith",
        "dana_w@example.com",
        "@evan",
    ]);
    for message in [
        "Alice is fixing it",
        "Chen is rolling back",
        "Escalated to Chen, Alice",
        "Alice  Chen is on it",
        "ALICE CHEN (SRE) is on it",
        "Alice Smith has a fix",
        "smith's fix is rolling out",
        "ask alice.smith",
        "Dana is watching the graphs",
        "Evan deployed a fix",
    ] {
        assert!(refused(message, &people), "{message}");
    }
    // The title is checked too.
    let mut d = draft("public", "A fix is rolling out");
    d.public_title = Some("Chen's checkout outage".into());
    let err = d.check(&public(), None, &people, now()).err();
    assert!(err.is_some_and(|e| e.field == "public_title"));
    // Only whole words: names inside other words, and decorations, are fine.
    for message in [
        "Chenille orders are delayed; Malice is not suspected",
        "Our SRE team is investigating",
        "A fix for the W series is rolling out",
    ] {
        assert!(!refused(message, &people), "{message}");
    }
}

#[test]
fn generic_and_service_principals_refuse_no_ordinary_text() {
    let people = named(&[
        "api",
        "web",
        "ops",
        "app",
        "local",
        "root",
        "admin",
        "bot",
        "firebreak",
        "checkout",
        "ci",
    ]);
    for message in [
        "API errors are elevated; the web app and checkout are slow",
        "Our ops team is rolling back the app; local caches are warm",
        "The root cause is a bot flood; admin pages are unaffected",
        "Firebreak CI checks pass again",
    ] {
        assert!(!refused(message, &people), "{message}");
    }
}

#[test]
fn only_an_at_followed_by_a_letter_is_a_mention() {
    let people = named(&[]);
    for message in [
        "Next update @ 14:00",
        "Errors peaked @14:05 UTC",
        "Error rate @ 5%",
    ] {
        assert!(!refused(message, &people), "{message}");
    }
    for message in ["cc @carol", "write to help@example.com", "thanks,@dave"] {
        assert!(refused(message, &people), "{message}");
    }
}

#[test]
fn public_updates_name_only_public_components() {
    let mut d = draft("public", "x");
    d.services = vec![("payments-db".into(), ServiceState::MajorOutage)];
    let err = d.check(&public(), None, &people(), now()).err();
    assert!(err.is_some_and(|e| e.field == "services[0].service" && e.reason.contains("api")));
}

#[test]
fn a_first_public_update_needs_a_title_and_later_ones_inherit_it() {
    let mut d = draft("public", "x");
    d.public_title = None;
    assert!(d.clone().check(&public(), None, &people(), now()).is_err());
    let checked = d
        .check(&public(), Some("Checkout errors"), &people(), now())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        checked.data.public_title.as_deref(),
        Some("Checkout errors")
    );
}

#[test]
fn next_update_must_be_soon_and_not_after_resolution() {
    let mut d = draft("internal", "x");
    d.public_title = None;
    d.next_update_at = Some(now() - Duration::minutes(1));
    assert!(d.clone().check(&public(), None, &people(), now()).is_err());
    d.next_update_at = Some(now() + Duration::days(8));
    assert!(d.clone().check(&public(), None, &people(), now()).is_err());
    d.status = PageStatus::Resolved;
    d.next_update_at = Some(now() + Duration::minutes(5));
    let err = d.check(&public(), None, &people(), now()).err();
    assert!(err.is_some_and(|e| e.field == "next_update_at"));
}

#[test]
fn overdue_means_promised_past_and_unresolved() {
    let update = StakeholderUpdate {
        audience: Audience::Stakeholders,
        status: PageStatus::Identified,
        services: vec![],
        next_update_at: Some(now()),
        public_title: None,
    };
    assert!(!next_update_overdue(&update, now() - Duration::seconds(1)));
    assert!(next_update_overdue(&update, now() + Duration::seconds(1)));
    let resolved = StakeholderUpdate {
        status: PageStatus::Resolved,
        ..update
    };
    assert!(!next_update_overdue(&resolved, now() + Duration::hours(1)));
}

#[test]
fn duplicate_services_are_refused() {
    let mut d = draft("internal", "x");
    d.public_title = None;
    d.services = vec![
        ("api".into(), ServiceState::DegradedPerformance),
        ("api".into(), ServiceState::MajorOutage),
    ];
    let err = d.check(&public(), None, &people(), now()).err();
    assert!(err.is_some_and(|e| e.field == "services[1].service"));
}
