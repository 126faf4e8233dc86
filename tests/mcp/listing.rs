//! Filtered lists: every filter combination answers from index ranges that must follow each
//! change of services, status and severity, page without gaps or repeats, and never list an
//! incident twice. Text search ranks the newest 200 matches and pages on to older ones.

use serde_json::{Value, json};

use crate::support::{Client, TestDb, call, ok};

fn references(page: &Value) -> Vec<String> {
    page["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["reference"].as_str().unwrap().to_owned())
        .collect()
}

async fn list(client: &Client, filter: Value) -> Vec<String> {
    references(&ok(call(client, "list_incidents", filter).await))
}

async fn declare(client: &Client, severity: &str, services: &[&str]) -> String {
    let declared = ok(call(
        client,
        "declare_incident",
        json!({"title": "listing", "severity": severity, "services": services}),
    )
    .await);
    declared["incident"]["reference"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn filtered_lists_follow_changes_to_services_status_and_severity() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let one = declare(&client, "SEV3", &["api", "db"]).await;
    let two = declare(&client, "SEV3", &["api"]).await;
    let three = declare(&client, "SEV2", &["web"]).await;
    assert_eq!(
        list(&client, json!({"service": "api"})).await,
        [two.as_str(), one.as_str()]
    );
    assert_eq!(
        list(&client, json!({"service": "db"})).await,
        [one.as_str()]
    );

    ok(call(
        &client,
        "update_incident",
        json!({"incident": one, "services": ["web"]}),
    )
    .await);
    assert_eq!(
        list(&client, json!({"service": "api"})).await,
        [two.as_str()]
    );
    assert!(list(&client, json!({"service": "db"})).await.is_empty());
    assert_eq!(
        list(&client, json!({"service": "web"})).await,
        [three.as_str(), one.as_str()]
    );

    ok(call(
        &client,
        "change_status",
        json!({"incident": three, "to": "investigating"}),
    )
    .await);
    ok(call(
        &client,
        "update_incident",
        json!({"incident": two, "severity": "SEV1"}),
    )
    .await);
    let investigating = json!({"service": "web", "status": ["investigating"]});
    assert_eq!(list(&client, investigating).await, [three.as_str()]);
    let triage = json!({"service": "web", "status": ["triage"]});
    assert_eq!(list(&client, triage).await, [one.as_str()]);
    let sev1 = json!({"service": "api", "severity": ["SEV1"]});
    assert_eq!(list(&client, sev1).await, [two.as_str()]);
    assert!(
        list(&client, json!({"severity": ["SEV3"], "service": "api"}))
            .await
            .is_empty()
    );
    // Without a service the incident table's own ranges answer.
    assert_eq!(
        list(&client, json!({"severity": ["SEV1", "SEV2"]})).await,
        [three.as_str(), two.as_str()]
    );
}

#[tokio::test]
async fn a_filtered_list_pages_across_ranges_without_gaps_or_repeats() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let mut expected = Vec::new();
    for n in 0..9 {
        let severity = ["SEV1", "SEV2", "SEV3"][n % 3];
        let services: &[&str] = if n % 4 == 0 {
            &["api", "web"]
        } else {
            &["api"]
        };
        expected.push(declare(&client, severity, services).await);
        if n % 2 == 0 {
            let reference = expected.last().unwrap();
            ok(call(
                &client,
                "change_status",
                json!({"incident": reference, "to": "investigating"}),
            )
            .await);
        }
    }
    declare(&client, "SEV4", &["api"]).await; // outside the severity filter
    expected.reverse();
    // `open` and `investigating` overlap; each incident must still come once.
    let filter = json!({"service": "api", "status": ["open", "investigating"],
        "severity": ["SEV1", "SEV2", "SEV3"], "limit": 2});
    let mut seen = Vec::new();
    let mut cursor = Value::Null;
    loop {
        let mut arguments = filter.clone();
        if !cursor.is_null() {
            arguments["cursor"] = cursor.clone();
        }
        let page = ok(call(&client, "list_incidents", arguments).await);
        seen.extend(references(&page));
        cursor = page["next_cursor"].clone();
        if cursor.is_null() {
            break;
        }
    }
    assert_eq!(seen, expected);
}

/// Reads every page of `filter`, returning the references page by page.
async fn all_pages(client: &Client, filter: Value) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut cursor = Value::Null;
    loop {
        let mut arguments = filter.clone();
        if !cursor.is_null() {
            arguments["cursor"] = cursor.clone();
        }
        let page = ok(call(client, "list_incidents", arguments).await);
        pages.push(references(&page));
        cursor = page["next_cursor"].clone();
        assert_eq!(page["truncated"], !cursor.is_null());
        if cursor.is_null() {
            return pages;
        }
        assert!(pages.len() < 50, "paging does not end");
    }
}

