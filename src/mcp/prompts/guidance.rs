//! The words of the prompts: what the agent should do next, with Firebreak's tools, given
//! where the incident stands. Each function wraps the facts (markdown) it is handed.

use crate::app::IncidentBrief;
use crate::domain::{Role, Status};

/// Rules every responding agent follows, whatever the status.
const RESPONSE_RULES: &str = "\
- **Keep the timeline as the record.** `add_timeline_entry` with kind `finding` for what you \
observed (and the evidence: query, graph, log line), `hypothesis` for a suspected cause written as \
\"<cause>. Evidence: <what points to it>. Confidence: low|medium|high\", `decision` for a choice and \
its reason, `action` for a change made. When a hypothesis is confirmed or ruled out, add a \
`finding` that says which and why.
- **Runbooks.** `find_runbooks` with this incident finds runbooks by its services, alerts and text; \
read one with `get_runbook`. Diagnostic (read-only) steps may run. Before any step marked risky \
(it changes production), stop and ask the human for approval. Record every step taken with \
`record_runbook_step` (outcome `succeeded`, `failed` or `skipped`, with its output).
- **Writes.** Pass the version you read as `expected_version` to `update_incident`, \
`change_status` and `resolve_incident`. On a `conflict` error, read the incident again with \
`get_incident` and reconsider before retrying.
- **Ask the human first** before changing severity, declining, merging, resolving, or anything \
irreversible.
- **Stakeholders.** The `stakeholder_update` prompt drafts an internal or public update.";

/// `respond_to_incident`: the brief, then the next steps for the incident's status.
pub(super) fn respond(brief: &IncidentBrief, facts: &str) -> String {
    let incident = &brief.incident;
    let reference = incident.reference();
    let mut steps = next_steps(incident.status, &reference.to_string());
    let has_commander = brief.roles.iter().any(|r| r.role == Role::Commander);
    if !has_commander && !incident.status.is_terminal() {
        steps.push_str(&format!(
            "\n- Nobody commands {reference} yet: ask the human who does, then record it with \
             `assign_role` (role `commander`)."
        ));
    }
    if !incident.status.is_terminal() {
        steps = format!(
            "{}\n\n{steps}",
            signals_first(brief, &reference.to_string())
        );
    }
    format!(
        "You are helping respond to incident {reference} through Firebreak, the incident \
         server whose tools you have. Its current facts follow, then what to do next.\n\n\
         {facts}\n## What to do next\n\n{steps}\n\n## Throughout\n\n{RESPONSE_RULES}\n"
    )
}

/// The first look of every response: the alerts behind the incident and what changed.
fn signals_first(brief: &IncidentBrief, reference: &str) -> String {
    let alerts = brief.alert_counts.firing + brief.alert_counts.resolved;
    let alerts = if alerts == 0 {
        format!("No alerts are attached to {reference}.")
    } else {
        format!(
            "{reference} has {} firing and {} resolved alerts: `list_alerts` with incident \
             {reference} shows each with why it was declared, attached or deduplicated.",
            brief.alert_counts.firing, brief.alert_counts.resolved
        )
    };
    let changes = match brief.suspects.first() {
        Some(top) => format!(
            "{} changes look related; the strongest is {} ({}, score {:.2}: {}).",
            brief.suspects.len(),
            top.change.reference(),
            top.change.change.summary,
            top.scored.score,
            top.scored.reasons.join("; ")
        ),
        None => "No recorded change scores high.".to_owned(),
    };
    format!(
        "First, look at the signals. {alerts} {changes} Ask \"what changed?\" with \
         `list_changes` (incident {reference}) for every change around the impact start; a score \
         is a suggestion to check, not a cause. Record the verdict with `link_change` \
         (`suspected`, `confirmed` with the evidence, or `ruled_out`).\n\n{}",
        history_first(brief, reference)
    )
}

