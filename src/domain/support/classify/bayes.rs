//! A multinomial naive Bayes classifier over [`features`](super::features): small, trained in
//! a few milliseconds from the embedded set, deterministic, and good with few examples per
//! class. Hand-written because it is thirty lines; no crate of that size is better kept.

use std::collections::HashMap;

use super::features::features;
use crate::domain::support::dataset::Example;
use crate::domain::support::intent::Intent;

/// Additive smoothing: a feature never seen with a class is unlikely, not impossible.
const ALPHA: f64 = 0.5;

pub struct NaiveBayes {
    /// log P(intent), by `Intent::index`.
    log_prior: [f64; 6],
    /// log P(feature | intent) of every feature seen in training.
    log_likelihood: HashMap<String, [f64; 6]>,
}

impl NaiveBayes {
    pub fn train(examples: &[Example]) -> NaiveBayes {
        let mut docs = [0usize; 6];
        let mut counts: HashMap<String, [f64; 6]> = HashMap::new();
        let mut totals = [0f64; 6];
        for e in examples {
            let k = e.intent.index();
            docs[k] += 1;
            for f in features(e.text) {
                counts.entry(f).or_insert([0.0; 6])[k] += 1.0;
                totals[k] += 1.0;
            }
        }
        let vocab = counts.len() as f64;
        let n = examples.len().max(1) as f64;
        let log_prior = docs.map(|d| ((d as f64 + 1.0) / (n + 6.0)).ln());
        let log_likelihood = counts
            .into_iter()
            .map(|(f, c)| {
                let mut row = [0.0; 6];
                for k in 0..6 {
                    row[k] = ((c[k] + ALPHA) / (totals[k] + ALPHA * vocab)).ln();
                }
                (f, row)
            })
            .collect();
        NaiveBayes {
            log_prior,
            log_likelihood,
        }
    }

    /// The probability of each intent given `text` (by `Intent::index`; they sum to 1).
    /// Features never seen in training carry no evidence and are skipped, so a message of
    /// nothing but unknown words falls back to the priors — a low confidence.
    pub fn posterior(&self, text: &str) -> [f64; 6] {
        let mut score = self.log_prior;
        for f in features(text) {
            if let Some(row) = self.log_likelihood.get(&f) {
                for k in 0..6 {
                    score[k] += row[k];
                }
            }
        }
        let top = score.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let exp = score.map(|s| (s - top).exp());
        let sum: f64 = exp.iter().sum();
        exp.map(|e| e / sum)
    }

    /// The most likely intent and its probability.
    pub fn predict(&self, text: &str) -> (Intent, f64) {
        let p = self.posterior(text);
        let (best, conf) = Intent::ALL
            .into_iter()
            .map(|i| (i, p[i.index()]))
            .fold((Intent::Other, f64::MIN), |a, b| if b.1 > a.1 { b } else { a });
        (best, conf)
    }
}
