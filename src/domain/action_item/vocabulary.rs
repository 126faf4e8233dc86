//! The closed sets of an action item: priority, kind and status, with their spellings.

use crate::domain::vocabulary::vocabulary;

vocabulary! {
    /// How urgent an action item is: `P1` (most urgent) to `P4`.
    #[derive(PartialOrd, Ord)]
    pub enum Priority ("action item priority") {
        /// Do now: until it is done the incident can happen again any day.
        P1 = "P1",
        /// Within weeks.
        P2 = "P2",
        /// This quarter.
        P3 = "P3",
        /// Nice to have.
        P4 = "P4",
    }
}

vocabulary! {
    /// What an action item improves.
    pub enum ActionItemKind ("action item kind") {
        /// Stops this (or this class of) incident from happening again.
        Prevent = "prevent" | "prevention",
        /// Finds it sooner next time.
        Detect = "detect" | "detection",
        /// Limits its impact or shortens it next time.
        Mitigate = "mitigate" | "mitigation",
        /// Improves how we respond (paging, roles, communication, runbooks).
        Process = "process",
    }
}

vocabulary! {
    /// Where an action item stands.
    pub enum ActionItemStatus ("action item status") {
        /// Not started.
        Open = "open" | "todo",
        /// Someone is on it.
        InProgress = "in_progress" | "started" | "doing",
        /// Finished.
        Done = "done" | "completed" | "complete",
        /// Decided against, on purpose (the timeline keeps the decision).
        WontDo = "wont_do" | "won't do" | "wontfix",
    }
}

impl ActionItemStatus {
    /// True for `open` and `in_progress`: work is still owed.
    pub fn is_outstanding(self) -> bool {
        matches!(self, ActionItemStatus::Open | ActionItemStatus::InProgress)
    }
}
