//! Which characters text may hold. PostgreSQL cannot store NUL (U+0000) at all, control
//! characters corrupt terminals and logs, bidirectional overrides make a title read differently
//! from what it says, and a name made only of invisible characters looks blank while being
//! distinct. These rules refuse them at the edge, naming the field and the character.

use crate::domain::error::ValidationError;

/// Checks free text (summaries, notes, outputs, markdown): every character is allowed except
/// NUL and the C0/C1 control characters other than tab and line feed. A CRLF line break is
/// turned into LF first, so text pasted from Windows passes.
pub fn free_text(field: &str, value: String) -> Result<String, ValidationError> {
    let value = if value.contains('\r') {
        value.replace("\r\n", "\n")
    } else {
        value
    };
    if let Some((position, c)) = value
        .chars()
        .enumerate()
        .find(|(_, c)| c.is_control() && !matches!(c, '\t' | '\n'))
    {
        return Err(refusal(
            field,
            c,
            position,
            "control characters other than tab and line feed are not allowed",
        ));
    }
    Ok(value)
}

/// Checks one line of visible text (titles, names, label values): no control characters at
/// all, no bidirectional embedding, override or isolate controls, no Unicode noncharacters, and
/// at least one visible character.
pub fn line(field: &str, value: &str) -> Result<(), ValidationError> {
    for (position, c) in value.chars().enumerate() {
        if c.is_control() {
            return Err(refusal(
                field,
                c,
                position,
                "must be a single line without control characters (tabs, line breaks)",
            ));
        }
        if is_bidi_control(c) {
            return Err(refusal(
                field,
                c,
                position,
                "bidirectional controls would make the text read differently from what it says",
            ));
        }
        if is_noncharacter(c) {
            return Err(refusal(
                field,
                c,
                position,
                "Unicode noncharacters are not text",
            ));
        }
    }
    if !value.is_empty() && value.chars().all(is_invisible) {
        return Err(ValidationError::new(
            field,
            "has only invisible characters (spaces, zero-width or format characters); write something visible",
        ));
    }
    Ok(())
}

/// True for characters that take no visible space on their own: whitespace, zero-width and
/// format characters (e.g. U+200B, U+FEFF), fillers, and noncharacters (e.g. U+FFFF).
pub fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || is_noncharacter(c)
        || is_bidi_control(c)
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{061C}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{17B4}'
                | '\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2060}'..='\u{206F}'
                | '\u{2800}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{FFF0}'..='\u{FFFB}'
                | '\u{E0000}'..='\u{E007F}'
        )
}

/// The embedding, override and isolate controls (U+202A–U+202E, U+2066–U+2069).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// The 66 code points Unicode reserves as never being characters.
fn is_noncharacter(c: char) -> bool {
    let code = u32::from(c);
    (0xFDD0..=0xFDEF).contains(&code) || code & 0xFFFE == 0xFFFE
}

fn refusal(field: &str, c: char, position: usize, rule: &str) -> ValidationError {
    let what = if c == '\0' {
        "NUL (U+0000), which cannot be stored".to_owned()
    } else {
        format!("U+{:04X}", u32::from(c))
    };
    ValidationError::new(
        field,
        format!("contains {what} at character {}: {rule}", position + 1),
    )
}
