//! The wire contract: `tools/list` (names, descriptions, schemas, annotations) pinned by a
//! snapshot, so any change to it is a visible diff in review.

use crate::support::TestDb;

#[tokio::test]
async fn tools_list_matches_the_snapshot() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let tools = client.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(names.len(), 18, "{names:?}");
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