/// The second look: have we seen this before, and what fixed it?
fn history_first(brief: &IncidentBrief, reference: &str) -> String {
    let seen = match brief.similar.first() {
        Some(best) => format!(
            "It looks like INC-{} ({}, score {:.2}: {}); ",
            best.number,
            best.title,
            best.score,
            best.reasons
                .iter()
                .take(3)
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        ),
        None => String::new(),
    };
    format!(
        "Then look for what fixed it last time. {seen}`find_similar_incidents` (incident \
         {reference}) lists the past incidents most like it over all history, each with how it \
         was resolved, its postmortem's root causes and the runbooks followed. Record a likely \
         match as a `hypothesis` citing it; a past fix is a lead to check, not a diagnosis."
    )
}

/// The first moves for an incident in `status`.
fn next_steps(status: Status, reference: &str) -> String {
    match status {
        Status::Triage => format!(
            "{reference} is in triage: nobody has confirmed it yet.\n\
             1. Confirm it is real and check the severity (SEV1 worst; if unsure between two, \
             pick the worse). Fix the severity, impact or services with `update_incident`.\n\
             2. If it is an incident, acknowledge it: `change_status` to `investigating`.\n\
             3. If it is not (a false alarm), `change_status` to `declined` with a `note`; if \
             another open incident covers it (see `list_incidents` with status `open`), \
             `change_status` to `merged` with `merged_into`."
        ),
        Status::Investigating => format!(
            "{reference} is being investigated: the cause is not known yet.\n\
             1. Look for runbooks with `find_runbooks` (incident {reference}) and run their \
             diagnosis steps.\n\
             2. Record each suspected cause as a `hypothesis` with its evidence and confidence; \
             test the strongest first; record what you learn as `finding`s.\n\
             3. Once the cause is known, `change_status` to `identified`. If impact can be \
             stopped before that (rollback, failover, feature flag), propose it to the human."
        ),
        Status::Identified => format!(
            "The cause of {reference} is known; the fix is under way.\n\
             1. Mitigate: follow the runbook's mitigation steps, asking the human before each \
             risky one, and record them with `record_runbook_step`; record other changes as \
             `action`s.\n\
             2. When customer impact stops, `change_status` to `monitoring`."
        ),
        Status::Monitoring => format!(
            "{reference} is mitigated and being watched.\n\
             1. Check the signals that showed the impact; record what you see as `finding`s.\n\
             2. If impact returns, `change_status` back to `investigating` or `identified`.\n\
             3. When impact has ended for good, `resolve_incident` with a `resolution`: what \
             was done and the state the system is in now."
        ),
        Status::Resolved => format!(
            "{reference} is resolved: impact has ended and learning starts.\n\
             1. Draft the postmortem with `draft_postmortem` (the `write_postmortem` prompt \
             guides it); a SEV1 or SEV2 incident cannot be closed until it is published.\n\
             2. Record follow-up work with `add_action_item`.\n\
             3. If impact returns, reopen: `change_status` to `investigating` with a `note`."
        ),
        Status::Closed | Status::Declined | Status::Merged => format!(
            "{reference} is {status}: there is nothing left to respond to. Follow up on its \
             action items with `list_action_items`, or read its postmortem with \
             `get_postmortem`."
        ),
    }
}

