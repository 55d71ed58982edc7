//! What the classifier sees of a message. Chinese has no spaces, so runs of CJK characters give
//! character unigrams and bigrams (no word segmenter needed); Latin text gives words, word
//! pairs and character trigrams of each word (a typo such as `recieve` still shares most of
//! `receive`'s trigrams). Tokens with digits (order numbers, amounts) all become one token, so
//! a message is judged by what it says, not by which order it names.

use crate::domain::support::intent::is_cjk;

/// The features of `text`, with repeats (the model counts them).
pub fn features(text: &str) -> Vec<String> {
    let lower = text.to_lowercase();
    let mut out = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut cjk: Vec<char> = Vec::new();
    let mut word = String::new();
    for c in lower.chars() {
        if is_cjk(c) {
            end_word(&mut word, &mut words);
            cjk.push(c);
        } else if c.is_alphanumeric() || c == '_' {
            end_cjk(&mut cjk, &mut out);
            word.push(c);
        } else if c == '\'' || c == '\u{2019}' {
            // didn't = didnt: customers type both
        } else {
            end_word(&mut word, &mut words);
            end_cjk(&mut cjk, &mut out);
        }
    }
    end_word(&mut word, &mut words);
    end_cjk(&mut cjk, &mut out);
    for w in &words {
        out.push(format!("w:{w}"));
        if w != "<num>" && w.chars().count() >= 3 {
            let padded: Vec<char> = format!(" {w} ").chars().collect();
            out.extend(
                padded
                    .windows(3)
                    .map(|g| format!("g:{}", String::from_iter(g))),
            );
        }
    }
    out.extend(words.windows(2).map(|p| format!("p:{} {}", p[0], p[1])));
    out
}

fn end_word(word: &mut String, words: &mut Vec<String>) {
    if word.is_empty() {
        return;
    }
    if word.chars().any(|c| c.is_ascii_digit()) {
        words.push("<num>".into());
    } else {
        words.push(word.clone());
    }
    word.clear();
}

fn end_cjk(run: &mut Vec<char>, out: &mut Vec<String>) {
    out.extend(run.iter().map(|c| format!("c:{c}")));
    out.extend(run.windows(2).map(|p| format!("b:{}{}", p[0], p[1])));
    run.clear();
}
