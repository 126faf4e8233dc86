use super::*;

fn words(list: &[&str]) -> Vec<String> {
    list.iter().map(|w| w.to_string()).collect()
}

/// A history of 1M incidents where `alert` is everywhere, symptoms are in 4%, a service in 3%
/// and a component in 0.5%.
fn stats() -> TermStats {
    let frequencies = [
        ("alert", 0.99),
        ("look", 0.98),
        ("latenc", 0.04),
        ("slo", 0.04),
        ("postgr", 0.03),
        ("pgbouncer", 0.005),
        ("sign", 0.5),
    ]
    .into_iter()
    .map(|(w, f)| (w.to_string(), f))
    .collect();
    TermStats {
        total: 1_000_000.0,
        frequencies,
        floor: 0.004,
    }
}

fn probe() -> Probe {
    let mut probe = Probe {
        title: "Latency on postgres: latency above SLO".into(),
        terms: words(&[
            "alert",
            "latenc",
            "slo",
            "postgr",
            "pgbouncer",
            "look",
            "159",
            "36",
        ]),
        alert_names: words(&["HighLatency"]),
        services: words(&["postgres"]),
        ..Probe::default()
    };
    probe.keep_terms(&stats());
    probe
}

#[test]
fn numbers_are_dropped_and_the_rarest_words_come_first() {
    assert_eq!(
        probe().terms,
        words(&["pgbouncer", "postgr", "latenc", "slo", "look", "alert"])
    );
}

#[test]
fn a_large_history_searches_the_rarest_word_with_a_companion() {
    let plan = TextSearch::plan(&probe().terms, &stats());
    assert_eq!(
        plan,
        TextSearch::Keyed {
            key: "pgbouncer".into(),
            companions: words(&["postgr", "latenc"]),
        }
    );
    assert_eq!(
        plan.tsquery().unwrap(),
        "'pgbouncer' & ( 'postgr' | 'latenc' )"
    );
}

#[test]
fn a_rarest_word_in_thousands_of_incidents_reads_only_the_newest() {
    let terms = words(&["latenc", "slo", "alert"]);
    let plan = TextSearch::plan(&terms, &stats());
    assert_eq!(
        plan,
        TextSearch::Newest {
            terms: words(&["latenc"])
        }
    );
    assert!(plan.is_newest());
    assert_eq!(plan.tsquery().unwrap(), "'latenc'");
}

#[test]
fn common_words_never_find_candidates_and_a_small_history_uses_every_word() {
    let common = words(&["alert", "look"]);
    assert_eq!(TextSearch::plan(&common, &stats()), TextSearch::None);
    let small = TermStats::default();
    assert_eq!(
        TextSearch::plan(&common, &small),
        TextSearch::AnyOf(common.clone())
    );
    let never_analyzed = TermStats {
        total: 1e6,
        ..TermStats::default()
    };
    assert_eq!(
        TextSearch::plan(&common, &never_analyzed),
        TextSearch::Newest {
            terms: common.clone()
        }
    );
    assert_eq!(TextSearch::plan(&[], &stats()), TextSearch::None);
}

#[test]
fn quotes_and_backslashes_cannot_become_operators() {
    let plan = TextSearch::AnyOf(words(&["o'neil", r"a\b"]));
    assert_eq!(plan.tsquery().unwrap(), r"'o''neil' | 'a\\b'");
}

#[test]
fn the_same_cause_outscores_a_look_alike_with_another_component() {
    let probe = probe();
    let stats = stats();
    let same_cause = Candidate {
        alert_name: Some("HighLatency".into()),
        services: words(&["postgres"]),
        shared_terms: words(&["pgbouncer", "postgr", "latenc", "slo", "alert", "look"]),
        title_similarity: 0.9,
        ..Candidate::default()
    };
    let look_alike = Candidate {
        shared_terms: words(&["postgr", "latenc", "slo", "alert", "look"]),
        ..same_cause.clone()
    };
    let same = score(&probe, &stats, &same_cause);
    let other = score(&probe, &stats, &look_alike);
    assert!(same.score > other.score, "{same:?} vs {other:?}");
    assert!(same.score <= 1.0);
    let reasons: Vec<String> = same.reasons.iter().map(ToString::to_string).collect();
    assert_eq!(
        reasons,
        [
            "shared terms: pgbouncer, postgr, latenc, slo, look",
            "same alert HighLatency",
            "same services: postgres",
            "similar title (0.90)",
        ]
    );
}

#[test]
fn runbooks_and_change_kinds_add_to_the_score_and_say_so() {
    let mut probe = probe();
    probe.runbooks = words(&["db-failover"]);
    probe.change_kinds = words(&["deploy"]);
    let plain = Candidate {
        shared_terms: words(&["pgbouncer"]),
        ..Candidate::default()
    };
    let followed = Candidate {
        runbooks: words(&["db-failover", "other"]),
        change_kinds: words(&["deploy"]),
        ..plain.clone()
    };
    let before = score(&probe, &stats(), &plain);
    let after = score(&probe, &stats(), &followed);
    assert!((after.score - before.score - 0.10).abs() < 0.002);
    assert!(
        after
            .reasons
            .contains(&Reason::SameRunbook(words(&["db-failover"])))
    );
    assert!(
        after
            .reasons
            .contains(&Reason::SameChangeKind(words(&["deploy"])))
    );
}

#[test]
fn nothing_in_common_scores_zero_with_no_reasons() {
    let scored = score(&probe(), &stats(), &Candidate::default());
    assert_eq!(scored.score, 0.0);
    assert!(scored.reasons.is_empty());
}

#[test]
fn a_small_history_learns_how_common_words_are_from_its_incidents() {
    let terms = words(&["pgbouncer", "checkout"]);
    let docs = [
        words(&["checkout", "pgbouncer"]),
        words(&["checkout"]),
        words(&["checkout"]),
    ];
    let stats = TermStats::from_documents(0.0, &terms, docs.iter().map(|d| d.as_slice()));
    assert_eq!(stats.total, 4.0);
    assert_eq!(stats.frequency("checkout"), 1.0);
    assert_eq!(stats.frequency("pgbouncer"), 0.5);
    assert_eq!(stats.weight("checkout"), 0.0);
    assert!(stats.weight("pgbouncer") > 0.6);
}
