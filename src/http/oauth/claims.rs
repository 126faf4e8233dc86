//! What a verified token's claims grant: its scopes mapped to Firebreak's, and the principal
//! named by the configured claim.

use serde_json::{Map, Value};

use crate::domain::{Scope, Scopes};

/// Longest principal accepted, in characters.
const PRINCIPAL_MAX_CHARS: usize = 256;

/// How an identity provider's scope names become Firebreak scopes: a name that is a Firebreak
/// scope (`incidents:read`) stands for itself, and configured pairs map others
/// (`firebreak.read=incidents:read`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeMap {
    pairs: Vec<(String, Scope)>,
}

impl ScopeMap {
    /// Parses `idp-scope=firebreak-scope` entries; each Firebreak scope must be known. An
    /// entry may hold several pairs separated by commas.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<ScopeMap, String> {
        let mut pairs = Vec::new();
        let entries = entries
            .iter()
            .flat_map(|e| e.as_ref().split(','))
            .map(str::trim)
            .filter(|e| !e.is_empty());
        for entry in entries {
            let Some((idp, ours)) = entry.split_once('=') else {
                return Err(format!(
                    "`{entry}` is not `idp-scope=firebreak-scope` (e.g. firebreak.read=incidents:read)"
                ));
            };
            let (idp, ours) = (idp.trim(), ours.trim());
            if idp.is_empty() || idp.contains(char::is_whitespace) {
                return Err(format!(
                    "`{entry}`: name the identity provider's scope before `=`, without spaces"
                ));
            }
            let scope = ours
                .parse::<Scope>()
                .map_err(|reason| format!("`{entry}`: {reason}"))?;
            pairs.push((idp.to_owned(), scope));
        }
        Ok(ScopeMap { pairs })
    }

    /// The Firebreak scopes that the provider's scope `names` stand for: Firebreak's own names,
    /// and what the map pairs. With a map, a bare `admin` counts only if the map says so (a
    /// provider's generic `admin` scope, meant for another API on the same token, must not
    /// become Firebreak's); `incidents:*` cannot be mistaken for another API's.
    pub fn map<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> Scopes {
        let mut scopes = Vec::new();
        for name in names {
            if let Ok(scope) = name.parse::<Scope>()
                && (self.pairs.is_empty() || scope != Scope::Admin)
            {
                scopes.push(scope);
            }
            let mapped = self.pairs.iter().filter(|(idp, _)| idp == name);
            scopes.extend(mapped.map(|(_, scope)| *scope));
        }
        Scopes::of(&scopes)
    }
}

/// The scope names a token carries: `scope` (a space-separated string, RFC 9068) and `scp`
/// (a string or an array of strings, as Microsoft Entra sends).
pub(super) fn scope_names(claims: &Map<String, Value>) -> Vec<&str> {
    let mut names = Vec::new();
    for claim in ["scope", "scp"] {
        match claims.get(claim) {
            Some(Value::String(text)) => names.extend(text.split_whitespace()),
            Some(Value::Array(items)) => {
                names.extend(items.iter().filter_map(Value::as_str).map(str::trim));
            }
            _ => {}
        }
    }
    names
}

/// The principal the `claim` names: a non-empty string of printable characters, at most
/// [`PRINCIPAL_MAX_CHARS`] long.
pub(super) fn principal(claims: &Map<String, Value>, claim: &str) -> Option<String> {
    let value = claims.get(claim)?.as_str()?.trim();
    let is_usable = !value.is_empty()
        && value.chars().count() <= PRINCIPAL_MAX_CHARS
        && !value.chars().any(char::is_control);
    is_usable.then(|| value.to_owned())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn claims(value: &Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn without_a_map_firebreak_names_stand_for_themselves_and_with_one_only_pairs_count() {
        let map =
            ScopeMap::parse(&["firebreak.read=incidents:read,firebreak.write=incidents:write"])
                .unwrap();
        assert_eq!(
            map.map(["openid", "firebreak.read"]),
            Scopes::of(&[Scope::IncidentsRead])
        );
        assert_eq!(
            map.map(["firebreak.write"]),
            Scopes::of(&[Scope::IncidentsWrite])
        );
        // A provider's own `admin` (another API's, on the same token) is not Firebreak's.
        assert_eq!(map.map(["admin", "email"]), Scopes::NONE);
        assert_eq!(map.map(["profile"]), Scopes::NONE);
        let identity = ScopeMap::parse::<&str>(&[]).unwrap();
        assert_eq!(
            identity.map(["admin", "email"]),
            Scopes::of(&[Scope::Admin])
        );
        assert!(
            ScopeMap::parse(&["firebreak.read"])
                .unwrap_err()
                .contains("idp-scope=")
        );
        assert!(ScopeMap::parse(&["=admin"]).is_err());
    }

    #[test]
    fn scopes_come_from_scope_and_scp_strings_or_arrays() {
        let given = claims(&json!({"scope": "openid incidents:read", "scp": ["admin", 7]}));
        assert_eq!(scope_names(&given), ["openid", "incidents:read", "admin"]);
        let entra = claims(&json!({"scp": "incidents:write"}));
        assert_eq!(scope_names(&entra), ["incidents:write"]);
    }

    #[test]
    fn the_principal_must_be_a_printable_string() {
        let given = claims(
            &json!({"sub": "u-1", "email": " alice@example.com ", "n": 3,
            "bad": "a\nb", "empty": ""}),
        );
        assert_eq!(principal(&given, "sub").as_deref(), Some("u-1"));
        assert_eq!(
            principal(&given, "email").as_deref(),
            Some("alice@example.com")
        );
        for claim in ["n", "bad", "empty", "missing"] {
            assert_eq!(principal(&given, claim), None, "{claim}");
        }
    }
}
