//! The wire contract: `tools/list` (names, descriptions, schemas, annotations) pinned by a
//! snapshot, so any change to it is a visible diff in review.

use serde_json::{Value, json};

use crate::support::{TestDb, call, ok};

/// How many tools there are today; at most [`MAX_TOOLS`] ever.
const TOOLS: usize = 24;
/// The most tools Firebreak will offer.
const MAX_TOOLS: usize = 26;
/// The most bytes `tools/list` may take on the wire (compact JSON, as clients receive it).
const MAX_TOOLS_LIST_BYTES: usize = 40_000;
/// The most bytes of it that reach the model: names, descriptions and input schemas.
const MAX_MODEL_BYTES: usize = 20_000;
/// The most bytes the brief of a just-declared incident may take (its JSON text).
const MAX_FRESH_BRIEF_BYTES: usize = 1_200;

#[tokio::test]
async fn tools_list_matches_the_snapshot() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let tools = client.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(names.len(), TOOLS, "{names:?}");
    for tool in &tools {
        assert!(
            tool.output_schema.is_some(),
            "{} has an output schema",
            tool.name
        );
        assert!(tool.annotations.is_some(), "{} has annotations", tool.name);
        let schema = serde_json::to_string(&tool.input_schema).unwrap();
        assert!(
            !schema.contains("$ref"),
            "{} has a flat input schema: {schema}",
            tool.name
        );
    }
    let mut sorted = tools.clone();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    insta::assert_json_snapshot!("tools_list", sorted);
}

/// Context is what an agent pays for on every conversation: the tool list stays within its
/// budget as tools are added. The figures are printed so a change shows what it costs.
#[tokio::test]
async fn the_tool_list_fits_its_token_budget() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let tools = client.list_all_tools().await.unwrap();
    let whole = serde_json::to_string(&json!({"tools": tools}))
        .unwrap()
        .len();
    let model: usize = tools
        .iter()
        .map(|tool| {
            let seen = json!({"name": tool.name, "description": tool.description,
                "inputSchema": tool.input_schema});
            serde_json::to_string(&seen).unwrap().len()
        })
        .sum();
    let outputs: usize = tools
        .iter()
        .map(|tool| serde_json::to_string(&tool.output_schema).unwrap().len())
        .sum();
    eprintln!(
        "tools/list: {} tools, {whole} bytes in all, {model} reach the model, {outputs} are output schemas",
        tools.len()
    );
    assert!(tools.len() <= MAX_TOOLS, "{} tools", tools.len());
    assert!(whole <= MAX_TOOLS_LIST_BYTES, "tools/list is {whole} bytes");
    assert!(
        model <= MAX_MODEL_BYTES,
        "the model reads {model} bytes of tools/list"
    );
    for tool in &tools {
        let output = serde_json::to_string(&tool.output_schema).unwrap();
        assert!(
            !output.contains("\"description\""),
            "{}: output schemas carry no prose",
            tool.name
        );
    }
}

/// Answers leave out what is empty, so the brief of a new incident is small.
#[tokio::test]
async fn the_brief_of_a_fresh_incident_is_small_and_leaves_out_what_is_empty() {
    let db = TestDb::new().await;
    let client = db.client().await;
    ok(call(
        &client,
        "declare_incident",
        json!({"title": "Checkout API returning 5xx", "severity": "SEV2"}),
    )
    .await);
    let result = call(&client, "get_incident", json!({"incident": "INC-1"})).await;
    let text = result
        .content
        .iter()
        .find_map(|c| c.as_text().map(|t| t.text.clone()))
        .unwrap();
    let copy: Value = serde_json::from_str(&text).expect("the text copy is JSON");
    assert_eq!(Some(&copy), result.structured_content.as_ref());
    eprintln!("brief of a fresh incident: {} bytes", text.len());
    assert!(
        text.len() <= MAX_FRESH_BRIEF_BYTES,
        "{} bytes: {text}",
        text.len()
    );
    fn has_empty(value: &Value) -> bool {
        match value {
            Value::Null => true,
            Value::String(s) => s.is_empty(),
            Value::Array(items) => items.is_empty() || items.iter().any(has_empty),
            Value::Object(fields) => fields.is_empty() || fields.values().any(has_empty),
            _ => false,
        }
    }
    assert!(
        !has_empty(&copy),
        "nulls and empty values are left out: {text}"
    );
}
