//! The validator against a local issuer: a loopback HTTP server publishing metadata and a
//! JWKS of keys made in the test.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::{Value, json};

use super::*;
use crate::domain::Scope;
use crate::http::oauth::ScopeMap;
use crate::http::oauth::test_keys::{
    EC_A, RSA_A, RSA_B, TestKey, claims, hs256, jwks, now, unsigned,
};

const RESOURCE: &str = "https://firebreak.example.com/mcp";

/// What the local issuer serves, and how often its keys were asked for.
#[derive(Clone)]
struct Issuer {
    url: String,
    jwks: Arc<Mutex<(StatusCode, Value)>>,
    hits: Arc<AtomicUsize>,
}

impl Issuer {
    /// Serves `keys` at `/jwks` and OIDC discovery metadata (the RFC 8414 path answers 404).
    async fn start(keys: &[&TestKey]) -> Issuer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let issuer = Issuer {
            url: url.clone(),
            jwks: Arc::new(Mutex::new((StatusCode::OK, jwks(keys)))),
            hits: Arc::default(),
        };
        let metadata = json!({"issuer": url, "jwks_uri": format!("{url}/jwks")});
        let router = Router::new()
            .route("/jwks", get(serve_jwks))
            .route(
                "/.well-known/openid-configuration",
                get(move || async move { axum::Json(metadata) }),
            )
            .with_state(issuer.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        issuer
    }

