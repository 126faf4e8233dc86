//! `find_similar_incidents` through a real MCP client: the same cause ranks above look-alikes,
//! each hit says how it was resolved and why it matched, exclusions hold (merged, declined,
//! `test`), descriptions work without an incident, and open briefs show the best two.

use serde_json::{Value, json};

use crate::postmortems::{draft, resolve, writer_sections};
use crate::support::refusals::{assert_refused, invalid, with};
use crate::support::{Client, TestDb, call, failure, ok};

/// Declares an incident and returns its reference.
async fn declare(client: &Client, arguments: Value) -> String {
    let declared = ok(call(client, "declare_incident", arguments).await);
    declared["incident"]["reference"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn pool_incident(title: &str, labels: &Value) -> Value {
    json!({
        "title": title,
        "severity": "SEV2",
        "services": ["checkout-api"],
        "labels": labels,
        "summary": "Requests queue behind pgbouncer: the connection pool is saturated and checkout latency is far above SLO.",
    })
}

/// A history: two past incidents with the pool cause (one with a postmortem and an action
/// item), a look-alike with another cause, declined and `test` ones with the pool cause, and an
/// open incident (INC-7) with it, into which INC-6 was merged.
struct History {
    /// Kept so the database outlives the test.
    _db: TestDb,
    client: Client,
    same_cause: [String; 2],
    look_alike: String,
    declined: String,
    test: String,
    merged: String,
    open: String,
}

async fn history() -> History {
    let db = TestDb::new().await;
    let client = db.client().await;
    let alert = json!({"alertname": "CheckoutLatencyHigh", "region": "eu-west-1"});
    let first = declare(
        &client,
        pool_incident("Checkout latency: pgbouncer pool saturated", &alert),
    )
    .await;
    resolve(&client, &first).await;
    let postmortem = draft(&client, &first).await;
    ok(call(
        &client,
        "update_postmortem",
        json!({"incident": first, "expected_version": postmortem["postmortem"]["version"], "sections": writer_sections()}),
    )
    .await);
    ok(call(
        &client,
        "add_action_item",
        json!({"incident": first, "title": "Alert on pool saturation", "priority": "P2", "kind": "detect"}),
    )
    .await);
    let second = declare(
        &client,
        pool_incident("Slow checkout, pgbouncer saturated again", &alert),
    )
    .await;
    resolve(&client, &second).await;
    let look_alike = declare(
        &client,
        json!({
            "title": "Checkout latency after DNS resolver failures",
            "severity": "SEV3",
            "services": ["dns"],
            "summary": "The resolver in eu-west-1 times out; checkout calls stall on lookups.",
        }),
    )
    .await;
    resolve(&client, &look_alike).await;
    let declined = declare(
        &client,
        pool_incident(
            "Checkout latency: pgbouncer pool saturated (duplicate page)",
            &alert,
        ),
    )
    .await;
    ok(call(
        &client,
        "change_status",
        json!({"incident": declined, "to": "declined", "note": "duplicate page"}),
    )
    .await);
    let mut test_labels = alert.clone();
    test_labels["test"] = json!("true");
    let test = declare(
        &client,
        pool_incident(
            "Checkout latency: pgbouncer pool saturated (game day)",
            &test_labels,
        ),
    )
    .await;
    resolve(&client, &test).await;
    let merged = declare(
        &client,
        pool_incident("Checkout slow: pgbouncer pool saturated", &alert),
    )
    .await;
    let open = declare(
        &client,
        pool_incident("Checkout latency high, pgbouncer pool saturated", &alert),
    )
    .await;
    ok(call(
        &client,
        "change_status",
        json!({"incident": merged, "to": "merged", "merged_into": open}),
    )
    .await);
    History {
        _db: db,
        client,
        same_cause: [first, second],
        look_alike,
        declined,
        test,
        merged,
        open,
    }
}

fn references(answer: &Value) -> Vec<String> {
    answer["similar"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["incident"].as_str().unwrap().to_owned())
        .collect()
}

fn hit<'a>(answer: &'a Value, reference: &str) -> &'a Value {
    answer["similar"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["incident"] == reference)
        .unwrap_or_else(|| panic!("{reference} in {answer:#}"))
}

