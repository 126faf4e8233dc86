//! MCP prompts: `respond_to_incident`, `write_postmortem` and `stakeholder_update`. Each fills
//! itself with the incident's current facts and tells the agent what to do next with
//! Firebreak's tools. Arguments arrive as strings (numbers are accepted too).

mod guidance;

use std::any::Any;

use rmcp::handler::server::prompt::cached_arguments_from_schema;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{GetPromptResult, PromptArgument, PromptMessage, Role};
use rmcp::{ErrorData, prompt, prompt_router};
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer};
use serde_json::json;

use crate::app::{self, IncidentBrief};
use crate::domain::postmortem::KEY_KINDS;
use crate::domain::{EntryKind, IncidentRef, Visibility};
use crate::mcp::FirebreakServer;
use crate::mcp::markdown;
use crate::mcp::tool_error::protocol_error;

/// The audiences `stakeholder_update` writes for.
pub(crate) const AUDIENCES: [&str; 2] = ["internal", "public"];
/// How many recent entries a stakeholder update draws on.
const UPDATE_ENTRIES: usize = 20;
/// How far back a public update looks for public entries.
const PUBLIC_SCAN: i64 = 200;
/// How many timeline highlights a postmortem prompt shows.
const HIGHLIGHTS: i64 = 200;
/// The entries a postmortem prompt highlights.
const HIGHLIGHT_KINDS: [EntryKind; KEY_KINDS.len() + 1] = {
    // The postmortem's key entries, plus changes (suspects for the trigger).
    let mut kinds = [EntryKind::Change; KEY_KINDS.len() + 1];
    let mut i = 0;
    while i < KEY_KINDS.len() {
        kinds[i] = KEY_KINDS[i];
        i += 1;
    }
    kinds
};

/// Arguments of the prompts about one incident.
#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct IncidentArgs {
    /// The incident: INC-42, 42 or its UUID.
    #[serde(deserialize_with = "string_or_number")]
    pub(crate) incident: String,
}

/// Arguments of `stakeholder_update`.
#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct StakeholderArgs {
    /// The incident: INC-42, 42 or its UUID.
    #[serde(deserialize_with = "string_or_number")]
    pub(crate) incident: String,
    /// Who reads the update: internal (colleagues, leadership, support) or public (customers,
    /// status page; sees no internal entries or names).
    pub(crate) audience: String,
}

/// Who a stakeholder update is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Audience {
    Internal,
    Public,
}

#[allow(
    missing_docs,
    reason = "#[prompt] adds a public metadata function per prompt without docs"
)]
#[prompt_router(vis = "pub(crate)")]
impl FirebreakServer {
    /// Work an incident: its current facts (severity, status, impact, roles, durations, recent
    /// timeline) and the next steps with Firebreak's tools for where it is in its lifecycle.
    #[prompt(title = "Respond to an incident")]
    async fn respond_to_incident(
        &self,
        Parameters(args): Parameters<IncidentArgs>,
    ) -> Result<GetPromptResult, ErrorData> {
        let brief = self.prompt_brief(&args.incident).await?;
        let text = guidance::respond(&brief, &markdown::incident_brief(&brief));
        Ok(message(format!("Respond to {}", headline(&brief)), text))
    }

    /// Write an incident's blameless postmortem: its facts, timeline highlights (status and
    /// severity changes, findings, hypotheses, decisions, actions, runbook steps) and how to
    /// draft, complete, review and publish it with Firebreak's tools.
    #[prompt(title = "Write a postmortem")]
    async fn write_postmortem(
        &self,
        Parameters(args): Parameters<IncidentArgs>,
    ) -> Result<GetPromptResult, ErrorData> {
        let brief = self.prompt_brief(&args.incident).await?;
        let reference = IncidentRef::Id(brief.incident.id);
        let highlights = self
            .app
            .timeline(
                reference,
                Some(HIGHLIGHT_KINDS.to_vec()),
                Some(HIGHLIGHTS),
                None,
            )
            .await
            .map_err(|err| incident_error(&err))?;
        let mut facts = markdown::incident_facts(&brief);
        facts.push_str("\n## Timeline highlights\n\n");
        if highlights.entries.is_empty() {
            facts.push_str("_None recorded yet._\n");
        } else {
            facts.push_str(&markdown::entries(&highlights.entries, true));
        }
        if highlights.next_cursor.is_some() {
            facts.push_str(&format!(
                "\n_Only the first {HIGHLIGHTS} highlights are shown; read on with `get_timeline`._\n"
            ));
        }
        let current = self
            .app
            .postmortem_markdown(reference)
            .await
            .map_err(|err| incident_error(&err))?;
        facts.push_str("\n## Current postmortem\n\n");
        match current {
            Some(document) => facts.push_str(&markdown::quoted(&document)),
            None => facts.push_str("_Not drafted yet._\n"),
        }
        let text = guidance::postmortem(&brief, &facts);
        Ok(message(
            format!("Write the postmortem of {}", headline(&brief)),
            text,
        ))
    }