    fn publish(&self, status: StatusCode, keys: &[&TestKey]) {
        *self.jwks.lock().unwrap() = (status, jwks(keys));
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    fn config(&self) -> OAuthConfig {
        OAuthConfig::new(&self.url, RESOURCE)
    }

    fn claims(&self, scope: &str) -> Value {
        claims(&self.url, RESOURCE, "alice", scope)
    }
}

async fn serve_jwks(State(issuer): State<Issuer>) -> impl IntoResponse {
    issuer.hits.fetch_add(1, Ordering::SeqCst);
    let (status, body) = issuer.jwks.lock().unwrap().clone();
    (status, axum::Json(body))
}

/// Timings that never make a test wait.
fn eager() -> Timing {
    Timing {
        refetch_interval: Duration::ZERO,
        retry_interval: Duration::ZERO,
        ..Timing::default()
    }
}

fn validator(config: OAuthConfig, timing: Timing) -> JwtValidator {
    JwtValidator::with_timing(config, timing).unwrap()
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

#[tokio::test]
async fn rs256_and_es256_tokens_grant_their_scopes_to_their_subject() {
    let issuer = Issuer::start(&[&*RSA_A, &*EC_A]).await;
    let validator = validator(issuer.config(), Timing::default());
    let grant = validator
        .validate(&RSA_A.sign(&issuer.claims("openid incidents:write")))
        .await
        .unwrap();
    assert_eq!(grant.principal, "alice");
    assert_eq!(grant.scopes, Scopes::of(&[Scope::IncidentsWrite]));
    assert_eq!(grant.method, AuthMethod::OAuth);
    let grant = validator
        .validate(&EC_A.sign(&issuer.claims("incidents:read")))
        .await
        .unwrap();
    assert_eq!(grant.scopes, Scopes::of(&[Scope::IncidentsRead]));
    assert_eq!(
        issuer.hits(),
        1,
        "keys were fetched once, then served from the cache"
    );
}

#[tokio::test]
async fn time_claims_are_checked_with_the_leeway() {
    let issuer = Issuer::start(&[&*RSA_A]).await;
    let validator = validator(issuer.config(), Timing::default());
    let base = issuer.claims("incidents:read");
    let check = |claims: Value| validator.validate_owned(RSA_A.sign(&claims));
    assert!(
        check(with(base.clone(), "exp", json!(now() - 30)))
            .await
            .is_ok(),
        "within leeway"
    );
    let expired = check(with(base.clone(), "exp", json!(now() - 120))).await;
    assert_eq!(expired, Err(OAuthRejection::Expired));
    let early = check(with(base.clone(), "nbf", json!(now() + 300))).await;
    assert_eq!(early, Err(OAuthRejection::NotYetValid));
    let mut endless = base.clone();
    endless.as_object_mut().unwrap().remove("exp");
    assert_eq!(
        check(endless).await,
        Err(OAuthRejection::MissingClaim("exp".into()))
    );
}

#[tokio::test]
async fn a_token_for_another_audience_or_issuer_is_refused() {
    let issuer = Issuer::start(&[&*RSA_A]).await;
    let validator = validator(issuer.config(), Timing::default());
    let base = issuer.claims("incidents:read");
    let check = |claims: Value| validator.validate_owned(RSA_A.sign(&claims));
    let foreign = check(with(
        base.clone(),
        "aud",
        json!("https://other.example.com/mcp"),
    ))
    .await;
    assert!(
        matches!(foreign, Err(OAuthRejection::WrongAudience { .. })),
        "{foreign:?}"
    );
    let several = with(
        base.clone(),
        "aud",
        json!(["https://other.example.com", RESOURCE]),
    );
    assert!(check(several).await.is_ok());
    let mut none = base.clone();
    none.as_object_mut().unwrap().remove("aud");
    assert!(matches!(
        check(none).await,
        Err(OAuthRejection::WrongAudience { .. })
    ));
    let wrong = check(with(base.clone(), "iss", json!(format!("{}/", issuer.url)))).await;
    assert!(
        matches!(wrong, Err(OAuthRejection::WrongIssuer { .. })),
        "{wrong:?}"
    );
}

#[tokio::test]
async fn only_rs256_and_es256_signatures_from_the_published_keys_pass() {
    let issuer = Issuer::start(&[&*RSA_A, &*EC_A]).await;
    // An HMAC key in the JWKS must not make HS256 acceptable either.
    issuer.jwks.lock().unwrap().1["keys"]
        .as_array_mut()
        .unwrap()
        .push(json!({"kty": "oct", "kid": "hmac", "k": "c2VjcmV0c2VjcmV0c2VjcmV0"}));
    let validator = validator(issuer.config(), Timing::default());
    let claims = issuer.claims("incidents:write");
    let none = validator.validate(&unsigned(&RSA_A.kid, &claims)).await;
    assert_eq!(
        none,
        Err(OAuthRejection::UnsupportedAlgorithm("`none`".into()))
    );
    let forged = hs256(&RSA_A.kid, &RSA_A.public_bytes(), &claims);
    let forged = validator.validate(&forged).await;
    assert_eq!(
        forged,
        Err(OAuthRejection::UnsupportedAlgorithm("`HS256`".into()))
    );
    let hmac = validator
        .validate(&hs256("hmac", b"secretsecretsecret", &claims))
        .await;
    assert!(matches!(hmac, Err(OAuthRejection::UnsupportedAlgorithm(_))));
    // An RS256 header naming the EC key: the alg must fit the key.
    let header = json!({"alg": "RS256", "kid": EC_A.kid});
    let mismatch = validator
        .validate(&RSA_A.sign_with_header(&header, &claims))
        .await;
    assert_eq!(mismatch, Err(OAuthRejection::AlgorithmMismatch));
    // Signed by another key than the one it names.
    let header = json!({"alg": "RS256", "kid": RSA_A.kid});
    let impostor = validator
        .validate(&RSA_B.sign_with_header(&header, &claims))
        .await;
    assert_eq!(impostor, Err(OAuthRejection::BadSignature));
    for garbage in ["", "abc", "a.b", "a.b.c.d", "!!.??.zz"] {
        let refused = validator.validate(garbage).await;
        assert!(
            matches!(refused, Err(OAuthRejection::Malformed(_))),
            "{garbage}: {refused:?}"
        );
    }
}

#[tokio::test]
async fn a_rotated_key_is_fetched_on_first_sight_at_most_once_per_interval() {
    let issuer = Issuer::start(&[&*RSA_A]).await;
    let claims = issuer.claims("incidents:read");
    // Default timings: the key seen 0 s after the last fetch waits for the 30 s interval.
    let patient = validator(issuer.config(), Timing::default());
    assert!(patient.validate(&RSA_A.sign(&claims)).await.is_ok());
    issuer.publish(StatusCode::OK, &[&*RSA_B]);
    let early = patient.validate(&RSA_B.sign(&claims)).await;
    assert_eq!(early, Err(OAuthRejection::UnknownKey));
    assert_eq!(issuer.hits(), 1, "no refetch within the interval");
    // Once the interval has passed, the new key is fetched and accepted without a restart.
    issuer.publish(StatusCode::OK, &[&*RSA_A]);
    let eager = validator(issuer.config(), eager());
    assert!(eager.validate(&RSA_A.sign(&claims)).await.is_ok());
    issuer.publish(StatusCode::OK, &[&*RSA_B]);
    let rotated = eager.validate(&RSA_B.sign(&claims)).await.unwrap();
    assert_eq!(rotated.principal, "alice");
    assert_eq!(issuer.hits(), 3);
}

#[tokio::test]
async fn held_keys_survive_an_issuer_outage() {
    let issuer = Issuer::start(&[&*RSA_A]).await;
    let aged = Timing {
        default_ttl: Duration::ZERO, // every use finds the set stale
        ..eager()
    };
    let validator = validator(issuer.config(), aged);
    let token = RSA_A.sign(&issuer.claims("incidents:read"));
    assert!(validator.validate(&token).await.is_ok());
    issuer.publish(StatusCode::INTERNAL_SERVER_ERROR, &[]);
    for _ in 0..3 {
        assert!(
            validator.validate(&token).await.is_ok(),
            "stale is better than down"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        issuer.hits() >= 2,
        "stale keys were refreshed in the background"
    );
    let unknown = validator
        .validate(&RSA_B.sign(&issuer.claims("incidents:read")))
        .await;
    assert_eq!(unknown, Err(OAuthRejection::UnknownKey));
}

#[tokio::test]
async fn an_issuer_down_at_start_is_used_once_it_is_up() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let url = format!("http://127.0.0.1:{port}");
    let mut config = OAuthConfig::new(&url, RESOURCE);
    config.jwks_url = Some(format!("{url}/jwks"));
    let validator = validator(config, eager());
    let token = RSA_A.sign(&claims(&url, RESOURCE, "alice", "incidents:read"));
    assert_eq!(
        validator.validate(&token).await,
        Err(OAuthRejection::JwksUnavailable)
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let router = Router::new().route("/jwks", get(|| async { axum::Json(jwks(&[&*RSA_A])) }));
    tokio::spawn(async move { axum::serve(listener, router).await });
    assert!(validator.validate(&token).await.is_ok());
}

#[tokio::test]
async fn scopes_are_mapped_from_scope_and_scp() {
    let issuer = Issuer::start(&[&*RSA_A]).await;
    let mut config = issuer.config();
    config.scope_map = ScopeMap::parse(&["api.write=incidents:write", "api.audit=admin"]).unwrap();
    let validator = validator(config, Timing::default());
    let mut entra = issuer.claims("");
    entra.as_object_mut().unwrap().remove("scope");
    entra["scp"] = json!(["api.write", "api.audit"]);
    let grant = validator.validate(&RSA_A.sign(&entra)).await.unwrap();
    assert_eq!(grant.scopes, Scopes::ALL);
    let plain = validator
        .validate(&RSA_A.sign(&issuer.claims("openid profile")))
        .await;
    assert_eq!(plain, Err(OAuthRejection::NoFirebreakScope));
}

#[tokio::test]
async fn the_principal_comes_from_the_configured_claim() {
    let issuer = Issuer::start(&[&*EC_A]).await;
    let mut config = issuer.config();
    config.principal_claim = "email".into();
    let validator = validator(config, Timing::default());
    let base = issuer.claims("incidents:read");
    let missing = validator.validate(&EC_A.sign(&base)).await;
    assert_eq!(
        missing,
        Err(OAuthRejection::MissingPrincipal("email".into()))
    );
    let named = with(base, "email", json!("alice@example.com"));
    let grant = validator.validate(&EC_A.sign(&named)).await.unwrap();
    assert_eq!(grant.principal, "alice@example.com");
}

#[test]
fn descriptions_never_repeat_the_token() {
    let token = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2ln";
    assert!(JwtValidator::is_jwt_shaped(token));
    assert!(!JwtValidator::is_jwt_shaped("ops-bot-0123456789abcdef"));
    let header = header("eyJhbGciOiJ7XCJldmlsXCJ9In0.e30.c2ln").unwrap_err();
    assert_eq!(
        header.description(),
        "the access token is signed with an unknown algorithm; only RS256 and ES256 are accepted"
    );
    for rejection in [
        OAuthRejection::BadSignature,
        OAuthRejection::Expired,
        header,
    ] {
        assert!(!rejection.description().contains(token));
        assert!(rejection.description().is_ascii());
    }
}

impl JwtValidator {
    /// `validate` taking the token by value, for closures in the tests.
    async fn validate_owned(&self, token: String) -> Result<Grant, OAuthRejection> {
        self.validate(&token).await
    }
}
