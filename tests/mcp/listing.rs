//! Filtered lists: every filter combination answers from index ranges that must follow each
//! change of services, status and severity, page without gaps or repeats, and never list an
//! incident twice.

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
