//! The arguments as an audit record keeps them: a digest of their canonical JSON, and a copy
//! with secrets redacted and long text, long lists and deep nesting cut, at most
//! [`PREVIEW_MAX_BYTES`] of JSON.

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// Largest preview, in bytes of JSON.
pub const PREVIEW_MAX_BYTES: usize = 2048;
/// What the value of a secret-looking key becomes.
pub const REDACTED: &str = "[redacted]";

/// Fragments that mark a key as secret, matched anywhere in it, in any case (`-` counts as `_`).
const SECRET_KEYS: [&str; 13] = [
    "token",
    "credential",
    "routing_key",
    "integration_key",
    "secret",
    "password",
    "passwd",
    "authorization",
    "api_key",
    "apikey",
    "cookie",
    "signature",
    "private_key",
];

/// How much of each value a preview keeps.
#[derive(Debug, Clone, Copy)]
struct Limits {
    /// Characters of a string.
    chars: usize,
    /// Items of a list.
    items: usize,
    /// Levels of nesting: a list or object this deep becomes a note saying what it held.
    depth: usize,
}

/// Tried in order until the preview fits in [`PREVIEW_MAX_BYTES`].
const STEPS: [Limits; 3] = [
    Limits {
        chars: 200,
        items: 20,
        depth: 4,
    },
    Limits {
        chars: 60,
        items: 5,
        depth: 3,
    },
    Limits {
        chars: 20,
        items: 3,
        depth: 2,
    },
];

/// True when `key` names something secret: it contains `token`, `secret`, `password`,
/// `authorization`, `api_key`, `cookie`, `signature`, `routing_key` (PagerDuty's) and a few
/// more, in any case.
pub fn is_secret_key(key: &str) -> bool {
    let fold = |b: u8| {
        if b == b'-' {
            b'_'
        } else {
            b.to_ascii_lowercase()
        }
    };
    let key = key.as_bytes();
    SECRET_KEYS.iter().any(|needle| {
        key.windows(needle.len())
            .any(|window| window.iter().map(|b| fold(*b)).eq(needle.bytes()))
    })
}

/// SHA-256 (hex) of the canonical JSON of `arguments` (keys sorted at every depth, as
/// `serde_json::Map` keeps them) with the values of secret keys replaced by [`REDACTED`], so
/// the digest can never be used to guess a secret.
pub fn digest(arguments: &Value) -> String {
    let mut hasher = Sha256::new();
    // Writing into a hasher cannot fail, and a `Value` always serialises.
    let _ = serde_json::to_writer(&mut hasher, &Redacted(arguments));
    hex(&hasher.finalize())
}

/// SHA-256 (hex) of raw bytes (an ingestion body as it was sent).
pub fn digest_bytes(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `arguments` as an audit record keeps them: secret values redacted, strings over 200
/// characters cut (`…(N chars)` says how long they were), lists over 20 items cut, nesting
/// beyond 4 levels summarised; cut further until the JSON fits in [`PREVIEW_MAX_BYTES`].
pub fn preview(arguments: &Value) -> Value {
    for limits in STEPS {
        let cut = shrink(arguments, limits, 0);
        if json_len(&cut) <= PREVIEW_MAX_BYTES {
            return cut;
        }
    }
    last_resort(arguments)
}

/// Text as it may be stored: NUL (which PostgreSQL refuses in text and jsonb) replaced, and at
/// most `max_chars` characters, the rest replaced by `…(N chars)`.
pub(crate) fn clean_text(text: &str, max_chars: usize) -> String {
    let chars = text.chars().count();
    let kept = text.chars().take(max_chars).map(|c| match c {
        '\0' => char::REPLACEMENT_CHARACTER,
        c => c,
    });
    let mut out: String = kept.collect();
    if chars > max_chars {
        out.push_str(&format!("…({chars} chars)"));
    }
    out
}

fn shrink(value: &Value, limits: Limits, depth: usize) -> Value {
    match value {
        Value::String(text) => Value::String(clean_text(text, limits.chars)),
        Value::Array(items) if depth >= limits.depth && !items.is_empty() => {
            Value::String(format!("…(list of {} items)", items.len()))
        }
        Value::Object(map) if depth >= limits.depth && !map.is_empty() => {
            Value::String(format!("…(object of {} keys)", map.len()))
        }
        Value::Array(items) => {
            let mut kept: Vec<Value> = items
                .iter()
                .take(limits.items)
                .map(|item| shrink(item, limits, depth + 1))
                .collect();
            if items.len() > limits.items {
                kept.push(Value::String(format!(
                    "…({} more items)",
                    items.len() - limits.items
                )));
            }
            Value::Array(kept)
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, value)| {
                    (
                        clean_text(key, limits.chars),
                        entry(key, value, limits, depth),
                    )
                })
                .collect(),
        ),
        scalar => scalar.clone(),
    }
}

fn entry(key: &str, value: &Value, limits: Limits, depth: usize) -> Value {
    if is_secret_key(key) {
        Value::String(REDACTED.to_owned())
    } else {
        shrink(value, limits, depth + 1)
    }
}