    /// Draft a stakeholder update on an incident for an internal audience (status, impact,
    /// roles, recent timeline) or a public one (status-page wording from public entries only,
    /// no internal names), to be approved by a human before it is sent.
    #[prompt(
        title = "Draft a stakeholder update",
        arguments = arguments_in_order::<StakeholderArgs>(&["incident", "audience"])
    )]
    async fn stakeholder_update(
        &self,
        Parameters(args): Parameters<StakeholderArgs>,
    ) -> Result<GetPromptResult, ErrorData> {
        let audience = Audience::parse(&args.audience)?;
        let brief = self.prompt_brief(&args.incident).await?;
        let reference = brief.incident.reference();
        match audience {
            Audience::Internal => {
                let facts = format!(
                    "{}\n## Recent timeline\n\n{}",
                    markdown::incident_facts(&brief),
                    markdown::entries(&brief.recent_timeline, true)
                );
                Ok(message(
                    format!("Internal update on {}", headline(&brief)),
                    guidance::internal_update(&brief, &facts),
                ))
            }
            Audience::Public => {
                let recent = self
                    .app
                    .recent_timeline(IncidentRef::Id(brief.incident.id), PUBLIC_SCAN)
                    .await
                    .map_err(|err| incident_error(&err))?;
                let public: Vec<_> = recent
                    .entries
                    .into_iter()
                    .filter(|entry| entry.visibility == Visibility::Public)
                    .collect();
                let shown = &public[public.len().saturating_sub(UPDATE_ENTRIES)..];
                // Even the description leaves out severity and the internal title.
                Ok(message(
                    format!("Public status-page update on {reference}"),
                    guidance::public_update(&brief, &markdown::public_facts(&brief, shown)),
                ))
            }
        }
    }
}

impl FirebreakServer {
    /// The brief of the incident a prompt names, or an `invalid_params` error naming `incident`.
    async fn prompt_brief(&self, raw: &str) -> Result<IncidentBrief, ErrorData> {
        let reference = IncidentRef::parse("incident", raw)
            .map_err(|err| protocol_error(&app::Error::Invalid(err)))?;
        self.app
            .incident_brief(reference)
            .await
            .map_err(|err| incident_error(&err))
    }
}

impl Audience {
    fn parse(raw: &str) -> Result<Audience, ErrorData> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "internal" => Ok(Audience::Internal),
            "public" => Ok(Audience::Public),
            _ => Err(ErrorData::invalid_params(
                format!("invalid_argument: `audience` must be internal or public (got `{raw}`)"),
                Some(json!({ "error": { "code": "invalid_argument", "field": "audience" } })),
            )),
        }
    }
}

/// A prompt's error: a missing incident is an `invalid_params` error naming `incident`.
fn incident_error(err: &app::Error) -> ErrorData {
    match err {
        app::Error::NotFound(reference) => ErrorData::invalid_params(
            format!(
                "not_found: `incident` {reference} does not exist; check the reference with list_incidents"
            ),
            Some(json!({ "error": { "code": "not_found", "field": "incident" } })),
        ),
        err => protocol_error(err),
    }
}

/// `INC-42 (SEV2, investigating): Checkout API returning 5xx`.
fn headline(brief: &IncidentBrief) -> String {
    let incident = &brief.incident;
    format!(
        "{} ({}, {}): {}",
        incident.reference(),
        incident.severity,
        incident.status,
        incident.title
    )
}

/// The arguments of `T` (from its schema) in the order people fill them in, rather than the
/// schema's alphabetical order.
fn arguments_in_order<T: JsonSchema + Any>(order: &[&str]) -> Option<Vec<PromptArgument>> {
    let mut arguments = cached_arguments_from_schema::<T>()?;
    arguments.sort_by_key(|argument| {
        order
            .iter()
            .position(|name| *name == argument.name)
            .unwrap_or(order.len())
    });
    Some(arguments)
}

/// A prompt result of one user message.
fn message(description: String, text: String) -> GetPromptResult {
    GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)])
        .with_description(description)
}

/// Accepts `"42"` and `42` alike: prompt arguments are strings on the wire, but some clients
/// send numbers.
fn string_or_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Number(i64),
    }
    Ok(match Raw::deserialize(deserializer)? {
        Raw::Text(text) => text,
        Raw::Number(number) => number.to_string(),
    })
}
