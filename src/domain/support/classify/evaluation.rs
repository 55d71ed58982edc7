//! Accuracy and a per-intent confusion table on the held-out part of the set, for the learned
//! model and the keyword baseline (README "Support assistant"; `tests/api/support/eval.rs`).

use std::fmt::Write;

use super::{classify, rules};
use crate::domain::support::dataset::{self, Example};
use crate::domain::support::intent::{Intent, Lang};

/// How one classifier did on a set of messages.
pub struct Evaluation {
    pub name: &'static str,
    /// `matrix[expected][predicted]`, by `Intent::index`.
    pub matrix: [[usize; 6]; 6],
    /// Correct and total, per language (`en`, `zh`).
    pub by_lang: [(usize, usize); 2],
    /// The messages it got wrong: expected, predicted, text.
    pub misses: Vec<(Intent, Intent, &'static str)>,
}

impl Evaluation {
    pub fn run(name: &'static str, set: &[Example], predict: impl Fn(&str) -> Intent) -> Self {
        let mut matrix = [[0; 6]; 6];
        let mut by_lang = [(0, 0); 2];
        let mut misses = Vec::new();
        for e in set {
            let got = predict(e.text);
            if got != e.intent {
                misses.push((e.intent, got, e.text));
            }
            matrix[e.intent.index()][got.index()] += 1;
            let lang = &mut by_lang[usize::from(e.lang == Lang::Zh)];
            lang.0 += usize::from(got == e.intent);
            lang.1 += 1;
        }
        Evaluation {
            name,
            matrix,
            by_lang,
            misses,
        }
    }

    pub fn total(&self) -> usize {
        self.matrix.iter().flatten().sum()
    }

    pub fn correct(&self) -> usize {
        (0..6).map(|k| self.matrix[k][k]).sum()
    }

    pub fn accuracy(&self) -> f64 {
        self.correct() as f64 / self.total().max(1) as f64
    }

    /// A Markdown table: one row per expected intent, one column per predicted intent, then
    /// the row's recall.
    pub fn table(&self) -> String {
        let mut s = String::new();
        let (en, zh) = (self.by_lang[0], self.by_lang[1]);
        let _ = writeln!(
            s,
            "{}: accuracy {:.3} ({}/{}); en {}/{}, zh {}/{}\n",
            self.name,
            self.accuracy(),
            self.correct(),
            self.total(),
            en.0,
            en.1,
            zh.0,
            zh.1
        );
        s.push_str("| expected \\ predicted |");
        for i in Intent::ALL {
            let _ = write!(s, " {} |", i.as_str());
        }
        s.push_str(" recall |\n|---|");
        s.push_str(&"---:|".repeat(7));
        s.push('\n');
        for i in Intent::ALL {
            let row = &self.matrix[i.index()];
            let _ = write!(s, "| {} |", i.as_str());
            for n in row {
                let _ = write!(s, " {n} |");
            }
            let total: usize = row.iter().sum();
            let recall = row[i.index()] as f64 / total.max(1) as f64;
            let _ = writeln!(s, " {recall:.2} |");
        }
        s
    }
}

/// `(baseline, learned)` on the held-out messages.
pub fn held_out() -> (Evaluation, Evaluation) {
    let (_, held) = dataset::split();
    (
        Evaluation::run("keyword baseline", &held, rules::classify),
        Evaluation::run("softmax regression", &held, |t| classify(t).0),
    )
}
