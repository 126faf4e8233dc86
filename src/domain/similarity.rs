//! Similar past incidents: which words are worth looking for, and how a candidate scores, with
//! the reasons in words an agent can weigh.
//!
//! A word's weight is its rarity (inverse document frequency) in all incidents, taken from
//! PostgreSQL's own statistics of the full-text column: a component name found in 0.5% of
//! incidents says much more than "alert" found in all of them. Numbers are left out (durations
//! and percentages differ between incidents of the same cause).

use std::collections::{BTreeMap, HashMap};

#[cfg(test)]
mod tests;

/// Below this many incidents every match is scored: candidates need no bounding.
pub const SMALL_HISTORY: f64 = 5_000.0;
/// Words in more than this fraction of incidents are never used to find candidates.
const COMMON: f64 = 0.2;
/// A rarest word in more incidents than this is not rare enough to read all its matches: the
/// newest matches are read instead.
const KEY_MATCHES_MAX: f64 = 15_000.0;
/// How many of the rarest words a text search finds candidates with.
const COMPANIONS: usize = 2;
/// Most words of a probe that are looked at.
const MOST_TERMS: usize = 24;

/// Weights of the evidence; they sum to 1, so a score is between 0 and 1.
const TEXT_WEIGHT: f64 = 0.40;
const ALERT_WEIGHT: f64 = 0.20;
const SERVICE_WEIGHT: f64 = 0.15;
const TITLE_WEIGHT: f64 = 0.10;
const LABEL_WEIGHT: f64 = 0.05;
const RUNBOOK_WEIGHT: f64 = 0.05;
const CHANGE_WEIGHT: f64 = 0.05;
/// A title this similar (trigram similarity) is named as a reason.
const SIMILAR_TITLE: f64 = 0.4;

/// How common each word is across all incidents.
#[derive(Debug, Clone, Default)]
pub struct TermStats {
    /// Incidents in all (PostgreSQL's estimate); 0 when unknown.
    pub total: f64,
    /// The fraction of incidents containing each of the most common words.
    pub frequencies: HashMap<String, f64>,
    /// The fraction assumed for a word not in `frequencies` (rarer than all of them).
    pub floor: f64,
}

impl TermStats {
    /// True when there are too few incidents (or no statistics) to need bounding.
    pub fn is_small(&self) -> bool {
        self.total < SMALL_HISTORY || self.frequencies.is_empty()
    }

    /// For a small history without statistics: how common each of the probe's words is among
    /// `documents` (the words of every candidate, which in a small history is nearly every
    /// incident that shares a word), out of `total` incidents.
    pub fn from_documents<'a>(
        total: f64,
        terms: &[String],
        documents: impl Iterator<Item = &'a [String]>,
    ) -> TermStats {
        let mut counts: HashMap<String, f64> = terms.iter().map(|t| (t.clone(), 0.0)).collect();
        let mut seen = 0.0;
        for words in documents {
            seen += 1.0;
            for word in words {
                if let Some(count) = counts.get_mut(word) {
                    *count += 1.0;
                }
            }
        }
        // The probe itself has its words too (it is not among the candidates).
        let total = total.max(seen + 1.0);
        TermStats {
            total,
            frequencies: counts
                .into_iter()
                .map(|(term, count)| (term, (count + 1.0) / total))
                .collect(),
            floor: 1.0 / total,
        }
    }

    /// The fraction of incidents containing `term`.
    pub fn frequency(&self, term: &str) -> f64 {
        match self.frequencies.get(term) {
            Some(frequency) => *frequency,
            None if self.frequencies.is_empty() => 0.0,
            None => self.floor / 2.0,
        }
    }

    /// How much sharing `term` says: `ln(1 / frequency)`, 0 for a word in every incident, 1 for
    /// every word when nothing is known.
    pub fn weight(&self, term: &str) -> f64 {
        if self.frequencies.is_empty() {
            return 1.0;
        }
        let frequency = self.frequency(term).max(1.0 / self.total.max(1.0));
        (1.0 / frequency).ln().max(0.0)
    }
}

/// What is looked for: an incident's text, alerts, services and history, or a description.
#[derive(Debug, Clone, Default)]
pub struct Probe {
    /// The title (or the free text), for title similarity.
    pub title: String,
    /// Words (as PostgreSQL's `english` configuration stems them) of the title and summary.
    pub terms: Vec<String>,
    /// Alert names (`alertname` label) it was raised by.
    pub alert_names: Vec<String>,
    /// Affected services.
    pub services: Vec<String>,
    /// Labels other than `alertname`.
    pub labels: BTreeMap<String, String>,
    /// Runbooks whose steps were recorded on it.
    pub runbooks: Vec<String>,
    /// Kinds of the changes suspected or confirmed for it.
    pub change_kinds: Vec<String>,
}

