//! How many cards one slice of a stock push stores. Orders queued behind a slice wait for the
//! whole of it, and what a card costs depends on the disk and the database's size: 500 cards
//! took about 7 ms on one 2-core box and 85-128 ms (write and commit) on another with 10^6
//! cards of history, where orders then waited that long during every push. So a slice holds
//! as many cards as fit in [`TARGET`] of the writer's time, between [`MIN`] and [`MAX`], and
//! the size carries over from one push to the next (one size per process: it measures the disk
//! and the database, not the push).
//!
//! A slice's time is its statements, which grow with its cards, and its commit, which mostly
//! does not: while a checkpoint's fsync had the disk, a 50-card slice's commit took 20-35 ms,
//! as long as a 450-card one's. Sized on the whole time, slices then shrank to 50 cards and a
//! push took ten times the commits (1.1-1.6 s for 10,000 cards against 0.64 s). So the cards
//! are sized on the statements' time per card, in what the last commit leaves of the target,
//! and never in less than half of it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Most cards a slice holds (where a slice of them is quick, a push stays few commits).
pub const MAX: usize = 500;
/// Fewest: below this a push's commits, not its cards, would make up its time.
pub const MIN: usize = 50;
/// The writer time one slice should take (its statements and its commit): what orders may wait
/// for it.
const TARGET: Duration = Duration::from_millis(25);

/// The size the next slice starts from (the last one's, across pushes).
static NEXT: AtomicUsize = AtomicUsize::new(MAX);

/// The size to store the next slice with.
pub fn next() -> usize {
    NEXT.load(Ordering::Relaxed)
}

/// Records that `cards` cards took `writing` of statements and `committing` to commit, for the
/// slices after.
pub fn stored(cards: usize, writing: Duration, committing: Duration) {
    NEXT.store(
        resized(next(), cards, writing, committing),
        Ordering::Relaxed,
    );
}

/// The size whose statements fit in what the commit leaves of [`TARGET`] (at least half of it)
/// at `writing / cards` a card, growing at most twofold a slice so that one quick slice does
/// not bring back the long ones.
fn resized(current: usize, cards: usize, writing: Duration, committing: Duration) -> usize {
    if cards == 0 {
        return current;
    }
    let budget = TARGET.saturating_sub(committing).max(TARGET / 2);
    // `budget / (writing / cards)`, in whole nanoseconds (no rounding below an exact fit).
    let fits = match writing.as_nanos() {
        0 => MAX,
        per_slice => usize::try_from(budget.as_nanos() * cards as u128 / per_slice).unwrap_or(MAX),
    };
    fits.min(current.saturating_mul(2)).clamp(MIN, MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn slow_statements_shrink_the_next_slice_to_what_the_commit_leaves() {
        // 500 cards in 40 ms of statements: 0.08 ms a card; a 5 ms commit leaves 20 ms: 250.
        assert_eq!(resized(500, 500, ms(40), ms(5)), 250);
    }

    #[test]
    fn a_slow_commit_does_not_shrink_slices_below_half_the_target_of_statements() {
        // 0.05 ms a card. A 30 ms commit leaves nothing of the 25 ms: the statements still get
        // 12.5 ms, 250 cards. Sized on the whole 40 ms, it would have been 125.
        assert_eq!(resized(200, 200, ms(10), ms(30)), 250);
        // The slow commit alone (the disk busy elsewhere) keeps a large slice large.
        assert_eq!(resized(MAX, 50, ms(1), ms(30)), MAX);
    }

    #[test]
    fn a_quick_slice_grows_the_next_at_most_twofold_up_to_the_most() {
        assert_eq!(resized(100, 100, ms(1), ms(1)), 200);
        assert_eq!(resized(400, 400, ms(1), ms(1)), MAX);
    }

    #[test]
    fn sizes_stay_between_the_fewest_and_the_most() {
        assert_eq!(resized(500, 500, Duration::from_secs(5), ms(1)), MIN);
        assert_eq!(resized(MAX, 10, Duration::ZERO, Duration::ZERO), MAX);
        assert_eq!(resized(120, 0, Duration::from_secs(1), ms(1)), 120);
    }
}
