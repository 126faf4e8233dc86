//! `completion/complete`: suggestions for the `{incident}` and `{slug}` parts of the resource
//! templates and for the prompts' `incident` and `audience` arguments. Bounded: at most 20
//! values, with `hasMore` when there are more.

use rmcp::ErrorData;
use rmcp::model::{CompleteRequestParams, CompleteResult, CompletionInfo, Reference};

use crate::mcp::FirebreakServer;
use crate::mcp::prompts::AUDIENCES;
use crate::mcp::resources::{
    ALERTS_TEMPLATE, INCIDENT_TEMPLATE, POSTMORTEM_TEMPLATE, RUNBOOK_TEMPLATE, TIMELINE_TEMPLATE,
};
use crate::mcp::tool_error::protocol_error;

/// How many suggestions one answer carries.
const SUGGESTIONS: i64 = 20;

/// What an argument names, and so what to suggest for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Subject {
    /// An incident reference (`INC-42`).
    Incident,
    /// A runbook slug.
    Runbook,
    /// A stakeholder update's audience.
    Audience,
}

/// Answers a completion request; arguments Firebreak knows nothing about get no suggestions.
pub(super) async fn complete(
    server: &FirebreakServer,
    request: &CompleteRequestParams,
) -> Result<CompleteResult, ErrorData> {
    let typed = request.argument.value.as_str();
    let completion = match subject(server, &request.r#ref, &request.argument.name) {
        Some(Subject::Incident) => incidents(server, typed).await?,
        Some(Subject::Runbook) => runbooks(server, typed).await?,
        Some(Subject::Audience) => audiences(typed),
        None => CompletionInfo::default(),
    };
    Ok(CompleteResult::new(completion))
}

/// What the argument `name` of `reference` names.
fn subject(server: &FirebreakServer, reference: &Reference, name: &str) -> Option<Subject> {
    match reference {
        Reference::Resource(template) => match (template.uri.as_str(), name) {
            (
                INCIDENT_TEMPLATE | TIMELINE_TEMPLATE | ALERTS_TEMPLATE | POSTMORTEM_TEMPLATE,
                "incident",
            ) => Some(Subject::Incident),
            (RUNBOOK_TEMPLATE, "slug") => Some(Subject::Runbook),
            _ => None,
        },
        Reference::Prompt(prompt) => {
            let route = server.prompt_router.map.get(prompt.name.as_str())?;
            let declared = route.attr.arguments.as_deref().unwrap_or_default();
            if !declared.iter().any(|argument| argument.name == name) {
                return None;
            }
            match name {
                "incident" => Some(Subject::Incident),
                "audience" => Some(Subject::Audience),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Incident references whose number starts with what was typed (`INC-4` → `INC-4`, `INC-41`,
/// …), open incidents first; nothing for text that cannot start a reference.
async fn incidents(server: &FirebreakServer, typed: &str) -> Result<CompletionInfo, ErrorData> {
    let Some(digits) = number_prefix(typed) else {
        return Ok(CompletionInfo::default());
    };
    let suggestions = server
        .app
        .suggest_incidents(digits, SUGGESTIONS)
        .await
        .map_err(|err| protocol_error(&err))?;
    let values = suggestions
        .incidents
        .iter()
        .map(|incident| incident.reference().to_string())
        .collect();
    info(values, None, suggestions.has_more)
}

/// Slugs of active runbooks starting with what was typed.
async fn runbooks(server: &FirebreakServer, typed: &str) -> Result<CompletionInfo, ErrorData> {
    let mut slugs = server
        .app
        .runbook_slugs(typed.trim(), SUGGESTIONS + 1)
        .await
        .map_err(|err| protocol_error(&err))?;
    let has_more = slugs.len() as i64 > SUGGESTIONS;
    slugs.truncate(SUGGESTIONS as usize);
    info(slugs, None, has_more)
}

/// The audiences starting with what was typed.
fn audiences(typed: &str) -> CompletionInfo {
    let typed = typed.trim().to_ascii_lowercase();
    let values: Vec<String> = AUDIENCES
        .iter()
        .filter(|audience| audience.starts_with(&typed))
        .map(|audience| (*audience).to_owned())
        .collect();
    let total = values.len() as u32;
    info(values, Some(total), false).unwrap_or_default()
}

fn info(
    values: Vec<String>,
    total: Option<u32>,
    has_more: bool,
) -> Result<CompletionInfo, ErrorData> {
    CompletionInfo::with_pagination(values, total, has_more)
        .map_err(|reason| ErrorData::internal_error(reason, None))
}

/// The digits of a partly typed reference: `INC-4`, `inc-4`, `#4` and `4` give `4`; `I`, `INC`,
/// `INC-` and nothing give an empty prefix (any incident). `None` when the text cannot start a
/// reference.
fn number_prefix(typed: &str) -> Option<&str> {
    const PREFIX: &str = "INC-";
    let typed = typed.trim();
    let digits = match typed.get(..PREFIX.len()) {
        Some(head) if head.eq_ignore_ascii_case(PREFIX) => &typed[PREFIX.len()..],
        _ if PREFIX
            .get(..typed.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(typed)) =>
        {
            ""
        }
        _ => typed.strip_prefix('#').unwrap_or(typed),
    };
    (digits.len() <= 18 && digits.chars().all(|c| c.is_ascii_digit())).then_some(digits)
}

#[cfg(test)]
mod tests {
    use super::number_prefix;

    #[test]
    fn partly_typed_references_give_their_digits() {
        for (typed, digits) in [
            ("INC-4", "4"),
            ("inc-41", "41"),
            ("#4", "4"),
            ("4", "4"),
            ("", ""),
            ("I", ""),
            ("inc", ""),
            ("INC-", ""),
            (" INC-7 ", "7"),
        ] {
            assert_eq!(number_prefix(typed), Some(digits), "{typed}");
        }
    }

    #[test]
    fn text_that_cannot_start_a_reference_gives_nothing() {
        for typed in ["checkout", "INC-4a", "0196b3a4-0000", "INCX", "é"] {
            assert_eq!(number_prefix(typed), None, "{typed}");
        }
    }
}
