//! Tool schemas as clients receive them: compact, because every byte of `tools/list` that the
//! model reads costs context on every conversation (budget: the whole list at most 40 KB, what
//! reaches the model — names, descriptions, input schemas — at most 20 KB, for up to 26 tools).
//!
//! - Input schemas keep their descriptions (the model reads them) but lose what says nothing to
//!   it: the `$schema` URI, `additionalProperties: false` (unknown fields are refused with the
//!   allowed names anyway), `null` as an alternative type of optional fields (an optional field
//!   may be left out, and null is accepted), and integer formats.
//! - Output schemas keep the answer's fields and their types, one level deep (nested objects are
//!   `object`), and lose their prose (clients validate structured content against them; models
//!   do not read them), string formats, and `required` lists (answers leave out what is empty,
//!   so presence is the exception worth no bytes).

use rmcp::model::ToolAnnotations;
use serde_json::{Map, Value};

/// What an output schema loses beyond what an input schema does.
const OUTPUT_ONLY: [&str; 5] = ["description", "title", "examples", "required", "format"];
/// Formats that add nothing to `"type": "integer"` or `"number"`.
const NUMBER_FORMATS: [&str; 6] = ["int64", "int32", "uint64", "uint32", "double", "float"];

/// Leaves out hints that say what the protocol assumes anyway (`readOnlyHint` and
/// `idempotentHint` default to false, and a read-only tool is never destructive).
pub(crate) fn compact_annotations(annotations: &mut ToolAnnotations) {
    if annotations.read_only_hint == Some(false) {
        annotations.read_only_hint = None;
    }
    if annotations.idempotent_hint == Some(false) {
        annotations.idempotent_hint = None;
    }
    if annotations.read_only_hint == Some(true) {
        annotations.destructive_hint = None;
    }
}

/// Compacts an input schema in place.
pub(crate) fn compact_input(schema: &mut Map<String, Value>) {
    schema.remove("$schema");
    if schema.get("additionalProperties") == Some(&Value::Bool(false)) {
        schema.remove("additionalProperties");
    }
    walk(schema, &[]);
}

/// Compacts an output schema in place, one level deep: the answer's fields with their types,
/// and `object` for what is nested (its definitions would double the bytes of `tools/list`
/// again; the structured content itself shows the nested fields).
pub(crate) fn compact_output(schema: &mut Map<String, Value>) {
    schema.remove("$schema");
    walk(schema, &OUTPUT_ONLY);
    schema.remove("$defs");
    flatten_refs(schema);
}

/// Replaces every reference to a definition with a plain `object`.
fn flatten_refs(schema: &mut Map<String, Value>) {
    if schema.remove("$ref").is_some() {
        schema.insert("type".into(), Value::String("object".into()));
    }
    for value in schema.values_mut() {
        match value {
            Value::Object(sub) => flatten_refs(sub),
            Value::Array(items) => {
                for item in items {
                    if let Value::Object(sub) = item {
                        flatten_refs(sub);
                    }
                }
            }
            _ => {}
        }
    }
}

fn walk(schema: &mut Map<String, Value>, drop: &[&str]) {
    for key in drop {
        // A property may be *named* "description" or "title": only keywords are dropped,
        // and properties are handled below, one level down.
        schema.remove(*key);
    }
    if let Some(Value::Array(types)) = schema.get("type")
        && types.len() == 2
        && types.contains(&Value::String("null".into()))
    {
        let kept = types.iter().find(|t| *t != "null").cloned();
        if let Some(kept) = kept {
            schema.insert("type".into(), kept);
        }
    }
    if schema
        .get("format")
        .and_then(Value::as_str)
        .is_some_and(|f| NUMBER_FORMATS.contains(&f))
    {
        schema.remove("format");
    }
    for (key, value) in schema.iter_mut() {
        match (key.as_str(), value) {
            // Maps of names to schemas: the names are not keywords.
            ("properties" | "$defs" | "definitions", Value::Object(named)) => {
                for sub in named.values_mut() {
                    if let Value::Object(sub) = sub {
                        walk(sub, drop);
                    }
                }
            }
            (_, Value::Object(sub)) => walk(sub, drop),
            (_, Value::Array(items)) => {
                for item in items {
                    if let Value::Object(sub) = item {
                        walk(sub, drop);
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => unreachable!("an object"),
        }
    }

    #[test]
    fn inputs_keep_descriptions_and_lose_noise() {
        let mut schema = object(json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object", "additionalProperties": false,
            "properties": {
                "limit": {"type": ["integer", "null"], "format": "int64", "description": "Page size."},
                "description": {"type": "string", "description": "A field called description."}
            }
        }));
        compact_input(&mut schema);
        assert_eq!(
            Value::Object(schema),
            json!({"type": "object", "properties": {
                "limit": {"type": "integer", "description": "Page size."},
                "description": {"type": "string", "description": "A field called description."}
            }})
        );
    }

    #[test]
    fn outputs_keep_their_fields_one_level_deep_and_lose_prose() {
        let mut schema = object(json!({
            "type": "object", "description": "An answer.", "required": ["title"],
            "properties": {
                "title": {"type": "string", "description": "Its title."},
                "at": {"type": ["string", "null"], "format": "date-time"}
            },
            "$defs": {"RowView": {"type": "object", "title": "Row", "properties": {
                "description": {"type": "string", "description": "x"},
                "actor": {"$ref": "#/$defs/ActorView"}}},
                "ActorView": {"type": "object"}},
            "items": {"$ref": "#/$defs/RowView"}
        }));
        compact_output(&mut schema);
        assert_eq!(
            Value::Object(schema),
            json!({
                "type": "object",
                "properties": {"title": {"type": "string"}, "at": {"type": "string"}},
                "items": {"type": "object"}
            })
        );
    }
}
