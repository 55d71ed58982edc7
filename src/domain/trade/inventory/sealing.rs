//! A push's codes made ready to store: each card checked, its code hashed with the vault's key
//! (the duplicate check) and encrypted, and repeats within the request dropped. No database:
//! this runs off the writer, a stretch of cards at a time (`push::push_in_slices` stores one
//! slice while the next are sealed).

use std::collections::HashSet;

use super::push::{NewCard, PushCards, PushResult, Rejected, MAX_CARDS_PER_PUSH};
use crate::crypto::Vault;
use crate::error::{Error, Result};

/// A card ready to store: keyed hash and encrypted code.
pub(super) struct Sealed {
    pub(super) index: usize,
    pub(super) hash: String,
    pub(super) code_enc: String,
    pub(super) secret_enc: Option<String>,
    pub(super) expires_at: Option<i64>,
}

impl Sealed {
    /// `card`, whose checked `code` hashes to `hash`, with its code and secret encrypted: for a
    /// push and for a just-in-time answer (`push::SealedBatch`) alike.
    pub(super) fn new(
        vault: &Vault,
        index: usize,
        card: &NewCard,
        (code, hash, expires_at): (&str, String, Option<i64>),
    ) -> Sealed {
        Sealed {
            index,
            hash,
            code_enc: vault.encrypt_str(code),
            secret_enc: card.secret.as_deref().map(|s| vault.encrypt_str(s)),
            expires_at,
        }
    }
}

/// A push being checked, deduplicated within the request, hashed and encrypted, a stretch of
/// cards at a time (`push_in_slices` stores one stretch while it seals the next). What it
/// refuses or drops as a repeat is counted in `result`.
pub(super) struct Sealing {
    pub(super) batch_ref: Option<String>,
    pub(super) now: i64,
    /// The next card of the request to seal.
    next: usize,
    seen: HashSet<String>,
    pub(super) result: PushResult,
}

impl Sealing {
    /// The checks on the request as a whole: how many cards, the batch reference.
    pub(super) fn begin(req: &PushCards) -> Result<Sealing> {
        if req.cards.is_empty() || req.cards.len() > MAX_CARDS_PER_PUSH {
            return Err(Error::invalid(
                "cards",
                format!("must hold 1..{MAX_CARDS_PER_PUSH} cards"),
            ));
        }
        let batch_ref = req
            .batch_ref
            .as_deref()
            .map(|b| crate::domain::validate::non_empty("batch_ref", b, 128))
            .transpose()?;
        Ok(Sealing {
            batch_ref,
            now: crate::time::now_ms(),
            next: 0,
            seen: HashSet::new(),
            result: PushResult {
                accepted: 0,
                duplicates: 0,
                rejected: Vec::new(),
                stock: 0,
            },
        })
    }

    /// Checks, hashes and encrypts the request's next cards until `wanted` are ready to store
    /// or the request ends.
    pub(super) fn seal(&mut self, vault: &Vault, req: &PushCards, wanted: usize) -> Vec<Sealed> {
        let mut fresh = Vec::new();
        while fresh.len() < wanted && self.next < req.cards.len() {
            let (index, card) = (self.next, &req.cards[self.next]);
            self.next += 1;
            let (code, expires_at) = match check_card(card, self.now) {
                Ok(checked) => checked,
                Err(reason) => {
                    self.result.rejected.push(Rejected {
                        index,
                        reason: reason.into(),
                    });
                    continue;
                }
            };
            let hash = vault.code_hash(code);
            if !self.seen.insert(hash.clone()) {
                self.result.duplicates += 1;
                continue;
            }
            fresh.push(Sealed::new(vault, index, card, (code, hash, expires_at)));
        }
        fresh
    }
}

/// One card's checks that need no database: its trimmed code and expiry, or the reason it is
/// refused (`empty_code`, `too_long`, `invalid_expires_at`, `expired`).
pub(super) fn check_card(
    card: &NewCard,
    now: i64,
) -> std::result::Result<(&str, Option<i64>), &'static str> {
    let code = card.code.trim();
    let bad_code = if code.is_empty() {
        Some("empty_code")
    } else if code.len() > 512 || card.secret.as_ref().is_some_and(|s| s.len() > 512) {
        Some("too_long")
    } else {
        None
    };
    // An unreadable date is reported before a bad code, as it always was.
    let expires_at = match card.expires_at.as_deref().map(crate::time::parse_rfc3339) {
        None => None,
        Some(None) => return Err("invalid_expires_at"),
        Some(Some(t)) if t <= now => return Err("expired"),
        Some(Some(t)) => Some(t),
    };
    match bad_code {
        Some(reason) => Err(reason),
        None => Ok((code, expires_at)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(code: &str) -> NewCard {
        NewCard {
            code: code.into(),
            secret: None,
            expires_at: None,
        }
    }

    /// What sealing gives: the fresh cards' indexes, the repeats, the refusals.
    type Outcome = (Vec<usize>, usize, Vec<(usize, String)>);

    fn sealed_in(stretches: &[usize], req: &PushCards) -> Outcome {
        let vault = Vault::from_master(&[9; 32]);
        let mut sealing = Sealing::begin(req).unwrap();
        let mut fresh = Vec::new();
        for wanted in stretches {
            fresh.extend(
                sealing
                    .seal(&vault, req, *wanted)
                    .into_iter()
                    .map(|s| s.index),
            );
        }
        let refused = sealing.result.rejected.iter();
        let refused = refused.map(|r| (r.index, r.reason.clone())).collect();
        (fresh, sealing.result.duplicates, refused)
    }

    #[test]
    fn sealing_in_stretches_gives_what_sealing_at_once_does() {
        // A repeat of a first-stretch code in the rest, and a refusal in each stretch.
        let req = PushCards {
            cards: vec![
                card("A"),
                card(" "),
                card("B"),
                card("C"),
                card("A"),
                card(""),
                card("D"),
            ],
            batch_ref: None,
        };
        let at_once = sealed_in(&[usize::MAX], &req);
        assert_eq!(
            at_once,
            (
                vec![0, 2, 3, 6],
                1,
                vec![(1, "empty_code".into()), (5, "empty_code".into())]
            )
        );
        // The first stretch stops at two fresh cards (index 2); the rest goes on from index 3.
        assert_eq!(sealed_in(&[2, usize::MAX], &req), at_once);
        assert_eq!(sealed_in(&[1, 1, 1, usize::MAX], &req), at_once);
    }
}
