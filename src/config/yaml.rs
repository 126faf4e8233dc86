//! Decoding the operator's YAML files (alerting, notifications) with errors that name the line
//! and the field, e.g. ``line 6: `targets[0].events[1]`: unknown variant …``.

use serde::de::DeserializeOwned;

/// A file that does not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// The line at fault (from 1), or 0 when unknown.
    pub line: u64,
    /// What is wrong, naming the field when known.
    pub message: String,
}

impl std::fmt::Display for YamlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            0 => f.write_str(&self.message),
            line => write!(f, "line {line}: {}", self.message),
        }
    }
}

/// Decodes `text` as `T`.
pub fn decode<T: DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    let options = serde_saphyr::options! { with_snippet: false };
    let mut path = String::new();
    serde_saphyr::with_deserializer_from_str_with_options(text, options, |de| {
        serde_path_to_error::deserialize::<_, T>(de).map_err(|err| {
            path = err.path().to_string();
            err.into_inner()
        })
    })
    .map_err(|err| {
        let message = err.without_snippet().to_string();
        // The line is reported on its own; the library repeats it at the end.
        let message = match message.rfind(" at line ") {
            Some(cut) => message[..cut].to_owned(),
            None => message,
        };
        let message = if path.is_empty() || path == "?" {
            message
        } else {
            format!("`{path}`: {message}")
        };
        YamlError {
            line: err.location().map(|l| l.line()).unwrap_or(0),
            message,
        }
    })
}