#[tokio::test]
async fn the_same_cause_ranks_first_with_its_resolution_and_reasons() {
    let h = history().await;
    let answer = ok(call(
        &h.client,
        "find_similar_incidents",
        json!({"incident": h.open}),
    )
    .await);
    let found = references(&answer);
    let mut top_two = found[..2].to_vec();
    top_two.sort();
    let mut same_cause = h.same_cause.to_vec();
    same_cause.sort();
    assert_eq!(top_two, same_cause, "{answer:#}");
    let scores: Vec<f64> = answer["similar"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["score"].as_f64().unwrap())
        .collect();
    assert!(scores[1] >= 0.5, "the same cause scores high: {scores:?}");
    // The look-alike (another cause, another service) is far behind, if listed at all.
    if let Some(at) = found.iter().position(|f| *f == h.look_alike) {
        assert!(scores[at] < scores[1] - 0.2, "{scores:?}");
        assert!(
            !answer["similar"][at]["why"]
                .to_string()
                .contains("same alert")
        );
    }
    let first = hit(&answer, &h.same_cause[0]);
    let why: Vec<&str> = first["why"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert!(why.contains(&"same alert CheckoutLatencyHigh"), "{why:?}");
    assert!(why.contains(&"same services: checkout-api"), "{why:?}");
    assert!(
        why.iter()
            .any(|w| w.starts_with("shared terms: ") && w.contains("pgbouncer")),
        "{why:?}"
    );
    assert!(why.contains(&"shared labels: region=eu-west-1"), "{why:?}");
    assert_eq!(first["resolution"], "Rolled back deploy 4312");
    assert_eq!(first["postmortem"]["status"], "draft");
    assert_eq!(
        first["postmortem"]["root_causes"],
        writer_sections()["root_causes"]
    );
    assert_eq!(
        first["postmortem"]["resolution"],
        writer_sections()["resolution"]
    );
    assert_eq!(first["action_items"], "1 open, 0 done");
    assert_eq!(first["status"], "resolved");
    assert!(first["time_to_resolve"].is_string(), "{first:#}");
    assert!(first["resolved_at"].is_string());
    // Merged with the compared incident: named as such, never a hit.
    assert_eq!(
        answer["merged"],
        json!([format!("{} merged into it", h.merged)])
    );
}

#[tokio::test]
async fn declined_and_test_incidents_are_left_out_unless_asked_for() {
    let h = history().await;
    let plain = ok(call(
        &h.client,
        "find_similar_incidents",
        json!({"incident": h.open, "limit": 20}),
    )
    .await);
    let found = references(&plain);
    assert!(
        !found.contains(&h.declined) && !found.contains(&h.test),
        "{found:?}"
    );
    assert!(
        !found.contains(&h.merged) && !found.contains(&h.open),
        "{found:?}"
    );
    let all = ok(call(
        &h.client,
        "find_similar_incidents",
        json!({"incident": h.open, "limit": 20, "include_declined": true, "include_test": true}),
    )
    .await);
    let found = references(&all);
    assert!(
        found.contains(&h.declined) && found.contains(&h.test),
        "{found:?}"
    );
    assert!(!found.contains(&h.merged), "merged stays out: {found:?}");
    // Seen from the merged incident: the one it went into is named, not listed.
    let from_merged = ok(call(
        &h.client,
        "find_similar_incidents",
        json!({"incident": h.merged}),
    )
    .await);
    assert!(!references(&from_merged).contains(&h.open));
    assert_eq!(
        from_merged["merged"],
        json!([format!("merged into {}", h.open)])
    );
}

#[tokio::test]
async fn a_description_finds_the_same_cause_without_an_incident() {
    let h = history().await;
    let answer = ok(call(
        &h.client,
        "find_similar_incidents",
        json!({"text": "checkout is slow, pgbouncer pool looks saturated", "services": "checkout-api", "limit": 2}),
    )
    .await);
    let mut found = references(&answer);
    found.sort();
    let mut expected: Vec<String> = vec![h.same_cause[0].clone(), h.same_cause[1].clone()];
    // The open incident is a past incident too for a description: it may rank among them.
    expected.push(h.open.clone());
    assert!(found.iter().all(|f| expected.contains(f)), "{found:?}");
    let by_alert = ok(call(
        &h.client,
        "find_similar_incidents",
        json!({"labels": {"alertname": "CheckoutLatencyHigh"}}),
    )
    .await);
    let found = references(&by_alert);
    assert!(
        found.contains(&h.same_cause[0]) && !found.contains(&h.look_alike),
        "{found:?}"
    );
    assert!(hit(&by_alert, &h.same_cause[0])["why"][0] == "same alert CheckoutLatencyHigh");
}

#[tokio::test]
async fn the_brief_of_an_open_incident_shows_the_best_two() {
    let h = history().await;
    let brief = ok(call(&h.client, "get_incident", json!({"incident": h.open})).await);
    let lines = brief["similar_incidents"]
        .as_array()
        .expect("similar_incidents");
    assert_eq!(lines.len(), 2, "{lines:#?}");
    for line in lines {
        let line = line.as_str().unwrap();
        assert!(
            h.same_cause
                .iter()
                .any(|r| line.starts_with(&format!("{r} ("))),
            "{line}"
        );
        assert!(line.contains("| why: "), "{line}");
    }
    assert!(
        lines.iter().any(|l| l
            .as_str()
            .unwrap()
            .contains("| resolved: Rolled back, then resized the pool.")),
        "{lines:#?}"
    );
    // A resolved incident's brief does not search.
    let past = ok(call(
        &h.client,
        "get_incident",
        json!({"incident": h.same_cause[0]}),
    )
    .await);
    assert!(past.get("similar_incidents").is_none(), "{past:#}");
}

#[tokio::test]
async fn find_similar_incidents_refuses_bad_input() {
    let db = TestDb::new().await;
    let client = db.client().await;
    crate::support::declare(&client, "Checkout returns 502", "SEV2").await;
    let base = json!({"incident": "INC-1"});
    let cases = vec![
        invalid(
            "both an incident and a text",
            with(&base, "text", json!("pool")),
            "`incident`",
        ),
        invalid("nothing to compare", json!({}), "`incident`"),
        invalid("only a blank text", json!({"text": "   "}), "`incident`"),
        invalid("limit 0", with(&base, "limit", json!(0)), "`limit`"),
        invalid("limit 21", with(&base, "limit", json!(21)), "`limit`"),
        invalid(
            "unknown field",
            with(&base, "since", json!("-1d")),
            "`since`",
        ),
        invalid(
            "bad service",
            json!({"services": ["Checkout API"]}),
            "`services`",
        ),
        invalid(
            "bad label key",
            json!({"labels": {"a b": "c"}}),
            "`labels.a b`",
        ),
        invalid("text too long", json!({"text": "x".repeat(9000)}), "`text`"),
        invalid(
            "not an incident",
            json!({"incident": "checkout"}),
            "`incident`",
        ),
    ];
    assert_refused(&db, &client, "find_similar_incidents", &cases).await;
    let missing = failure(
        call(
            &client,
            "find_similar_incidents",
            json!({"incident": "INC-99"}),
        )
        .await,
    );
    assert_eq!(missing.code, "not_found");
}

#[tokio::test]
async fn respond_to_incident_sends_the_agent_to_what_fixed_it_last_time() {
    let h = history().await;
    let text = crate::prompts::prompt(
        &h.client,
        "respond_to_incident",
        json!({"incident": h.open}),
    )
    .await;
    assert!(
        text.contains(&format!("`find_similar_incidents` (incident {})", h.open)),
        "{text}"
    );
    let named = h
        .same_cause
        .iter()
        .any(|r| text.contains(&format!("It looks like {r} (")));
    assert!(named, "the best past incident is named: {text}");
    assert!(text.contains("same alert CheckoutLatencyHigh"), "{text}");
}

/// 6,300 closed incidents: symptom by `g % 3`, component `comp<g % 50>` (in the summary), service
/// `svc-<g % 7>`, and the symptom's alert name on each. The cause (latency, `comp7`, `svc-0`:
/// g divisible by 3 and 7, and 7 modulo 50) recurs every 1,050 incidents: six of them.
const GENERATED_HISTORY: &str = r#"
insert into incident (id, title, summary, severity, status, services, labels, version,
    created_by_principal, created_by_channel, detected_at, declared_at, acknowledged_at,
    resolved_at, closed_at, updated_at)
select gen_random_uuid(),
    initcap(s.word) || ' on svc-' || (g % 7),
    format('Alert for svc-%s: %s. Signs point at comp%s in the request path.', g % 7, s.word, g % 50),
    3, 'closed', array['svc-' || (g % 7)], jsonb_build_object('alertname', initcap(s.word) || 'Alert'),
    6, 'generator', 'cli', t, t, t + interval '4 minutes', t + interval '1 hour', t + interval '1 day',
    t + interval '1 day'
from generate_series(0, 6299) g,
    lateral (select (array['latency', 'errors', 'timeouts'])[1 + g % 3] as word,
                    now() - make_interval(hours => 6300 - g) as t) s
"#;

#[tokio::test]
async fn a_large_history_is_searched_through_its_rarest_words() {
    let db = TestDb::new().await;
    sqlx::query(GENERATED_HISTORY)
        .execute(&db.pool)
        .await
        .unwrap();
    // What autovacuum would do: the statistics that say which words are rare.
    sqlx::query("analyze incident")
        .execute(&db.pool)
        .await
        .unwrap();
    let client = db.client().await;
    let open = declare(
        &client,
        json!({
            "title": "Latency on svc-0",
            "severity": "SEV2",
            "services": ["svc-0"],
            "labels": {"alertname": "LatencyAlert"},
            "summary": "Alert for svc-0: latency. Signs point at comp7 in the request path.",
        }),
    )
    .await;
    let answer = ok(call(&client, "find_similar_incidents", json!({"incident": open})).await);
    let similar = answer["similar"].as_array().unwrap();
    assert_eq!(similar.len(), 5, "{answer:#}");
    for hit in similar {
        let number: i64 = hit["incident"].as_str().unwrap()[4..].parse().unwrap();
        // Numbered from 1 in insertion order: incident n is g = n - 1.
        let g = number - 1;
        assert!(
            g % 3 == 0 && g % 7 == 0 && g % 50 == 7,
            "not the same cause: {hit:#}"
        );
        let why = hit["why"].to_string();
        assert!(
            why.contains("comp7") && why.contains("same alert LatencyAlert"),
            "{why}"
        );
    }
}
