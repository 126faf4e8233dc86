//! How one delivery goes: what an attempt's answer means ([`classify`]) and when to try again
//! ([`RetryPolicy`]).

use std::time::Duration;

use super::TargetKind;

/// The longest wait between two attempts (before jitter).
const LONGEST_DELAY: Duration = Duration::from_secs(6 * 3600);
/// Each wait is this many times the one before.
const GROWTH: f64 = 6.0;
/// The share of a wait that jitter moves it by, either way.
const JITTER: f64 = 0.2;

/// When to retry a failed delivery, and when to stop: roughly the Standard Webhooks schedule
/// (5 s, 30 s, 3 min, 18 min, 1.8 h, then every 6 h) for up to a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The wait after the first failure.
    pub first_retry: Duration,
    /// How long after the first attempt a delivery is given up.
    pub give_up_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            first_retry: Duration::from_secs(5),
            give_up_after: Duration::from_secs(24 * 3600),
        }
    }
}

impl RetryPolicy {
    /// The wait before the next attempt after `failed_attempts` failures (none: no wait):
    /// `first_retry × 6^(n−1)`, at most 6 hours (or `first_retry` if that is longer), moved by
    /// ±20 % according to `jitter` (0 to 1, drawn by the caller; 0.5 is no change) so that
    /// deliveries failed together do not retry together.
    pub fn delay(&self, failed_attempts: u32, jitter: f64) -> Duration {
        if failed_attempts == 0 {
            return Duration::ZERO;
        }
        let longest = LONGEST_DELAY.max(self.first_retry).as_secs_f64();
        let exponent = i32::try_from(failed_attempts - 1).unwrap_or(i32::MAX);
        let base = (self.first_retry.as_secs_f64() * GROWTH.powi(exponent)).min(longest);
        let jitter = if jitter.is_finite() {
            jitter.clamp(0.0, 1.0)
        } else {
            0.5
        };
        let factor = 1.0 - JITTER + 2.0 * JITTER * jitter;
        Duration::try_from_secs_f64(base * factor).unwrap_or(Duration::from_secs_f64(longest))
    }

    /// Whether to stop: the next attempt, `next_delay` from now, would come more than
    /// `give_up_after` after the first attempt (made `first_attempt_age` ago).
    pub fn gives_up(&self, first_attempt_age: Duration, next_delay: Duration) -> bool {
        first_attempt_age.saturating_add(next_delay) > self.give_up_after
    }
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The receiver took it (2xx).
    Delivered,
    /// It failed; try again (after `after`, when the receiver said, e.g. `Retry-After`).
    Retry {
        /// The wait the receiver asked for.
        after: Option<Duration>,
        /// Why it failed, for the ledger and the operator.
        reason: String,
    },
    /// The receiver says the target no longer exists: stop sending to it for good.
    Gone {
        /// Why, for the ledger and the operator.
        reason: String,
    },
}

