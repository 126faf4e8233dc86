//! The rule that public updates name no one: which words of a text name a person working the
//! incident.

use super::{GENERIC_PRINCIPALS, PeopleOnIncident};
use crate::domain::ValidationError;

/// Refuses a public text that names someone working the incident (any part of their name of 3
/// letters or more, as a whole word, in any case), or an email address or `@mention` (an `@`
/// followed by a letter: `next update @ 14:00` is fine). Names that are services on the status
/// page, and generic principals, are not looked for.
pub(super) fn check_no_names_in(
    field: &str,
    text: &str,
    people: &PeopleOnIncident,
    public_services: &[String],
) -> Result<(), ValidationError> {
    let refuse = |what: String| {
        ValidationError::new(
            field,
            format!(
                "names {what}; public updates carry no names: say what is affected and what is being done"
            ),
        )
    };
    if let Some(mention) = mention(text) {
        return Err(refuse(format!("a person or address (`{mention}`)")));
    }
    let lower = text.to_lowercase();
    let words: std::collections::HashSet<&str> = lower
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
        .collect();
    let ignored = |word: &str| {
        GENERIC_PRINCIPALS.contains(&word)
            || public_services.iter().any(|s| s.eq_ignore_ascii_case(word))
    };
    for name in &people.names {
        let name = name.trim().to_lowercase();
        if ignored(&name) {
            continue;
        }
        // An email address is its local part; `alice.smith`, `alice_smith`, `Alice Chen (SRE)`
        // and `Chen, Alice` are their parts.
        let local = match name.split_once('@') {
            Some((local, _)) if !local.is_empty() => local,
            Some((_, handle)) => handle,
            None => name.as_str(),
        };
        let part = local
            .split(|c: char| !c.is_alphabetic())
            .filter(|part| part.chars().count() >= 3 && !ignored(part))
            .find(|part| words.contains(part));
        if let Some(part) = part {
            return Err(refuse(format!(
                "`{part}` (of `{name}`, who is working the incident)"
            )));
        }
    }
    Ok(())
}

/// The first `@mention` or email address in `text`: an `@` followed by a letter, with the
/// word around it.
fn mention(text: &str) -> Option<&str> {
    let (at, _) = text.char_indices().find(|&(i, c)| {
        c == '@'
            && text[i + 1..]
                .chars()
                .next()
                .is_some_and(char::is_alphabetic)
    })?;
    let is_part = |c: char| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '+' | '@');
    let start = text[..at]
        .char_indices()
        .rev()
        .find(|&(_, c)| !is_part(c))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let end = text[at + 1..]
        .find(|c: char| !is_part(c))
        .map_or(text.len(), |i| at + 1 + i);
    Some(text[start..end].trim_end_matches(['.', '-', '_']))
}