#[tokio::test]
async fn text_search_ranks_the_newest_200_matches_then_pages_on_to_older_ones() {
    let db = TestDb::new().await;
    // Matches spread over 300,000 numbers (inserted directly: numbers are what the search's
    // windows are cut by), many on or next to the edges of its windows and buckets. Every
    // seventh has the word in its title and so ranks above the others.
    let top: i64 = 300_000;
    let mut numbers: Vec<i64> = (0..330_i64).map(|i| top - i * i * 2 - i).collect();
    for edge in [
        1_i64 << 9,
        1 << 10,
        1 << 11,
        1 << 13,
        1 << 14,
        1 << 15,
        1 << 17,
    ] {
        for delta in [-1, 0, 1] {
            numbers.push(top - edge + delta);
            numbers.push(((top >> 10) << 10) - edge + delta);
        }
    }
    numbers.sort_unstable_by(|a, b| b.cmp(a));
    numbers.dedup();
    numbers.retain(|n| *n > 0);
    sqlx::query(
        "insert into incident (id, number, title, summary, severity, status, services, \
           created_by_principal, created_by_channel, declared_at, updated_at) \
         overriding system value \
         select gen_random_uuid(), n, \
           case when n % 7 = 0 then 'pgbouncer down' else 'pool down' end, \
           case when n % 7 = 0 then '' else 'pgbouncer saturated' end, 3, 'triage', \
           array['db'], 'tester', 'mcp', \
           timestamptz '2020-01-01' + make_interval(secs => n), now() \
         from unnest($1::bigint[]) n",
    )
    .bind(&numbers)
    .execute(&db.pool)
    .await
    .unwrap();
    // Not a match: the window counts matches, not incidents.
    sqlx::query(
        "insert into incident (id, number, title, severity, status, created_by_principal, \
           created_by_channel, declared_at, updated_at) overriding system value \
         values (gen_random_uuid(), $1, 'unrelated', 3, 'triage', 'tester', 'mcp', now(), now())",
    )
    .bind(top + 1)
    .execute(&db.pool)
    .await
    .unwrap();
    let client = db.client().await;

    // Each window: the newest 200 matches not listed yet, title matches first, then newest.
    let expected_windows: Vec<Vec<String>> = numbers
        .chunks(200)
        .map(|window| {
            let (titled, others): (Vec<i64>, Vec<i64>) =
                window.iter().copied().partition(|n| n % 7 == 0);
            titled
                .into_iter()
                .chain(others)
                .map(|n| format!("INC-{n}"))
                .collect()
        })
        .collect();
    assert!(expected_windows.len() >= 2, "{} matches", numbers.len());
    let pages = all_pages(&client, json!({"text": "pgbouncer", "limit": 60})).await;
    let listed: Vec<String> = pages.concat();
    assert_eq!(listed, expected_windows.concat());
    // The oldest title match ranks above most of the first window, yet is not in it.
    let oldest_titled = format!(
        "INC-{}",
        numbers.iter().rev().find(|n| *n % 7 == 0).unwrap()
    );
    assert!(!pages[0].contains(&oldest_titled));
    // A page ends with its window: the fourth page holds the first window's last 20.
    assert_eq!(pages[3].len(), 20);

    // Filters and `until` apply to the matches; the windows are the newest matching ones.
    let until = numbers[150];
    let filtered: Vec<i64> = numbers
        .iter()
        .copied()
        .filter(|n| *n < until && *n % 7 != 0)
        .collect();
    let until_at = (chrono::DateTime::parse_from_rfc3339("2020-01-01T00:00:00Z").unwrap()
        + chrono::Duration::seconds(until))
    .to_rfc3339();
    let pages = all_pages(
        &client,
        json!({"text": "pgbouncer saturated", "until": until_at, "service": "db", "limit": 100}),
    )
    .await;
    let expected: Vec<String> = filtered.iter().map(|n| format!("INC-{n}")).collect();
    assert_eq!(pages.concat(), expected);
    assert_eq!(pages[0], expected[..100]);
}
