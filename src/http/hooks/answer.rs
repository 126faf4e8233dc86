//! What the ingestion endpoints answer, in the conventions of the format imitated: Events v2
//! answers `202 {"status":"success","message":"Event processed","dedup_key":…}` and
//! `400 {"status":"invalid event",…}`; the others a JSON summary of every decision.

use std::time::Duration;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::app::signals::{AlertOutcome, ChangeOutcome};
use crate::ingest::SourceKind;
use crate::ingest::formats::FormatError;

/// The result of applying a delivery.
pub(super) enum Answer {
    Alerts(Vec<AlertOutcome>),
    Changes(Vec<ChangeOutcome>),
    Ignored(String),
    Failed(crate::app::Error),
    Late(Duration),
}

impl Answer {
    pub(super) fn into_response(self, format: Option<SourceKind>) -> Response {
        let events_v2 = format == Some(SourceKind::EventsV2);
        match self {
            Answer::Alerts(outcomes) if events_v2 => {
                let key = outcomes.first().map(|o| o.key.clone());
                let body =
                    json!({"status": "success", "message": "Event processed", "dedup_key": key});
                (StatusCode::ACCEPTED, Json(body)).into_response()
            }
            Answer::Changes(_) if events_v2 => {
                let body = json!({"status": "success", "message": "Change event processed"});
                (StatusCode::ACCEPTED, Json(body)).into_response()
            }
            Answer::Alerts(outcomes) => {
                let alerts: Vec<Value> = outcomes.iter().map(alert).collect();
                (
                    StatusCode::OK,
                    Json(json!({"status": "accepted", "alerts": alerts})),
                )
                    .into_response()
            }
            Answer::Changes(outcomes) => {
                let changes: Vec<Value> = outcomes
                    .iter()
                    .map(|c| json!({"change": c.change, "id": c.external_id, "new": c.is_new}))
                    .collect();
                (
                    StatusCode::OK,
                    Json(json!({"status": "accepted", "changes": changes})),
                )
                    .into_response()
            }
            Answer::Ignored(reason) => (
                StatusCode::OK,
                Json(json!({"status": "ignored", "reason": reason})),
            )
                .into_response(),
            Answer::Failed(err) => failed(&err, events_v2),
            Answer::Late(limit) => unavailable(&format!(
                "the delivery was not applied within {} ms; nothing was written, so send it again",
                limit.as_millis()
            )),
        }
    }

    pub(super) fn unauthorized() -> Response {
        (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "unauthorized"})),
        )
            .into_response()
    }

    pub(super) fn not_found(message: &str) -> Response {
        (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "not_found", "message": message})),
        )
            .into_response()
    }

    pub(super) fn bad_request(field: &str, reason: &str) -> Response {
        let message = if field.is_empty() {
            reason.to_owned()
        } else {
            format!("`{field}` {reason}")
        };
        let body = json!({"error": "invalid_payload", "field": field, "message": message});
        (StatusCode::BAD_REQUEST, Json(body)).into_response()
    }

    pub(super) fn too_large(max: usize) -> Response {
        let body = json!({"error": "too_large", "message": format!("the body is larger than {max} bytes")});
        (StatusCode::PAYLOAD_TOO_LARGE, Json(body)).into_response()
    }

    pub(super) fn timed_out(limit: Duration) -> Response {
        let body = json!({"error": "timeout", "message": format!("the body did not arrive within {} ms", limit.as_millis())});
        let mut response = (StatusCode::REQUEST_TIMEOUT, Json(body)).into_response();
        response.headers_mut().insert(
            axum::http::header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
        response
    }
}

fn alert(o: &AlertOutcome) -> Value {
    let mut value = json!({"key": o.key, "decision": o.decision, "reason": o.reason});
    if let Some(number) = o.incident {
        value["incident"] = json!(format!("INC-{number}"));
    }
    value
}

/// PagerDuty's refusal of an invalid event.
pub(super) fn refused_event(err: &FormatError) -> Response {
    let body = json!({"status": "invalid event", "message": "Event object is invalid", "errors": [err.to_string()]});
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

fn failed(err: &crate::app::Error, events_v2: bool) -> Response {
    match err.code() {
        "invalid_argument" if events_v2 => {
            let body = json!({"status": "invalid event", "message": "Event object is invalid", "errors": [err.to_string()]});
            (StatusCode::BAD_REQUEST, Json(body)).into_response()
        }
        "invalid_argument" => {
            let body = json!({"error": "invalid_payload", "message": err.to_string()});
            (StatusCode::BAD_REQUEST, Json(body)).into_response()
        }
        "unavailable" | "conflict" => {
            unavailable("the database is unavailable; nothing was written, so send it again")
        }
        _ => {
            tracing::error!(error = %err, "an ingestion delivery failed");
            let body = json!({"error": "internal", "message": "the delivery could not be applied"});
            (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
        }
    }
}

fn unavailable(message: &str) -> Response {
    let body = json!({"error": "unavailable", "message": message});
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    response.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        axum::http::HeaderValue::from_static("1"),
    );
    response
}
