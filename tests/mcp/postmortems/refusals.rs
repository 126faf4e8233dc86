//! A table-driven check that bad calls are refused with a clear tool error (a stable code, a
//! message naming the field or the allowed values) and change nothing: neither the core tables
//! (`TestDb::fingerprint`) nor the postmortem and action item tables.

use serde_json::{Value, json};

use crate::support::{Client, TestDb, call};

/// One byte over the 64 KiB text limit.
pub(crate) const OVERSIZED_TEXT_BYTES: usize = 64 * 1024 + 1;
/// A UUID nothing has.
pub(crate) const UNKNOWN_UUID: &str = "3f2c8a1e-9b7d-4c6e-8f1a-2b3c4d5e6f70";

/// One bad call and the tool error it must produce.
pub(crate) struct Case {
    what: String,
    args: Value,
    code: &'static str,
    needles: Vec<String>,
    field: Option<String>,
}

/// A case expecting `code` with a message that contains `needle`.
pub(crate) fn case(
    what: impl Into<String>,
    args: Value,
    code: &'static str,
    needle: impl Into<String>,
) -> Case {
    Case {
        what: what.into(),
        args,
        code,
        needles: vec![needle.into()],
        field: None,
    }
}

/// An `invalid_argument` case.
pub(crate) fn invalid(what: impl Into<String>, args: Value, needle: impl Into<String>) -> Case {
    case(what, args, "invalid_argument", needle)
}

impl Case {
    /// The message must also contain `needle`.
    pub(crate) fn mentioning(mut self, needle: impl Into<String>) -> Case {
        self.needles.push(needle.into());
        self
    }

    /// The structured error must name `field`.
    pub(crate) fn field(mut self, field: &str) -> Case {
        self.field = Some(field.to_owned());
        self
    }
}

/// `base` (an object) with `key` set to `value`.
pub(crate) fn with(base: &Value, key: &str, value: Value) -> Value {
    let mut args = base.clone();
    args[key] = value;
    args
}

/// `base` without `key`.
pub(crate) fn without(base: &Value, key: &str) -> Value {
    let mut args = base.clone();
    args.as_object_mut().unwrap().remove(key);
    args
}

/// Unknown and malformed incident references in the `incident` field of `base`.
pub(crate) fn incident_reference_cases(base: &Value) -> Vec<Case> {
    vec![
        case(
            "unknown INC-999",
            with(base, "incident", json!("INC-999")),
            "not_found",
            "INC-999",
        ),
        case(
            "unknown UUID",
            with(base, "incident", json!(UNKNOWN_UUID)),
            "not_found",
            UNKNOWN_UUID,
        ),
        invalid(
            "malformed `INC-abc`",
            with(base, "incident", json!("INC-abc")),
            "`incident`",
        )
        .mentioning("INC-42")
        .field("incident"),
        invalid(
            "incident a number",
            with(base, "incident", json!(1)),
            "`incident`",
        ),
    ]
}

/// Every row of the postmortem and action item tables, hashed.
pub(crate) async fn learning_fingerprint(db: &TestDb) -> String {
    let (fingerprint,): (String,) = sqlx::query_as(
        "select concat_ws('|', \
           (select md5(coalesce(string_agg(t::text, ',' order by t.incident_id), '')) from postmortem t), \
           (select md5(coalesce(string_agg(t::text, ',' order by t.incident_id, t.name), '')) from postmortem_section t), \
           (select md5(coalesce(string_agg(t::text, ',' order by t.number), '')) from action_item t))",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    fingerprint
}

/// Calls `tool` with each case and asserts it is refused as described, changing nothing.
pub(crate) async fn assert_refused(db: &TestDb, client: &Client, tool: &str, cases: &[Case]) {
    assert!(
        cases.len() >= 5,
        "{tool} needs at least five bad-input cases"
    );
    let mut failed = Vec::new();
    for case in cases {
        let before = (db.fingerprint().await, learning_fingerprint(db).await);
        let result = call(client, tool, case.args.clone()).await;
        let after = (db.fingerprint().await, learning_fingerprint(db).await);
        if let Err(problem) = check(case, &result) {
            failed.push(format!("{tool} / {}: {problem}", case.what));
        }
        if before != after {
            failed.push(format!("{tool} / {}: the database changed", case.what));
        }
    }
    assert!(
        failed.is_empty(),
        "{} case(s) failed:\n{}",
        failed.len(),
        failed.join("\n")
    );
}

fn check(case: &Case, result: &rmcp::model::CallToolResult) -> Result<(), String> {
    if result.is_error != Some(true) {
        return Err(format!("expected a tool error, got {result:?}"));
    }
    let error = result
        .structured_content
        .as_ref()
        .map(|c| c["error"].clone())
        .ok_or("no structured error")?;
    let code = error["code"].as_str().unwrap_or_default();
    let message = error["message"].as_str().unwrap_or_default();
    if code != case.code {
        return Err(format!(
            "code `{code}`, expected `{}`: {message}",
            case.code
        ));
    }
    for needle in &case.needles {
        if !message.contains(needle.as_str()) {
            return Err(format!("message lacks `{needle}`: {message}"));
        }
    }
    if let Some(field) = &case.field
        && error["field"] != json!(field)
    {
        return Err(format!(
            "field {}, expected `{field}`: {message}",
            error["field"]
        ));
    }
    Ok(())
}