impl Probe {
    /// Keeps the words worth comparing: no numbers, each once, at most the 24 rarest.
    pub fn keep_terms(&mut self, stats: &TermStats) {
        self.terms.retain(|term| !is_number(term));
        self.terms.sort();
        self.terms.dedup();
        self.terms.sort_by(|a, b| {
            stats
                .frequency(a)
                .total_cmp(&stats.frequency(b))
                .then(a.cmp(b))
        });
        self.terms.truncate(MOST_TERMS);
    }

    /// True when there is nothing to compare with.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty() && self.alert_names.is_empty() && self.services.is_empty()
    }
}

fn is_number(term: &str) -> bool {
    let digits = term.trim_start_matches(['-', '+']);
    !digits.is_empty()
        && digits
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == ',' || c == '%')
}

/// How text finds candidates.
#[derive(Debug, Clone, PartialEq)]
pub enum TextSearch {
    /// No usable words.
    None,
    /// A small history: incidents with any of the words.
    AnyOf(Vec<String>),
    /// A large history: incidents with the rarest word and at least one of its companions (or
    /// the rarest word alone when it has none), best match first. The rarest word is in at most
    /// 15,000 incidents, which bounds how many are read.
    Keyed {
        /// The rarest word.
        key: String,
        /// The next rarest words that are not common.
        companions: Vec<String>,
    },
    /// A large history where even the rarest word is in many incidents (or where nothing is
    /// known of the words yet): the newest incidents with any of these words, since reading
    /// every match would be unbounded.
    Newest {
        /// The rarest word, or every word when nothing is known of them.
        terms: Vec<String>,
    },
}

impl TextSearch {
    /// The search for a probe whose terms are already kept (rarest first).
    pub fn plan(terms: &[String], stats: &TermStats) -> TextSearch {
        if terms.is_empty() {
            return TextSearch::None;
        }
        if stats.total < SMALL_HISTORY {
            return TextSearch::AnyOf(terms.to_vec());
        }
        if stats.frequencies.is_empty() {
            return TextSearch::Newest {
                terms: terms.to_vec(),
            };
        }
        let mut usable = terms.iter().filter(|t| stats.frequency(t) <= COMMON);
        let Some(key) = usable.next() else {
            return TextSearch::None;
        };
        if stats.frequency(key) * stats.total > KEY_MATCHES_MAX {
            return TextSearch::Newest {
                terms: vec![key.clone()],
            };
        }
        TextSearch::Keyed {
            key: key.clone(),
            companions: usable.take(COMPANIONS).cloned().collect(),
        }
    }

    /// True when the newest matches are read rather than the best ones.
    pub fn is_newest(&self) -> bool {
        matches!(self, TextSearch::Newest { .. })
    }

    /// The PostgreSQL `tsquery` text, e.g. `'pgbouncer' & ( 'postgr' | 'slo' )`; `None` when
    /// nothing is searched.
    pub fn tsquery(&self) -> Option<String> {
        match self {
            TextSearch::None => None,
            TextSearch::AnyOf(terms) => Some(any_of(terms)),
            TextSearch::Newest { terms } => Some(any_of(terms)),
            TextSearch::Keyed { key, companions } if companions.is_empty() => Some(quoted(key)),
            TextSearch::Keyed { key, companions } => {
                Some(format!("{} & ( {} )", quoted(key), any_of(companions)))
            }
        }
    }
}

/// The words as a `tsquery` matching any of them.
pub fn any_of(terms: &[String]) -> String {
    terms
        .iter()
        .map(|t| quoted(t))
        .collect::<Vec<_>>()
        .join(" | ")
}

/// A lexeme quoted for `tsquery` input: in single quotes, with quotes doubled and backslashes
/// escaped, so no word can be read as an operator.
fn quoted(term: &str) -> String {
    format!("'{}'", term.replace('\\', "\\\\").replace('\'', "''"))
}

/// A past incident as first found, before its history is read.
#[derive(Debug, Clone, Default)]
pub struct Candidate {
    /// Its alert name (`alertname` label), if any.
    pub alert_name: Option<String>,
    /// Its services.
    pub services: Vec<String>,
    /// Its labels other than `alertname`.
    pub labels: BTreeMap<String, String>,
    /// The probe's words it contains.
    pub shared_terms: Vec<String>,
    /// Trigram similarity of its title to the probe's (0–1).
    pub title_similarity: f64,
    /// Runbooks whose steps were recorded on it (once its history is read).
    pub runbooks: Vec<String>,
    /// Kinds of its suspected or confirmed changes (once its history is read).
    pub change_kinds: Vec<String>,
}

