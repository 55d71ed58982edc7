//! Which intent a message has: a learned model ([`bayes`]) trained once from the embedded set,
//! a keyword baseline ([`rules`]) to measure it against, and the held-out evaluation of both
//! ([`evaluation`]).

pub mod bayes;
pub mod evaluation;
pub mod features;
pub mod rules;

use std::sync::OnceLock;

use super::dataset;
use super::intent::Intent;

/// Below this probability the model's best guess is not trusted: the answer is `other`, which
/// asks the customer to say more instead of acting on a guess.
pub const MIN_CONFIDENCE: f64 = 0.5;

/// The model trained on the set's training part, once per process (a few milliseconds).
pub fn model() -> &'static bayes::NaiveBayes {
    static MODEL: OnceLock<bayes::NaiveBayes> = OnceLock::new();
    MODEL.get_or_init(|| bayes::NaiveBayes::train(&dataset::split().0))
}

/// The intent of `text` and the model's confidence in it, `other` when below
/// [`MIN_CONFIDENCE`] (the confidence then is still the model's, so a caller sees how unsure).
pub fn classify(text: &str) -> (Intent, f64) {
    let (intent, confidence) = model().predict(text);
    if confidence < MIN_CONFIDENCE {
        (Intent::Other, confidence)
    } else {
        (intent, confidence)
    }
}
