//! Checking a delivery's credentials: bearer secrets, HMAC-SHA256 signatures (GitHub's
//! `sha256=<hex>`, Grafana's bare hex over `[timestamp:]body`) and Events v2 routing keys. Every
//! comparison is constant-time and every accepted secret is tried, so timing reveals nothing.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::config::Secret;
use crate::ingest::config::{Source, SourceKind};

/// Whether `presented` equals one of `secrets` (each compared in constant time).
pub fn secret_matches(secrets: &[Secret], presented: &str) -> bool {
    let mut found = false;
    for secret in secrets {
        let equal: bool = secret
            .expose()
            .as_bytes()
            .ct_eq(presented.as_bytes())
            .into();
        found |= equal;
    }
    found
}

/// The credentials of a `Bearer` (any case) authorization value.
pub fn bearer(value: &str) -> Option<&str> {
    let (scheme, credentials) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| credentials.trim())
}

/// HMAC-SHA256 of `message` under `secret`, as lowercase hex.
pub fn hmac_hex(secret: &str, message: &[u8]) -> String {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
    mac.update(message);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `signature` (hex, any case) is the HMAC of `message` under one of `secrets`.
pub fn signature_matches(secrets: &[Secret], message: &[u8], signature: &str) -> bool {
    let presented = signature.trim().to_ascii_lowercase();
    let mut found = false;
    for secret in secrets {
        let expected = hmac_hex(secret.expose(), message);
        let equal: bool = expected.as_bytes().ct_eq(presented.as_bytes()).into();
        found |= equal;
    }
    found
}

/// GitHub: `X-Hub-Signature-256: sha256=<hex>` over the raw body.
pub fn github_signature_matches(secrets: &[Secret], body: &[u8], header: &str) -> bool {
    header
        .trim()
        .strip_prefix("sha256=")
        .is_some_and(|hex| signature_matches(secrets, body, hex))
}

/// The Events v2 source whose secret is `routing_key` (every source compared).
pub fn routing_key_source<'a>(sources: &'a [Source], routing_key: &str) -> Option<&'a Source> {
    let mut found = None;
    for source in sources.iter().filter(|s| s.kind == SourceKind::EventsV2) {
        if secret_matches(&source.secrets, routing_key) {
            found = Some(source);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn githubs_documented_test_vector_verifies() {
        let secret = vec![Secret::from("It's a Secret to Everybody".to_owned())];
        let header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert!(github_signature_matches(&secret, b"Hello, World!", header));
        assert!(!github_signature_matches(&secret, b"Hello, World?", header));
        assert!(!github_signature_matches(
            &secret,
            b"Hello, World!",
            &header[7..]
        ));
    }

    #[test]
    fn either_secret_of_a_rotation_is_accepted() {
        let secrets = vec![
            Secret::from("new-secret".to_owned()),
            Secret::from("old-secret".to_owned()),
        ];
        assert!(secret_matches(&secrets, "old-secret"));
        assert!(secret_matches(&secrets, "new-secret"));
        assert!(!secret_matches(&secrets, "old-secre"));
        let signed = hmac_hex("old-secret", b"123:body");
        assert!(signature_matches(
            &secrets,
            b"123:body",
            &signed.to_ascii_uppercase()
        ));
    }
}
