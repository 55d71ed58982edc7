//! The classifier on the held-out fifth of the labelled set, against the keyword baseline.
//! `cargo test --test api support_eval -- --nocapture` prints the tables the README shows.

use kameng::domain::support::classify::{self, evaluation};
use kameng::domain::support::dataset;
use kameng::domain::support::{Intent, Lang};

#[test]
fn support_eval_the_learned_model_beats_the_keyword_baseline() {
    let (baseline, learned) = evaluation::held_out();
    println!("{}\n{}", baseline.table(), learned.table());
    for e in [&baseline, &learned] {
        println!("{} misses:", e.name);
        for (expected, got, text) in &e.misses {
            println!("  {} -> {}: {text}", expected.as_str(), got.as_str());
        }
    }
    assert!(
        learned.accuracy() > baseline.accuracy(),
        "learned {:.3} vs baseline {:.3}",
        learned.accuracy(),
        baseline.accuracy()
    );
    assert!(
        learned.accuracy() >= 0.85,
        "learned {:.3}",
        learned.accuracy()
    );
}

#[test]
fn support_eval_an_unsure_model_answers_other() {
    let mut unsure = 0;
    for e in dataset::examples() {
        let (best, confidence) = classify::model().predict(e.text);
        let (intent, reported) = classify::classify(e.text);
        assert_eq!(reported, confidence);
        if confidence < classify::MIN_CONFIDENCE {
            unsure += 1;
            assert_eq!(intent, Intent::Other, "{}", e.text);
        } else {
            assert_eq!(intent, best);
        }
    }
    // The floor is a fallback, not the usual path.
    assert!(unsure * 10 < dataset::examples().len(), "{unsure} unsure");
}

#[test]
fn support_eval_the_set_is_large_balanced_and_bilingual() {
    let all = dataset::examples();
    // Every line of the file is a message: none skipped as malformed.
    let lines = include_str!("../../../src/domain/support/data/messages.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .count();
    assert_eq!(all.len(), lines);
    assert!(all.len() >= 400, "{} messages", all.len());
    for intent in Intent::ALL {
        for lang in [Lang::En, Lang::Zh] {
            let n = all
                .iter()
                .filter(|e| e.intent == intent && e.lang == lang)
                .count();
            assert!(n >= 30, "{intent:?}/{lang:?}: {n}");
        }
    }
    let (train, held) = dataset::split();
    assert_eq!(train.len() + held.len(), all.len());
    assert_eq!(held.len(), all.len() / 5);
    // The language column agrees with what the assistant detects.
    for e in &all {
        assert_eq!(Lang::detect(e.text), e.lang, "{}", e.text);
    }
}
