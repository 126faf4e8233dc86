//! The agent skills in `skills/*/SKILL.md`: Agent Skills front matter, and every tool they name
//! exists. A skill that names a tool `tools/list` does not have (or a misspelled one) fails.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag, TagEnd};
use serde::Deserialize;
use serde_json::Value;

use crate::support::TestDb;

/// The skills Firebreak ships.
const SKILLS: [&str; 3] = [
    "incident-commander",
    "postmortem-writer",
    "runbook-operator",
];

/// The front matter the Agent Skills format requires.
#[derive(Debug, Deserialize)]
struct FrontMatter {
    name: String,
    description: String,
}

/// A skill file split into its front matter and markdown body.
struct Skill {
    front_matter: FrontMatter,
    body: String,
}

/// Parses a `SKILL.md`: YAML front matter between `---` lines, then markdown.
fn parse_skill(text: &str) -> Result<Skill, String> {
    let rest = text
        .strip_prefix("---\n")
        .ok_or("does not start with a `---` front matter line")?;
    let (yaml, body) = rest
        .split_once("\n---\n")
        .ok_or("front matter is not closed by a `---` line")?;
    let front_matter: FrontMatter =
        serde_saphyr::from_str(yaml).map_err(|err| format!("front matter: {err}"))?;
    Ok(Skill {
        front_matter,
        body: body.to_owned(),
    })
}

/// The Agent Skills rules for the front matter of the skill in folder `folder`.
fn front_matter_problems(front_matter: &FrontMatter, folder: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let name = &front_matter.name;
    if name != folder {
        problems.push(format!("name `{name}` differs from its folder `{folder}`"));
    }
    let is_valid_name = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--")
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !is_valid_name {
        problems.push(format!(
            "name `{name}`: 1–64 lowercase letters, digits, hyphens"
        ));
    }
    let description = front_matter.description.trim();
    if description.is_empty() || description.len() > 1024 {
        problems.push("description must be 1–1024 characters".to_owned());
    }
    if !description.contains("Use when") {
        problems.push("description must say when to use the skill (\"Use when …\")".to_owned());
    }
    problems
}

/// Every `snake_case` identifier with an underscore (`declare_incident`, `expected_version`) in
/// the markdown's code: inline code spans and fenced or indented blocks.
fn code_identifiers(markdown: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut in_block = false;
    for event in Parser::new(markdown) {
        match event {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(_) | CodeBlockKind::Indented)) => {
                in_block = true;
            }
            Event::End(TagEnd::CodeBlock) => in_block = false,
            Event::Code(code) => found.extend(snake_identifiers(&code)),
            Event::Text(text) if in_block => found.extend(snake_identifiers(&text)),
            _ => {}
        }
    }
    found
}

/// The words of `text` that look like tool, parameter or value names: lowercase `snake_case`
/// with at least one underscore.
fn snake_identifiers(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|word| {
            word.contains('_')
                && word.starts_with(|c: char| c.is_ascii_lowercase())
                && !word.ends_with('_')
                && !word.contains("__")
                && word
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
        .map(str::to_owned)
        .collect()
}

/// The identifiers in `markdown` that are not among `known`.
fn unknown_identifiers(markdown: &str, known: &BTreeSet<String>) -> Vec<String> {
    code_identifiers(markdown)
        .into_iter()
        .filter(|identifier| !known.contains(identifier))
        .collect()
}

/// Property names, enum and const values anywhere in a JSON schema.
fn schema_names(schema: &Value, names: &mut BTreeSet<String>) {
    match schema {
        Value::Object(object) => {
            if let Some(Value::Object(properties)) = object.get("properties") {
                names.extend(properties.keys().cloned());
            }
            for key in ["enum", "const"] {
                match object.get(key) {
                    Some(Value::Array(values)) => {
                        names.extend(values.iter().filter_map(Value::as_str).map(str::to_owned));
                    }
                    Some(Value::String(value)) => {
                        names.insert(value.clone());
                    }
                    _ => {}
                }
            }
            for value in object.values() {
                schema_names(value, names);
            }
        }
        Value::Array(values) => values.iter().for_each(|value| schema_names(value, names)),
        _ => {}
    }
}

fn skill_path(folder: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("skills")
        .join(folder)
        .join("SKILL.md")
}

#[test]
fn the_checker_catches_a_misspelled_tool_and_allows_known_names() {
    let known: BTreeSet<String> = ["declare_incident", "expected_version", "dedup_key"]
        .map(str::to_owned)
        .into();
    let good = "Call `declare_incident` with `dedup_key`, then pass `expected_version: 3`.\n\n\
                ```\ndeclare_incident {\"dedup_key\": \"a:b\"}\n```\n";
    assert!(unknown_identifiers(good, &known).is_empty());

    let inline = "First call `declare_incidnt` with a title.";
    assert_eq!(unknown_identifiers(inline, &known), ["declare_incidnt"]);
    let in_call = "Then `declare_incident(expected_versoin: 2)`.";
    assert_eq!(unknown_identifiers(in_call, &known), ["expected_versoin"]);
    let fenced = "Example:\n\n```json\n{\"tool\": \"resolve_incidnet\"}\n```\n";
    assert_eq!(unknown_identifiers(fenced, &known), ["resolve_incidnet"]);
    let prose = "Prose words like declare_incidnt outside code are not tool references.";
    assert!(unknown_identifiers(prose, &known).is_empty());
}

#[test]
fn the_checker_catches_bad_front_matter() {
    let skill =
        parse_skill("---\nname: Incident_Commander\ndescription: Runs incidents.\n---\n# x\n")
            .unwrap();
    let problems = front_matter_problems(&skill.front_matter, "incident-commander");
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(parse_skill("# no front matter\n").is_err());
    assert!(
        parse_skill("---\nname: x\n---\n").is_err(),
        "description is required"
    );
}

#[tokio::test]
async fn every_skill_has_valid_front_matter_and_names_only_real_tools() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let tools = client.list_all_tools().await.unwrap();
    let tool_names: BTreeSet<String> = tools.iter().map(|t| t.name.to_string()).collect();
    let mut known = tool_names.clone();
    for tool in &tools {
        schema_names(&Value::Object((*tool.input_schema).clone()), &mut known);
        if let Some(output) = &tool.output_schema {
            schema_names(&Value::Object((**output).clone()), &mut known);
        }
    }
    for prompt in client.list_all_prompts().await.unwrap() {
        known.insert(prompt.name.clone());
        for argument in prompt.arguments.unwrap_or_default() {
            known.insert(argument.name);
        }
    }

    let mut problems = Vec::new();
    for folder in SKILLS {
        let path = skill_path(folder);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|err| panic!("{}: {err}", path.display()));
        let skill = match parse_skill(&text) {
            Ok(skill) => skill,
            Err(problem) => {
                problems.push(format!("{folder}: {problem}"));
                continue;
            }
        };
        for problem in front_matter_problems(&skill.front_matter, folder) {
            problems.push(format!("{folder}: {problem}"));
        }
        for unknown in unknown_identifiers(&skill.body, &known) {
            problems.push(format!(
                "{folder}: `{unknown}` is neither a tool in tools/list nor a parameter, field or value of one"
            ));
        }
        let named_tools = code_identifiers(&skill.body)
            .intersection(&tool_names)
            .count();
        if named_tools < 3 {
            problems.push(format!(
                "{folder}: the workflow names only {named_tools} tools"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "skill problems:\n{}",
        problems.join("\n")
    );
}
