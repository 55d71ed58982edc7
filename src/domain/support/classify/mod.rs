//! Which intent a message has: a learned model ([`softmax`]) trained once from the embedded set,
//! a keyword baseline ([`rules`]) to measure it against, and the held-out evaluation of both
//! ([`evaluation`]).

pub mod evaluation;
pub mod features;
pub mod rules;
pub mod softmax;

use std::sync::OnceLock;

use super::dataset;
use super::intent::Intent;

/// Below this probability the model's best guess is not trusted: the answer is `other`, which
/// asks the customer to say more instead of acting on a guess. Six intents make 1/6 a blind
/// guess; 0.3 (picked by cross-validation on the training part) still keeps most true answers.
pub const MIN_CONFIDENCE: f64 = 0.3;

/// The model trained on the set's training part, once per process (a few milliseconds).
pub fn model() -> &'static softmax::SoftmaxModel {
    static MODEL: OnceLock<softmax::SoftmaxModel> = OnceLock::new();
    MODEL.get_or_init(|| softmax::SoftmaxModel::train(&dataset::split().0))
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
