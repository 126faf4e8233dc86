//! The closed sets of an action item: priority, kind and status, with their wire spellings.

use std::fmt;
use std::str::FromStr;

/// How urgent an action item is: `P1` (most urgent) to `P4`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// Do now: until it is done the incident can happen again any day.
    P1,
    /// Within weeks.
    P2,
    /// This quarter.
    P3,
    /// Nice to have.
    P4,
}

impl Priority {
    /// Every priority, most urgent first.
    pub const ALL: [Priority; 4] = [Priority::P1, Priority::P2, Priority::P3, Priority::P4];

    /// The wire spelling, e.g. `P1`.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::P1 => "P1",
            Priority::P2 => "P2",
            Priority::P3 => "P3",
            Priority::P4 => "P4",
        }
    }
}

/// What an action item improves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActionItemKind {
    /// Stops this (or this class of) incident from happening again.
    Prevent,
    /// Finds it sooner next time.
    Detect,
    /// Limits its impact or shortens it next time.
    Mitigate,
    /// Improves how we respond (paging, roles, communication, runbooks).
    Process,
}

impl ActionItemKind {
    /// Every kind.
    pub const ALL: [ActionItemKind; 4] = [
        ActionItemKind::Prevent,
        ActionItemKind::Detect,
        ActionItemKind::Mitigate,
        ActionItemKind::Process,
    ];

    /// The wire spelling, e.g. `prevent`.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionItemKind::Prevent => "prevent",
            ActionItemKind::Detect => "detect",
            ActionItemKind::Mitigate => "mitigate",
            ActionItemKind::Process => "process",
        }
    }
}

/// Where an action item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActionItemStatus {
    /// Not started.
    Open,
    /// Someone is on it.
    InProgress,
    /// Finished.
    Done,
    /// Decided against, on purpose (the timeline keeps the decision).
    WontDo,
}

impl ActionItemStatus {
    /// Every status.
    pub const ALL: [ActionItemStatus; 4] = [
        ActionItemStatus::Open,
        ActionItemStatus::InProgress,
        ActionItemStatus::Done,
        ActionItemStatus::WontDo,
    ];

    /// The wire spelling, e.g. `in_progress`.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionItemStatus::Open => "open",
            ActionItemStatus::InProgress => "in_progress",
            ActionItemStatus::Done => "done",
            ActionItemStatus::WontDo => "wont_do",
        }
    }

    /// True for `open` and `in_progress`: work is still owed.
    pub fn is_outstanding(self) -> bool {
        matches!(self, ActionItemStatus::Open | ActionItemStatus::InProgress)
    }
}

macro_rules! wire_name {
    ($type:ty, $what:literal) => {
        impl fmt::Display for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $type {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                <$type>::ALL
                    .into_iter()
                    .find(|value| value.as_str() == s)
                    .ok_or_else(|| format!(concat!("unknown ", $what, " `{}`"), s))
            }
        }
    };
}

wire_name!(Priority, "action item priority");
wire_name!(ActionItemKind, "action item kind");
wire_name!(ActionItemStatus, "action item status");