/// Why a candidate matched, in words.
#[derive(Debug, Clone, PartialEq)]
pub enum Reason {
    /// The same alert name.
    SameAlert(String),
    /// Services in common.
    SameServices(Vec<String>),
    /// Rare words in common, rarest first.
    SharedTerms(Vec<String>),
    /// A similar title, with its trigram similarity.
    SimilarTitle(f64),
    /// Labels in common (`key=value`).
    SharedLabels(Vec<String>),
    /// The same runbook was followed.
    SameRunbook(Vec<String>),
    /// A change of the same kind was suspected.
    SameChangeKind(Vec<String>),
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::SameAlert(name) => write!(f, "same alert {name}"),
            Reason::SameServices(services) => write!(f, "same services: {}", services.join(", ")),
            Reason::SharedTerms(terms) => write!(f, "shared terms: {}", terms.join(", ")),
            Reason::SimilarTitle(similarity) => write!(f, "similar title ({similarity:.2})"),
            Reason::SharedLabels(labels) => write!(f, "shared labels: {}", labels.join(", ")),
            Reason::SameRunbook(runbooks) => write!(f, "same runbook: {}", runbooks.join(", ")),
            Reason::SameChangeKind(kinds) => {
                write!(f, "same suspected change kind: {}", kinds.join(", "))
            }
        }
    }
}

/// A candidate's score (0–1) and the reasons behind it, strongest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    /// Higher is more similar.
    pub score: f64,
    /// What matched.
    pub reasons: Vec<Reason>,
}

/// Scores a candidate against the probe.
pub fn score(probe: &Probe, stats: &TermStats, candidate: &Candidate) -> Scored {
    let mut evidence: Vec<(f64, Reason)> = Vec::new();
    let text = text_overlap(probe, stats, &candidate.shared_terms);
    if text > 0.0 {
        let mut shared: Vec<String> = candidate
            .shared_terms
            .iter()
            .filter(|t| stats.weight(t) > 0.0 && !is_number(t))
            .cloned()
            .collect();
        shared.sort_by(|a, b| stats.weight(b).total_cmp(&stats.weight(a)).then(a.cmp(b)));
        shared.truncate(5);
        evidence.push((TEXT_WEIGHT * text, Reason::SharedTerms(shared)));
    }
    if let Some(name) = &candidate.alert_name
        && probe.alert_names.contains(name)
    {
        evidence.push((ALERT_WEIGHT, Reason::SameAlert(name.clone())));
    }
    let shared_services = common(&probe.services, &candidate.services);
    if !shared_services.is_empty() {
        let union = probe.services.len() + candidate.services.len() - shared_services.len();
        let jaccard = shared_services.len() as f64 / union as f64;
        evidence.push((
            SERVICE_WEIGHT * jaccard,
            Reason::SameServices(shared_services),
        ));
    }
    if candidate.title_similarity > 0.0 {
        let reason = Reason::SimilarTitle(candidate.title_similarity);
        evidence.push((TITLE_WEIGHT * candidate.title_similarity.min(1.0), reason));
    }
    let shared_labels: Vec<String> = probe
        .labels
        .iter()
        .filter(|(key, value)| candidate.labels.get(*key) == Some(*value))
        .map(|(key, value)| format!("{key}={value}"))
        .collect();
    if !shared_labels.is_empty() {
        let share = shared_labels.len() as f64 / probe.labels.len() as f64;
        evidence.push((LABEL_WEIGHT * share, Reason::SharedLabels(shared_labels)));
    }
    let runbooks = common(&probe.runbooks, &candidate.runbooks);
    if !runbooks.is_empty() {
        evidence.push((RUNBOOK_WEIGHT, Reason::SameRunbook(runbooks)));
    }
    let kinds = common(&probe.change_kinds, &candidate.change_kinds);
    if !kinds.is_empty() {
        evidence.push((CHANGE_WEIGHT, Reason::SameChangeKind(kinds)));
    }
    evidence.sort_by(|a, b| b.0.total_cmp(&a.0));
    let score: f64 = evidence.iter().map(|(weight, _)| weight).sum();
    let reasons = evidence
        .into_iter()
        // A faint title likeness is part of the score but not worth a line of its own.
        .filter(|(_, reason)| !matches!(reason, Reason::SimilarTitle(s) if *s < SIMILAR_TITLE))
        .map(|(_, reason)| reason)
        .collect();
    Scored {
        score: (score * 1000.0).round() / 1000.0,
        reasons,
    }
}

/// The weighted share of the probe's words that the candidate has (0–1).
fn text_overlap(probe: &Probe, stats: &TermStats, shared: &[String]) -> f64 {
    let total: f64 = probe.terms.iter().map(|t| stats.weight(t)).sum();
    if total <= 0.0 {
        return 0.0;
    }
    let found: f64 = probe
        .terms
        .iter()
        .filter(|t| shared.contains(t))
        .map(|t| stats.weight(t))
        .sum();
    found / total
}

fn common(ours: &[String], theirs: &[String]) -> Vec<String> {
    let mut shared: Vec<String> = ours
        .iter()
        .filter(|x| theirs.contains(x))
        .cloned()
        .collect();
    shared.sort();
    shared.dedup();
    shared
}
