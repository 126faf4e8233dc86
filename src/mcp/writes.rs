//! What every write tool shares: the idempotency key with a digest of the arguments it came
//! with, and an answer that marks a replay.
//!
//! The digest is taken in `call_tool`, before the arguments are parsed, from their canonical
//! JSON (keys sorted, nulls dropped, the key itself left out): a retry must send the same
//! arguments, however the client orders them.

use std::borrow::Cow;

use rmcp::RoleServer;
use rmcp::model::JsonObject;
use rmcp::service::RequestContext;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Serialize, Serializer};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::app::write::{Answer, AuditSlot};
use crate::app::{IdempotencyKey, Write, Written};
use crate::domain::Actor;
use crate::mcp::FirebreakServer;
use crate::mcp::tool_error::ToolError;

/// The argument every write tool takes.
pub(crate) const IDEMPOTENCY_KEY: &str = "idempotency_key";

/// The digest of a call's arguments, put into the request's extensions when they carry an
/// idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RequestDigest(String);

impl RequestDigest {
    /// SHA-256 (hex) of the tool name and the canonical arguments, if they carry a key.
    pub(crate) fn of(tool: &str, arguments: &JsonObject) -> Option<RequestDigest> {
        arguments.get(IDEMPOTENCY_KEY)?;
        // `serde_json::Map` is a BTreeMap (the `preserve_order` feature is off), so this prints
        // keys sorted at every depth.
        let canonical: JsonObject = arguments
            .iter()
            .filter(|(name, value)| name.as_str() != IDEMPOTENCY_KEY && !value.is_null())
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        let text = serde_json::to_string(&(tool, canonical)).ok()?;
        let digest = Sha256::digest(text.as_bytes());
        Some(RequestDigest(
            digest.iter().map(|b| format!("{b:02x}")).collect(),
        ))
    }
}

impl FirebreakServer {
    /// The write a tool call makes: its actor, and the call's idempotency key (with the digest
    /// of its arguments) when it sent one. `answer` renders what a retry gets back.
    pub(crate) fn write<'a, T>(
        &self,
        actor: &'a Actor,
        context: &RequestContext<RoleServer>,
        tool: &str,
        key: Option<String>,
        answer: Answer<T>,
    ) -> Result<Write<'a, T>, ToolError> {
        let key = match key {
            None => None,
            Some(key) => {
                let digest = context
                    .extensions
                    .get::<RequestDigest>()
                    .map(|digest| digest.0.clone())
                    .unwrap_or_default();
                Some(IdempotencyKey::parse(key, tool, digest)?)
            }
        };
        let audit = context.extensions.get::<AuditSlot>().cloned();
        Ok(Write::new(actor, key, answer).audited(audit))
    }
}

/// Renders `value` as the view `V`, for storing under an idempotency key.
pub(crate) fn rendered<T, V>(value: &T) -> Value
where
    V: for<'x> From<&'x T> + Serialize,
{
    serde_json::to_value(V::from(value)).unwrap_or(Value::Null)
}

/// A write tool's answer: the view of what it did, or, for a retry with an idempotency key
/// already used for the same request, the first answer as it was given then, with
/// `replayed: true`.
#[derive(Debug)]
pub(crate) enum WriteAnswer<V> {
    /// Applied by this call.
    Fresh(V),
    /// The stored first answer.
    Replayed(Value),
}

impl<V> WriteAnswer<V> {
    /// The answer for `written`, viewed as `V`.
    pub(crate) fn new<T>(written: Written<T>) -> Self
    where
        V: for<'x> From<&'x T>,
    {
        match written {
            Written::Applied(value) => WriteAnswer::Fresh(V::from(&value)),
            Written::Replayed(first) => WriteAnswer::Replayed(first),
        }
    }
}

impl<V: Serialize> Serialize for WriteAnswer<V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            WriteAnswer::Fresh(view) => view.serialize(serializer),
            WriteAnswer::Replayed(first) => {
                let mut answer = first.clone();
                if let Value::Object(fields) = &mut answer {
                    fields.insert("replayed".into(), Value::Bool(true));
                }
                answer.serialize(serializer)
            }
        }
    }
}

impl<V: JsonSchema> JsonSchema for WriteAnswer<V> {
    fn schema_name() -> Cow<'static, str> {
        V::schema_name()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let mut schema = V::json_schema(generator);
        if let Some(Value::Object(properties)) = schema.get_mut("properties") {
            properties.insert(
                "replayed".into(),
                serde_json::json!({
                    "type": "boolean",
                    "description": "Present (true) when this is the first answer, replayed for a retry with the same idempotency_key; nothing was written again."
                }),
            );
        }
        schema
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(value: Value) -> JsonObject {
        match value {
            Value::Object(map) => map,
            _ => unreachable!("an object"),
        }
    }

    #[test]
    fn the_digest_ignores_order_nulls_and_the_key_itself() {
        let a = object(
            json!({"incident": "INC-1", "body": "x", "idempotency_key": "k1",
            "labels": {"b": "2", "a": "1"}, "occurred_at": null}),
        );
        let b = object(
            json!({"labels": {"a": "1", "b": "2"}, "idempotency_key": "k2",
            "body": "x", "incident": "INC-1"}),
        );
        assert_eq!(
            RequestDigest::of("add_timeline_entry", &a),
            RequestDigest::of("add_timeline_entry", &b)
        );
    }

    #[test]
    fn the_digest_differs_by_tool_and_by_argument_and_needs_a_key() {
        let args = object(json!({"incident": "INC-1", "body": "x", "idempotency_key": "k"}));
        let other = object(json!({"incident": "INC-1", "body": "y", "idempotency_key": "k"}));
        let digest = RequestDigest::of("add_timeline_entry", &args);
        assert!(digest.is_some());
        assert_ne!(digest, RequestDigest::of("record_runbook_step", &args));
        assert_ne!(digest, RequestDigest::of("add_timeline_entry", &other));
        let unkeyed = object(json!({"incident": "INC-1", "body": "x"}));
        assert_eq!(RequestDigest::of("add_timeline_entry", &unkeyed), None);
    }
}
