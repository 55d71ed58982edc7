//! The labelled set the classifier learns from: customer messages written for kameng (not
//! scraped), in English and Chinese, embedded in the binary so nothing is downloaded at run
//! time. One line a message: `intent<TAB>lang<TAB>text`; lines starting with `#` are comments.

use super::intent::{Intent, Lang};

const MESSAGES: &str = include_str!("data/messages.tsv");

/// One labelled message.
#[derive(Debug, Clone, Copy)]
pub struct Example {
    pub intent: Intent,
    pub lang: Lang,
    pub text: &'static str,
}

/// Every message of the set, in file order (a malformed line is skipped; a test counts them).
pub fn examples() -> Vec<Example> {
    MESSAGES
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|line| {
            let mut cols = line.splitn(3, '\t');
            Some(Example {
                intent: Intent::parse(cols.next()?)?,
                lang: Lang::parse(cols.next()?)?,
                text: cols.next()?,
            })
        })
        .collect()
}

/// Whether the `i`-th message (from 0) is held out: every 5th. The file groups messages by
/// intent and language, so this takes a fifth of each group — a stratified split that stays
/// the same on every machine.
pub fn held_out(i: usize) -> bool {
    i % 5 == 4
}

/// `(train, held_out)`.
pub fn split() -> (Vec<Example>, Vec<Example>) {
    let (held, train): (Vec<_>, Vec<_>) = examples()
        .into_iter()
        .enumerate()
        .partition(|(i, _)| held_out(*i));
    let strip = |v: Vec<(usize, Example)>| v.into_iter().map(|(_, e)| e).collect();
    (strip(train), strip(held))
}