/// `write_postmortem`: the facts and highlights, then how to write and publish it.
pub(super) fn postmortem(brief: &IncidentBrief, facts: &str) -> String {
    let incident = &brief.incident;
    let reference = incident.reference();
    let caveat = if incident.status.is_open() {
        format!(
            "\n**{reference} is still {}:** a draft now will say the incident is not \
             resolved. Prefer to finish it once `resolve_incident` has been called.\n",
            incident.status
        )
    } else {
        String::new()
    };
    let required = if incident.severity.is_major() {
        format!(
            "{reference} is {}, a major incident: it cannot be closed until its postmortem is \
             published.",
            incident.severity
        )
    } else {
        format!(
            "{reference} is {}: a postmortem is optional, but worth it when there is something \
             to learn.",
            incident.severity
        )
    };
    format!(
        "Help write the blameless postmortem of incident {reference} with Firebreak's tools. \
         {required} Its facts and timeline highlights follow, then how to write it.\n{caveat}\n\
         {facts}\n## How to write it\n\n\
         1. `draft_postmortem` (incident {reference}) creates the draft or refreshes its fact \
         sections (summary, impact, durations, severity history, roles, key timeline, root causes \
         seeded from hypotheses and findings, action items) without overwriting sections \
         someone edited. Read it with `get_postmortem`.\n\
         2. Write the narrative sections with `update_postmortem` (`sections` by name, and the \
         draft's version as `expected_version`): root causes and contributing factors, trigger, \
         detection, resolution, what went well, what went wrong, where we got lucky. Ground each \
         claim in the timeline; say which `finding` or `hypothesis` supports it, and keep \
         unconfirmed causes marked as such.\n\
         3. **Blameless.** Describe what happened and why each action made sense with what \
         people knew then. Look for several contributing factors in systems and processes, not \
         one root cause, and never a person as a cause: write \"the deploy pipeline allowed an \
         unreviewed config change\", not \"Sam pushed a bad config\". Name people only by role.\n\
         4. **Action items.** Check the existing ones with `list_action_items`, then add each \
         follow-up with `add_action_item`: a verb-first, specific, bounded `title`; `kind` \
         (`prevent`, `detect`, `mitigate` or `process`); `priority`; an `owner` and `due_on` \
         when known. Cover prevention, faster detection and smaller impact next time.\n\
         5. **Review and publish.** Show the human the result and ask for review; set `status` \
         `in_review` with `update_postmortem`, then `published` once they approve. Only then \
         close the incident (`change_status` to `closed`).\n"
    )
}

/// `stakeholder_update` for colleagues: the full facts and recent timeline.
pub(super) fn internal_update(brief: &IncidentBrief, facts: &str) -> String {
    let reference = brief.incident.reference();
    let cadence = if brief.incident.severity.is_major() {
        "every 30 minutes"
    } else {
        "every hour or at each status change"
    };
    format!(
        "Draft an internal stakeholder update on incident {reference} for leadership, support \
         and other teams. Its current facts follow, then how to write it.\n\n{facts}\n\
         ## How to write it\n\n\
         - Five to eight short lines: status and severity; customer impact (who, how many, \
         since when); what responders are doing now; decisions taken; asks (help or \
         decisions needed); who commands; when the next update comes ({cadence} suits this \
         severity).\n\
         - Separate what is known from what is suspected: findings are facts; hypotheses are \
         named as such, with their confidence.\n\
         - Plain words, no blame, no speculation presented as fact.\n\
         - Show the draft to the human; once they approve, post it with \
         `post_status_update` (`audience` `internal` for the response channel or \
         `stakeholders` for leadership and support, `status` in status-page words, the \
         affected `services` with their state, and `next_update_at`, e.g. `+30m`). The \
         answer shows exactly what went out; notifications carry it to the subscribed \
         channels.\n"
    )
}

/// `stakeholder_update` for customers: the public facts only.
pub(super) fn public_update(brief: &IncidentBrief, facts: &str) -> String {
    let reference = brief.incident.reference();
    format!(
        "Draft a public status-page update on incident {reference}. The facts below are all a \
         public update may draw on: internal timeline entries, people and severity are left \
         out on purpose.\n\n{facts}\n## How to write it\n\n\
         - Two to four sentences in plain language: what customers experience, since when, \
         what is being done, and when the next update comes. Lead with the status word: \
         Investigating, Identified, Monitoring or Resolved.\n\
         - Rephrase internal wording. Never include people's names, hostnames, internal \
         service names, severity levels, or a cause that is not confirmed; do not blame a \
         supplier. Say \"outage\" only if the service was fully down.\n\
         - Stay consistent with the public updates so far.\n\
         - A human approves it; then publish it with `post_status_update` (`audience` \
         `public`, `status`, the affected `services` as status page components with their \
         state, `next_update_at`, and on the first public update a customer-facing \
         `public_title`). It refuses text naming a responder. The answer shows exactly what \
         the status page now shows.\n"
    )
}