/// What an attempt's answer means. `status` is the HTTP status (none: no answer came),
/// `retry_after` the wait the receiver asked for, and `error` what else is known: the transport
/// error when no answer came, or the start of the answer's body (Slack says why there, e.g.
/// `channel_is_archived`), which the reason quotes.
///
/// 2xx is delivered. 410 is gone for every kind, and so is 404 from Slack (the webhook or its
/// channel was removed). A 3xx fails, because redirects are not followed (outbound requests go
/// only to the configured URL). Everything else, and no answer, is retried.
pub fn classify(
    kind: TargetKind,
    status: Option<u16>,
    retry_after: Option<Duration>,
    error: Option<String>,
) -> Outcome {
    let said = error
        .map(|e| e.trim().chars().take(200).collect::<String>())
        .filter(|e| !e.is_empty());
    let with_said = |reason: String| match &said {
        Some(said) => format!("{reason} ({said})"),
        None => reason,
    };
    let Some(status) = status else {
        // The sender's error already says how no answer came (`no answer within 10s`).
        return Outcome::Retry {
            after: retry_after,
            reason: said.unwrap_or_else(|| "no answer".to_owned()),
        };
    };
    match (kind, status) {
        (_, 200..=299) => Outcome::Delivered,
        (TargetKind::Slack, 404) => Outcome::Gone {
            reason: with_said(
                "HTTP 404 from Slack: the webhook or its channel no longer exists \
                 (channel_not_found, no_service); configure a new webhook URL"
                    .to_owned(),
            ),
        },
        (TargetKind::Slack, 410) => Outcome::Gone {
            reason: with_said(
                "HTTP 410 from Slack: the channel is archived or the workspace disabled \
                 (channel_is_archived, team_disabled); configure a new webhook URL"
                    .to_owned(),
            ),
        },
        (_, 410) => Outcome::Gone {
            reason: with_said(
                "HTTP 410 Gone: the receiver says this endpoint no longer exists; fix the \
                 target's URL to resume"
                    .to_owned(),
            ),
        },
        (_, 300..=399) => Outcome::Retry {
            after: retry_after,
            reason: with_said(format!(
                "HTTP {status}: redirects are not followed; configure the final URL"
            )),
        },
        (_, 429) => Outcome::Retry {
            after: retry_after,
            reason: with_said("HTTP 429: the receiver asked to slow down".to_owned()),
        },
        _ => Outcome::Retry {
            after: retry_after,
            reason: with_said(format!("HTTP {status}")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_sixfold_up_to_six_hours_with_jitter() {
        let policy = RetryPolicy::default();
        let secs = |n: u32| policy.delay(n, 0.5).as_secs_f64().round();
        assert_eq!(policy.delay(0, 0.5), Duration::ZERO);
        assert_eq!(
            (1..=7).map(secs).collect::<Vec<_>>(),
            [5.0, 30.0, 180.0, 1080.0, 6480.0, 21600.0, 21600.0]
        );
        let jittered = |jitter: f64| (policy.delay(1, jitter).as_secs_f64() * 1000.0).round();
        assert_eq!(
            [0.0, 1.0, f64::NAN, 7.0].map(jittered),
            [4000.0, 6000.0, 5000.0, 6000.0]
        );
        assert_eq!(secs(u32::MAX), 21600.0);
    }

    #[test]
    fn a_delivery_is_given_up_a_day_after_its_first_attempt() {
        let policy = RetryPolicy::default();
        let hour = Duration::from_secs(3600);
        assert!(!policy.gives_up(20 * hour, 4 * hour));
        assert!(policy.gives_up(20 * hour, 5 * hour));
        assert!(!policy.gives_up(Duration::ZERO, Duration::ZERO));
        assert!(policy.gives_up(Duration::MAX, Duration::MAX));
    }

    #[test]
    fn answers_are_delivered_retried_or_gone() {
        let slow = Some(Duration::from_secs(30));
        assert_eq!(
            classify(TargetKind::Webhook, Some(204), None, None),
            Outcome::Delivered
        );
        assert_eq!(
            classify(TargetKind::Teams, Some(202), None, None),
            Outcome::Delivered
        );
        for kind in TargetKind::ALL {
            assert!(
                matches!(classify(kind, Some(410), None, None), Outcome::Gone { reason } if reason.contains("410")),
                "{kind}"
            );
        }
        let Outcome::Gone { reason } = classify(
            TargetKind::Slack,
            Some(404),
            None,
            Some("channel_not_found".into()),
        ) else {
            panic!("a Slack 404 is gone");
        };
        assert!(
            reason.contains("404") && reason.ends_with("(channel_not_found)"),
            "{reason}"
        );
        assert!(matches!(
            classify(TargetKind::Webhook, Some(404), None, None),
            Outcome::Retry { .. }
        ));
        assert_eq!(
            classify(TargetKind::Webhook, Some(429), slow, None),
            Outcome::Retry {
                after: slow,
                reason: "HTTP 429: the receiver asked to slow down".into()
            }
        );
        let Outcome::Retry { reason, .. } = classify(TargetKind::Slack, Some(302), None, None)
        else {
            panic!("a redirect is a failure");
        };
        assert!(reason.contains("redirects are not followed"), "{reason}");
        assert_eq!(
            classify(TargetKind::Webhook, Some(503), slow, Some(" ".into())),
            Outcome::Retry {
                after: slow,
                reason: "HTTP 503".into()
            }
        );
        assert_eq!(
            classify(
                TargetKind::Webhook,
                None,
                None,
                Some("no answer within 10s".into())
            ),
            Outcome::Retry {
                after: None,
                reason: "no answer within 10s".into()
            }
        );
    }
}
