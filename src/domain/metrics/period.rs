//! The period a metrics answer covers, the period before it (for the trend), and the week or
//! month buckets of a breakdown over time.

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, NaiveTime, Utc};

use crate::domain::error::ValidationError;
use crate::domain::metrics::MetricsGrouping;
use crate::domain::validation;

/// How far back a period reaches when only its end (or nothing) is given.
pub const DEFAULT_DAYS: u64 = 90;
/// The most rows a breakdown over time answers (five years of weeks).
pub const MAX_BUCKETS: usize = 261;

/// A half-open period `[from, to)` of declaration times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// First instant included.
    pub from: DateTime<Utc>,
    /// First instant after the period.
    pub to: DateTime<Utc>,
}

impl Period {
    /// The period a caller asked for: `to` defaults to `now` and `from` to [`DEFAULT_DAYS`]
    /// before `to`; `from` must come before `to`.
    pub fn parse(
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Period, ValidationError> {
        let from = validation::instant("from", from)?;
        let to = validation::instant("to", to)?.unwrap_or(now);
        let from = match from {
            Some(from) => from,
            None => to
                .checked_sub_days(Days::new(DEFAULT_DAYS))
                .unwrap_or(validation::EARLIEST),
        };
        if from >= to {
            return Err(ValidationError::new(
                "from",
                format!(
                    "({}) must be before `to` ({}): the period is [from, to)",
                    from.to_rfc3339(),
                    to.to_rfc3339()
                ),
            ));
        }
        Ok(Period { from, to })
    }

    /// The period of the same length that ends where this one starts.
    pub fn previous(&self) -> Period {
        Period {
            from: self.from - (self.to - self.from),
            to: self.from,
        }
    }
}

/// One row of a breakdown over time: a week or a month, cut to the period at the edges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    /// `2026-W05` for an ISO week, `2026-01` for a month.
    pub label: String,
    /// The part of the period it covers.
    pub period: Period,
}

/// The week or month buckets covering `period`, oldest first, the first and last cut to the
/// period; empty for the groupings that are not over time. Refuses more than
/// [`MAX_BUCKETS`] rows.
pub fn buckets(period: &Period, grouping: MetricsGrouping) -> Result<Vec<Bucket>, ValidationError> {
    let first = period.from.date_naive();
    let mut start = match grouping {
        MetricsGrouping::Week => {
            first - Days::new(u64::from(first.weekday().num_days_from_monday()))
        }
        MetricsGrouping::Month => first.with_day(1).unwrap_or(first),
        MetricsGrouping::Service | MetricsGrouping::Severity => return Ok(Vec::new()),
    };
    let mut buckets = Vec::new();
    loop {
        let from = midnight(start);
        if from >= period.to {
            return Ok(buckets);
        }
        if buckets.len() == MAX_BUCKETS {
            let instead = match grouping {
                MetricsGrouping::Week => "group by `month` or ask for a shorter period",
                _ => "ask for a shorter period",
            };
            return Err(ValidationError::new(
                "group_by",
                format!(
                    "`{grouping}` over this period makes more than {MAX_BUCKETS} rows; {instead}"
                ),
            ));
        }
        let (label, following) = match grouping {
            MetricsGrouping::Week => (
                start.format("%G-W%V").to_string(),
                start.checked_add_days(Days::new(7)),
            ),
            _ => (
                start.format("%Y-%m").to_string(),
                start.checked_add_months(Months::new(1)),
            ),
        };
        let Some(following) = following else {
            return Ok(buckets);
        };
        buckets.push(Bucket {
            label,
            period: Period {
                from: from.max(period.from),
                to: midnight(following).min(period.to),
            },
        });
        start = following;
    }
}

fn midnight(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(NaiveTime::MIN).and_utc()
}
