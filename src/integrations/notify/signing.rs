//! Standard Webhooks signatures: `whsec_` secrets and `webhook-signature: v1,<base64>`.

use std::fmt;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Standard base64 that decodes with or without padding.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Shortest key, in bytes (the Standard Webhooks range).
const KEY_MIN_BYTES: usize = 24;
/// Longest key, in bytes.
const KEY_MAX_BYTES: usize = 64;

/// A webhook signing secret: `whsec_` followed by 24–64 bytes in base64. Its key is never
/// printed.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret {
    key: Vec<u8>,
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(…)")
    }
}

impl WebhookSecret {
    /// Parses `whsec_<base64>`; the refusal says what a secret looks like (and never repeats
    /// the text).
    pub fn parse(text: &str) -> Result<WebhookSecret, String> {
        let shape = "a Standard Webhooks secret is `whsec_` followed by 24 to 64 random bytes in \
                     base64 (e.g. `whsec_$(head -c 32 /dev/urandom | base64)`)";
        let Some(encoded) = text.trim().strip_prefix("whsec_") else {
            return Err(format!("the secret does not start with `whsec_`: {shape}"));
        };
        let key = LENIENT
            .decode(encoded)
            .map_err(|_| format!("the secret after `whsec_` is not base64: {shape}"))?;
        if !(KEY_MIN_BYTES..=KEY_MAX_BYTES).contains(&key.len()) {
            return Err(format!("the secret holds {} bytes: {shape}", key.len()));
        }
        Ok(WebhookSecret { key })
    }

    /// The `v1` signature of `{msg_id}.{timestamp}.{body}`: base64 of its HMAC-SHA256.
    fn signature(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
        mac.update(msg_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    }
}

/// The `webhook-signature` header: `v1,<base64>` for each secret (the current one first, then
/// the previous one while rotating), separated by spaces.
pub fn sign(secrets: &[WebhookSecret], msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets
        .iter()
        .map(|secret| format!("v1,{}", secret.signature(msg_id, timestamp, body)))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
    const BODY: &[u8] = br#"{"email":"test@example.com","username":"test_user"}"#;
    const SIGNATURE: &str = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";

    #[test]
    fn the_published_test_vector_signs_alike() {
        let secret = WebhookSecret::parse(SECRET).unwrap();
        assert_eq!(sign(&[secret], ID, 1_649_367_553, BODY), SIGNATURE);
    }

    #[test]
    fn rotation_signs_with_both_secrets_current_first() {
        let current = WebhookSecret::parse(SECRET).unwrap();
        let previous = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let header = sign(&[current, previous], ID, 1_649_367_553, BODY);
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0], SIGNATURE);
        assert!(parts[1].starts_with("v1,") && parts[1] != SIGNATURE);
    }

    #[test]
    fn secrets_must_be_whsec_base64_of_24_to_64_bytes() {
        for (text, needle) in [
            (
                "C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
                "does not start with `whsec_`",
            ),
            ("whsec_not base64!", "is not base64"),
            ("whsec_c2hvcnQ=", "holds 5 bytes"),
        ] {
            let err = WebhookSecret::parse(text).unwrap_err();
            assert!(err.contains(needle), "{err}");
            assert!(!err.contains(text), "{err} repeats the secret");
        }
        assert!(WebhookSecret::parse("whsec_c2hvcnQ").is_err());
        let secret = WebhookSecret::parse(&format!("{SECRET}\n")).unwrap();
        assert_eq!(format!("{secret:?}"), "WebhookSecret(…)");
    }
}
