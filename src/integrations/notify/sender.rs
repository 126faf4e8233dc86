//! Posting a rendered message to a target: one shared client that follows no redirects, a
//! timeout per request, and an account of the attempt that never carries the target's URL.

use std::time::{Duration, Instant};

use chrono::Utc;
use reqwest::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER, USER_AGENT};
use reqwest::redirect;

use super::{Target, sign};
use crate::domain::notification::{Outcome, TargetKind, classify};

/// How much of an answer's body is kept.
const RESPONSE_MAX_BYTES: usize = 512;
/// Longest error text kept.
const ERROR_MAX_CHARS: usize = 300;
/// The `user-agent` sent.
const AGENT: &str = concat!("Firebreak/", env!("CARGO_PKG_VERSION"));

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The HTTP status; none when no answer came.
    pub status: Option<u16>,
    /// The wait the receiver asked for (`Retry-After`, in seconds or as an HTTP date).
    pub retry_after: Option<Duration>,
    /// Why no answer came (connection refused, timed out); short, and without the URL.
    pub error: Option<String>,
    /// How long the attempt took.
    pub latency: Duration,
    /// The start of the answer's body (at most 512 bytes), e.g. Slack's `channel_is_archived`.
    pub response: String,
}

/// The longest wait a receiver's `Retry-After` can impose.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);
/// The longest answer text quoted in a reason.
const QUOTED_MAX: usize = 40;

impl Attempt {
    /// What the attempt means for a target of `kind` (see [`classify`]). The reason quotes the
    /// transport error, or else the answer's body when it is an error code such as Slack's
    /// `channel_is_archived`: any other text a third party wrote could be addressed to the
    /// agent that reads the brief. A `Retry-After` longer than an hour counts as an hour.
    pub fn outcome(&self, kind: TargetKind) -> Outcome {
        let said = self.error.clone().or_else(|| quotable(&self.response));
        let retry_after = self.retry_after.map(|wait| wait.min(MAX_RETRY_AFTER));
        classify(kind, self.status, retry_after, said)
    }
}

/// The answer's body, when it is an error code.
fn quotable(response: &str) -> Option<String> {
    let word = response.trim();
    let is_code = (3..=QUOTED_MAX).contains(&word.len())
        && word.starts_with(|c: char| c.is_ascii_lowercase())
        && word
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    is_code.then(|| word.to_owned())
}

/// Sends notifications over one shared HTTP client (cheap to clone).
#[derive(Debug, Clone)]
pub struct Sender {
    client: reqwest::Client,
}

impl Sender {
    /// A sender whose connections must open within `connect_timeout`. Redirects are never
    /// followed: a 3xx is a failed attempt. Proxies named by the usual environment variables
    /// are used.
    pub fn new(connect_timeout: Duration) -> Result<Sender, String> {
        let client = reqwest::Client::builder()
            .redirect(redirect::Policy::none())
            .connect_timeout(connect_timeout)
            .build()
            .map_err(|err| format!("cannot build the HTTP client: {}", describe(err)))?;
        Ok(Sender { client })
    }

    /// Posts `body` to `target` within `timeout` (the whole exchange). `webhook_id` is the
    /// event's stable id (`Event::webhook_id`); webhook targets get it as `webhook-id` with a
    /// fresh `webhook-timestamp` and its `webhook-signature`.
    pub async fn send(
        &self,
        target: &Target,
        webhook_id: &str,
        body: &[u8],
        timeout: Duration,
    ) -> Attempt {
        let started = Instant::now();
        let exchange = self.exchange(target, webhook_id, body, timeout);
        let mut attempt = match tokio::time::timeout(timeout, exchange).await {
            Ok(attempt) => attempt,
            Err(_) => failed(format!("no answer within {}", seconds(timeout))),
        };
        attempt.latency = started.elapsed();
        attempt
    }

    async fn exchange(
        &self,
        target: &Target,
        webhook_id: &str,
        body: &[u8],
        timeout: Duration,
    ) -> Attempt {
        let mut request = self
            .client
            .post(target.url.expose())
            .timeout(timeout)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header(USER_AGENT, HeaderValue::from_static(AGENT))
            .body(body.to_vec());
        if target.kind == TargetKind::Webhook {
            let timestamp = Utc::now().timestamp();
            request = request
                .header("webhook-id", webhook_id)
                .header("webhook-timestamp", timestamp.to_string())
                .header(
                    "webhook-signature",
                    sign(&target.secrets, webhook_id, timestamp, body),
                );
        }
        let mut response = match request.send().await {
            Ok(response) => response,
            Err(err) if err.is_timeout() => {
                return failed(format!("no answer within {}", seconds(timeout)));
            }
            Err(err) => return failed(describe(err)),
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, Utc::now()));
        let mut kept: Vec<u8> = Vec::new();
        let mut error = None;
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    let room = RESPONSE_MAX_BYTES - kept.len();
                    kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
                    if kept.len() >= RESPONSE_MAX_BYTES {
                        break;
                    }
                }
                Ok(None) => break,
                // The status is in; a body cut short does not undo the answer.
                Err(err) => {
                    error = Some(format!("reading the answer: {}", describe(err)));
                    break;
                }
            }
        }
        Attempt {
            status: Some(status),
            retry_after,
            error,
            latency: Duration::ZERO,
            response: String::from_utf8_lossy(&kept).into_owned(),
        }
    }
}

fn failed(error: String) -> Attempt {
    Attempt {
        status: None,
        retry_after: None,
        error: Some(error),
        latency: Duration::ZERO,
        response: String::new(),
    }
}

fn seconds(duration: Duration) -> String {
    format!("{}s", duration.as_secs_f64())
}

/// A short account of `err` and its causes, without the URL (which may be the credential).
fn describe(err: reqwest::Error) -> String {
    let err = err.without_url();
    let mut text = String::new();
    let mut current: Option<&dyn std::error::Error> = Some(&err);
    while let Some(e) = current {
        let line = e.to_string();
        if !text.contains(&line) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&line);
        }
        current = e.source();
    }
    text.chars().take(ERROR_MAX_CHARS).collect()
}

/// `Retry-After`: delay seconds, or an HTTP date (a past date is no wait).
pub(super) fn parse_retry_after(value: &str, now: chrono::DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    Some(
        (at.with_timezone(&Utc) - now)
            .to_std()
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests;
