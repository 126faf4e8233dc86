//! The markdown body of a runbook: level-2 sections and the numbered steps of its top-level
//! ordered lists, read with pulldown-cmark's event stream (never by slicing lines by hand).

use std::ops::Range;

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use crate::domain::runbook::line_of;
use crate::domain::vocabulary::vocabulary;

/// Most steps a runbook may have; later ones are ignored.
const STEPS_MAX: usize = 200;
/// Most sections a runbook may have; later ones are ignored.
const SECTIONS_MAX: usize = 50;

vocabulary! {
    /// Whether a step only reads or also changes production.
    pub enum StepKind ("step kind") {
        /// Read-only: safe to run without approval (marked `[diagnostic]`).
        Diagnostic = "diagnostic",
        /// Changes production: needs approval first (marked `[risky]`, or not marked at all).
        Risky = "risky",
    }
}

/// One numbered step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// 1, 2, 3 … through the whole document.
    pub number: i64,
    /// Diagnostic or risky.
    pub kind: StepKind,
    /// True when the step carried an explicit `[risky]` or `[diagnostic]` marker.
    pub is_marked: bool,
    /// The step's first paragraph as plain text, without the marker.
    pub text: String,
    /// The whole item as written (commands, nested lists), list marker included.
    pub markdown: String,
    /// The section it belongs to, if any.
    pub section: Option<String>,
    /// Its line in the file.
    pub line: u64,
}

/// A level-2 section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The heading as written (`Diagnosis`).
    pub name: String,
    /// The content under the heading, up to the next level-2 heading.
    pub markdown: String,
    /// The heading's line in the file.
    pub line: u64,
}

/// A parsed runbook body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Body {
    /// The markdown after the front matter.
    pub text: String,
    /// Level-2 sections in document order.
    pub sections: Vec<Section>,
    /// Steps in document order.
    pub steps: Vec<Step>,
}

impl Body {
    /// Parses `text`, the part of a file that starts on line `first_line`.
    pub fn parse(text: &str, first_line: u64) -> Body {
        let mut reader = Reader {
            text,
            first_line,
            body: Body {
                text: text.to_owned(),
                ..Body::default()
            },
            lists: Vec::new(),
            heading: None,
            step: None,
            section_starts: Vec::new(),
        };
        for (event, range) in Parser::new_ext(text, Options::empty()).into_offset_iter() {
            reader.read(event, range);
        }
        reader.finish()
    }

    /// The step with this number, if the runbook has it.
    pub fn step(&self, number: i64) -> Option<&Step> {
        self.steps.iter().find(|step| step.number == number)
    }
}

/// A step being read: its item range and the text of its first paragraph so far.
struct OpenStep {
    range: Range<usize>,
    text: String,
    /// The first paragraph (or the tight item's inline text) has ended.
    is_done: bool,
}

/// Walks the event stream, keeping track of lists, headings and the step being read.
struct Reader<'a> {
    text: &'a str,
    first_line: u64,
    body: Body,
    /// Open lists, outermost first: true for ordered.
    lists: Vec<bool>,
    /// The level-2 heading being read: its range and text.
    heading: Option<(Range<usize>, String)>,
    step: Option<OpenStep>,
    /// Where each section's heading starts and its content begins.
    section_starts: Vec<(usize, usize)>,
}

impl Reader<'_> {
    fn read(&mut self, event: Event<'_>, range: Range<usize>) {
        match event {
            Event::Start(Tag::Heading {
                level: HeadingLevel::H2,
                ..
            }) if self.lists.is_empty() => self.heading = Some((range, String::new())),
            Event::End(TagEnd::Heading(HeadingLevel::H2)) => self.close_heading(),
            Event::Start(Tag::List(start)) => {
                self.end_step_text();
                self.lists.push(start.is_some());
            }
            Event::End(TagEnd::List(_)) => {
                self.lists.pop();
            }
            Event::Start(Tag::Item) if self.lists == [true] => {
                self.step = Some(OpenStep {
                    range,
                    text: String::new(),
                    is_done: false,
                });
            }
            Event::End(TagEnd::Item) if self.lists == [true] => self.close_step(),
            Event::Start(Tag::CodeBlock(_) | Tag::BlockQuote(_))
            | Event::End(TagEnd::Paragraph) => {
                self.end_step_text();
            }
            Event::Text(text) => self.push_text(&text),
            Event::Code(code) => self.push_text(&format!("`{code}`")),
            Event::SoftBreak | Event::HardBreak => self.push_text(" "),
            _ => {}
        }
    }

    fn push_text(&mut self, text: &str) {
        if let Some((_, heading)) = &mut self.heading {
            heading.push_str(text);
        } else if let Some(step) = self.step.as_mut().filter(|s| !s.is_done) {
            step.text.push_str(text);
        }
    }

    fn end_step_text(&mut self) {
        if let Some(step) = &mut self.step
            && !step.text.trim().is_empty()
        {
            step.is_done = true;
        }
    }

    fn close_heading(&mut self) {
        let Some((range, name)) = self.heading.take() else {
            return;
        };
        if self.body.sections.len() >= SECTIONS_MAX {
            return;
        }
        self.section_starts.push((range.start, range.end));
        self.body.sections.push(Section {
            name: name.trim().to_owned(),
            markdown: String::new(),
            line: self.line(range.start),
        });
    }

    fn close_step(&mut self) {
        let Some(open) = self.step.take() else {
            return;
        };
        if self.body.steps.len() >= STEPS_MAX {
            return;
        }
        let (kind, is_marked, text) = marker(&collapse(&open.text));
        self.body.steps.push(Step {
            number: self.body.steps.len() as i64 + 1,
            kind,
            is_marked,
            text,
            markdown: self.slice(open.range.clone()).trim_end().to_owned(),
            section: self.body.sections.last().map(|s| s.name.clone()),
            line: self.line(open.range.start),
        });
    }

    fn finish(mut self) -> Body {
        let ends: Vec<usize> = self
            .section_starts
            .iter()
            .skip(1)
            .map(|(start, _)| *start)
            .chain([self.text.len()])
            .collect();
        for ((section, (_, content)), end) in self
            .body
            .sections
            .iter_mut()
            .zip(&self.section_starts)
            .zip(ends)
        {
            section.markdown = self
                .text
                .get(*content..end)
                .unwrap_or_default()
                .trim()
                .to_owned();
        }
        self.body
    }

    fn slice(&self, range: Range<usize>) -> &str {
        self.text.get(range).unwrap_or_default()
    }

    fn line(&self, offset: usize) -> u64 {
        self.first_line + line_of(self.text, offset) - 1
    }
}

/// Squeezes runs of whitespace into single spaces.
fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Reads the `[risky]` / `[diagnostic]` marker (any case) at the start of a step's text.
fn marker(text: &str) -> (StepKind, bool, String) {
    let lower = text.to_ascii_lowercase();
    for (tag, kind) in [
        ("[risky]", StepKind::Risky),
        ("[diagnostic]", StepKind::Diagnostic),
    ] {
        if lower.starts_with(tag) {
            let rest = text.get(tag.len()..).unwrap_or_default().trim_start();
            return (kind, true, rest.to_owned());
        }
    }
    (StepKind::Risky, false, text.to_owned())
}
