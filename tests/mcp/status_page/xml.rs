//! A small XML well-formedness check (elements nest and close, one root, attributes quoted,
//! only the five predefined entities or character references, no stray `<` or `&`): enough to
//! catch an escaping mistake in the feed without an XML library.

/// Checks `text`; `Err` says what is wrong and where.
pub(crate) fn check_well_formed(text: &str) -> Result<(), String> {
    let mut rest = text
        .strip_prefix("<?xml")
        .map_or(text, |after| after.split_once("?>").map_or("", |(_, r)| r));
    let mut open: Vec<&str> = Vec::new();
    let mut roots = 0;
    while let Some(start) = rest.find('<') {
        check_text(&rest[..start])?;
        if open.is_empty() && !rest[..start].trim().is_empty() {
            return Err(format!("text outside the root: {:?}", &rest[..start]));
        }
        let tag = &rest[start + 1..];
        let end = tag
            .find('>')
            .ok_or_else(|| format!("unclosed tag at {:?}", &tag[..tag.len().min(40)]))?;
        let inner = &tag[..end];
        rest = &tag[end + 1..];
        if let Some(name) = inner.strip_prefix('/') {
            match open.pop() {
                Some(expected) if expected == name.trim() => {}
                other => return Err(format!("</{name}> closes {other:?}")),
            }
            continue;
        }
        let self_closing = inner.ends_with('/');
        let inner = inner.trim_end_matches('/');
        let (name, attributes) = inner.split_once(char::is_whitespace).unwrap_or((inner, ""));
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_alphanumeric() || ":-_.".contains(c))
        {
            return Err(format!("bad element name {name:?}"));
        }
        check_attributes(attributes)?;
        if open.is_empty() {
            roots += 1;
        }
        if !self_closing {
            open.push(name);
        }
    }
    check_text(rest)?;
    match (open.last(), roots, rest.trim().is_empty()) {
        (Some(name), _, _) => Err(format!("<{name}> is never closed")),
        (None, 1, true) => Ok(()),
        (None, roots, _) => Err(format!("{roots} root elements, or text after the root")),
    }
}

fn check_attributes(mut text: &str) -> Result<(), String> {
    loop {
        text = text.trim_start();
        if text.is_empty() {
            return Ok(());
        }
        let (name, after) = text
            .split_once('=')
            .ok_or_else(|| format!("attribute without a value: {text:?}"))?;
        if name.trim().is_empty() || name.contains(char::is_whitespace) {
            return Err(format!("bad attribute name {name:?}"));
        }
        let quote = after
            .chars()
            .next()
            .filter(|q| *q == '"' || *q == '\'')
            .ok_or_else(|| format!("unquoted attribute {name}"))?;
        let value_and_rest = &after[1..];
        let close = value_and_rest
            .find(quote)
            .ok_or_else(|| format!("unterminated attribute {name}"))?;
        let value = &value_and_rest[..close];
        if value.contains('<') {
            return Err(format!("`<` in attribute {name}"));
        }
        check_text(value)?;
        text = &value_and_rest[close + 1..];
    }
}

fn check_text(text: &str) -> Result<(), String> {
    if let Some(c) = text
        .chars()
        .find(|&c| c < ' ' && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(format!(
            "character U+{:04X} is not allowed in XML",
            c as u32
        ));
    }
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        let after = &rest[at + 1..];
        let end = after
            .find(';')
            .ok_or_else(|| format!("bare `&` before {:?}", &after[..after.len().min(20)]))?;
        let entity = &after[..end];
        let is_known = matches!(entity, "amp" | "lt" | "gt" | "quot" | "apos")
            || entity
                .strip_prefix("#x")
                .is_some_and(|hex| !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit()))
            || entity
                .strip_prefix('#')
                .is_some_and(|dec| !dec.is_empty() && dec.chars().all(|c| c.is_ascii_digit()));
        if !is_known {
            return Err(format!("unknown entity &{entity};"));
        }
        rest = &after[end + 1..];
    }
    Ok(())
}

#[test]
fn the_check_refuses_what_is_not_well_formed() {
    assert!(
        check_well_formed("<?xml version=\"1.0\"?>\n<a x=\"1\"><b/>t &amp; &#x27;</a>").is_ok()
    );
    for bad in [
        "<a><b></a>",
        "<a>x & y</a>",
        "<a>x < y</a>",
        "<a x=1></a>",
        "<a></a><b></b>",
        "<a>&nbsp;</a>",
        "<a>\u{1}</a>",
        "<a>",
    ] {
        assert!(check_well_formed(bad).is_err(), "{bad}");
    }
}