/// Still too large at the tightest limits (hundreds of keys, say): as many top-level entries
/// as fit, then a note of how many were left out.
fn last_resort(arguments: &Value) -> Value {
    let tightest = STEPS[STEPS.len() - 1];
    let Value::Object(map) = arguments else {
        return Value::String(format!("…({} bytes of arguments)", json_len(arguments)));
    };
    // Room for the note itself.
    let budget = PREVIEW_MAX_BYTES - 64;
    let mut kept = Map::new();
    let mut used = 2;
    for (original, value) in map {
        let key = clean_text(original, tightest.chars);
        let value = entry(original, value, tightest, 0);
        let size = json_len(&Value::String(key.clone())) + json_len(&value) + 2;
        if used + size > budget {
            break;
        }
        used += size;
        kept.insert(key, value);
    }
    let left_out = map.len() - kept.len();
    if left_out > 0 {
        kept.insert(
            "…".to_owned(),
            Value::String(format!("{left_out} more keys")),
        );
    }
    Value::Object(kept)
}

fn json_len(value: &Value) -> usize {
    serde_json::to_string(value).map_or(usize::MAX, |text| text.len())
}

/// Serialises a value with the values of secret keys replaced, without copying it.
struct Redacted<'a>(&'a Value);

impl Serialize for Redacted<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Object(map) => {
                let mut out = serializer.serialize_map(Some(map.len()))?;
                for (key, value) in map {
                    if is_secret_key(key) {
                        out.serialize_entry(key, REDACTED)?;
                    } else {
                        out.serialize_entry(key, &Redacted(value))?;
                    }
                }
                out.end()
            }
            Value::Array(items) => serializer.collect_seq(items.iter().map(Redacted)),
            other => other.serialize(serializer),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn secret_keys_are_recognised_in_any_case_and_inside_longer_names() {
        for key in [
            "token",
            "api_token",
            "X-Api-Key",
            "apiKey",
            "Authorization",
            "db_password",
            "client_secret",
            "Cookie",
            "signature_256",
            "routing_key",
        ] {
            assert!(is_secret_key(key), "{key}");
        }
        for key in ["incident", "idempotency_key", "title", "author", "keyword"] {
            assert!(!is_secret_key(key), "{key}");
        }
    }

    #[test]
    fn secrets_are_redacted_at_every_depth_but_other_values_kept() {
        let args = json!({
            "incident": "INC-4",
            "webhook": {"url": "https://x", "Authorization": "Bearer abc", "nested": [{"password": 1}]},
            "api_token": {"value": "t0k3n"},
        });
        let preview = preview(&args);
        assert_eq!(preview["incident"], "INC-4");
        assert_eq!(preview["webhook"]["url"], "https://x");
        assert_eq!(preview["webhook"]["Authorization"], REDACTED);
        assert_eq!(preview["webhook"]["nested"][0]["password"], REDACTED);
        assert_eq!(preview["api_token"], REDACTED);
        assert!(!preview.to_string().contains("t0k3n"));
    }

    #[test]
    fn long_strings_long_lists_and_deep_nesting_are_cut() {
        let long = "x".repeat(500);
        let items: Vec<i64> = (0..30).collect();
        let args = json!({"body": long, "items": items, "a": {"b": {"c": {"d": {"e": 1}}}}});
        let preview = preview(&args);
        let body = preview["body"].as_str().unwrap();
        assert!(
            body.starts_with(&"x".repeat(200)) && body.ends_with("…(500 chars)"),
            "{body}"
        );
        let listed = preview["items"].as_array().unwrap();
        assert_eq!(listed.len(), 21);
        assert_eq!(listed[20], "…(10 more items)");
        assert_eq!(preview["a"]["b"]["c"], json!({"d": "…(object of 1 keys)"}));
    }

    #[test]
    fn the_preview_never_exceeds_two_kilobytes() {
        let wide: Map<String, Value> = (0..300)
            .map(|i| (format!("field_{i:03}"), json!("y".repeat(150))))
            .collect();
        for args in [
            Value::Object(wide),
            json!({"list": vec!["z".repeat(190); 20]}),
            json!(vec![json!({"k": "v".repeat(199)}); 100]),
        ] {
            let preview = preview(&args);
            let size = serde_json::to_string(&preview).unwrap().len();
            assert!(size <= PREVIEW_MAX_BYTES, "{size}: {preview}");
        }
        let wide = preview(&Value::Object(
            (0..300)
                .map(|i| (format!("f{i:03}"), json!("y".repeat(150))))
                .collect(),
        ));
        assert!(wide["…"].as_str().unwrap().ends_with("more keys"), "{wide}");
    }

    #[test]
    fn nul_characters_are_replaced_so_the_record_can_be_stored() {
        let preview = preview(&json!({"ti\u{0}tle": "a\u{0}b"}));
        assert_eq!(preview, json!({"ti\u{fffd}tle": "a\u{fffd}b"}));
    }

    #[test]
    fn the_digest_is_canonical_and_ignores_secret_values() {
        let a = json!({"b": 1, "a": {"y": 2, "x": 1}, "token": "one"});
        let b: Value =
            serde_json::from_str(r#"{"token": "two", "a": {"x": 1, "y": 2}, "b": 1}"#).unwrap();
        assert_eq!(digest(&a), digest(&b));
        assert_eq!(digest(&a).len(), 64);
        assert_ne!(digest(&a), digest(&json!({"b": 2})));
        // The digest of `{}` as anyone can check it with `sha256sum`.
        assert_eq!(
            digest(&json!({})),
            "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
    }
}
