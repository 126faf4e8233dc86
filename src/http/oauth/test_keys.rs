//! Signing keys made in the test, their public JWKs, and access tokens signed with them (or
//! forged: `alg: none`, HS256). Shared by the unit tests and `tests/mcp/oauth.rs` (which
//! includes this file by path), so it depends on aws-lc-rs, base64 and `serde_json` only.

#![allow(dead_code, reason = "each test binary uses a part of the helpers")]

use std::sync::LazyLock;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair, RSA_PKCS1_SHA256, RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

/// An RSA key (RS256), made once per test binary: generation is slow without optimisation.
pub(crate) static RSA_A: LazyLock<TestKey> = LazyLock::new(|| TestKey::rsa("rsa-a"));
/// Another RSA key, the one an issuer rotates to.
pub(crate) static RSA_B: LazyLock<TestKey> = LazyLock::new(|| TestKey::rsa("rsa-b"));
/// A P-256 key (ES256).
pub(crate) static EC_A: LazyLock<TestKey> = LazyLock::new(|| TestKey::ec("ec-a"));

/// A private signing key and its `kid`.
pub(crate) struct TestKey {
    /// The key's id, sent in the token header and the JWK.
    pub(crate) kid: String,
    pair: Pair,
}

enum Pair {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

impl TestKey {
    /// A new 2048-bit RSA key.
    pub(crate) fn rsa(kid: &str) -> TestKey {
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).expect("RSA key");
        TestKey {
            kid: kid.to_owned(),
            pair: Pair::Rsa(pair),
        }
    }

    /// A new P-256 key.
    pub(crate) fn ec(kid: &str) -> TestKey {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("EC key");
        TestKey {
            kid: kid.to_owned(),
            pair: Pair::Ec(pair),
        }
    }

    /// The algorithm this key signs with.
    pub(crate) fn alg(&self) -> &'static str {
        match self.pair {
            Pair::Rsa(_) => "RS256",
            Pair::Ec(_) => "ES256",
        }
    }

    /// The public JWK, as an issuer publishes it.
    pub(crate) fn jwk(&self) -> Value {
        match &self.pair {
            Pair::Rsa(pair) => {
                let public = pair.public_key();
                json!({"kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid,
                    "n": b64(public.modulus().big_endian_without_leading_zero()),
                    "e": b64(public.exponent().big_endian_without_leading_zero())})
            }
            Pair::Ec(pair) => {
                let point = pair.public_key().as_ref(); // 0x04 || x || y
                json!({"kty": "EC", "use": "sig", "alg": "ES256", "crv": "P-256", "kid": self.kid,
                    "x": b64(&point[1..33]), "y": b64(&point[33..65])})
            }
        }
    }

    /// The public key's bytes (the modulus, or the EC point): what a forger would use as an
    /// HMAC secret.
    pub(crate) fn public_bytes(&self) -> Vec<u8> {
        match &self.pair {
            Pair::Rsa(pair) => pair.public_key().as_ref().to_vec(),
            Pair::Ec(pair) => pair.public_key().as_ref().to_vec(),
        }
    }

    /// A token with `claims`, signed with this key and naming its `kid`.
    pub(crate) fn sign(&self, claims: &Value) -> String {
        let header = json!({"alg": self.alg(), "typ": "at+jwt", "kid": self.kid});
        self.sign_with_header(&header, claims)
    }

    /// A token with `header` and `claims`, signed with this key whatever the header says.
    pub(crate) fn sign_with_header(&self, header: &Value, claims: &Value) -> String {
        let message = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let rng = SystemRandom::new();
        let signature = match &self.pair {
            Pair::Rsa(pair) => {
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &rng, message.as_bytes(), &mut signature)
                    .expect("RSA signature");
                signature
            }
            Pair::Ec(pair) => pair
                .sign(&rng, message.as_bytes())
                .expect("EC signature")
                .as_ref()
                .to_vec(),
        };
        format!("{message}.{}", b64(&signature))
    }
}

/// A JWKS document holding `keys`.
pub(crate) fn jwks(keys: &[&TestKey]) -> Value {
    json!({"keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>()})
}

/// An unsigned token (`alg: none`).
pub(crate) fn unsigned(kid: &str, claims: &Value) -> String {
    let header = json!({"alg": "none", "typ": "JWT", "kid": kid});
    format!(
        "{}.{}.",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    )
}

/// A token signed with HMAC-SHA256 under `secret` (e.g. a public key, to forge one).
pub(crate) fn hs256(kid: &str, secret: &[u8], claims: &Value) -> String {
    let header = json!({"alg": "HS256", "typ": "JWT", "kid": kid});
    let message = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    let tag = aws_lc_rs::hmac::sign(&key, message.as_bytes());
    format!("{message}.{}", b64(tag.as_ref()))
}

/// Seconds since the epoch, as `exp`, `nbf` and `iat` count.
pub(crate) fn now() -> i64 {
    let elapsed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970");
    i64::try_from(elapsed.as_secs()).expect("seconds fit")
}

/// Claims valid for an hour: issued by `issuer` for `audience` to `subject` with `scope`.
pub(crate) fn claims(issuer: &str, audience: &str, subject: &str, scope: &str) -> Value {
    let now = now();
    json!({"iss": issuer, "aud": audience, "sub": subject, "scope": scope,
        "iat": now, "nbf": now - 5, "exp": now + 3600})
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}
