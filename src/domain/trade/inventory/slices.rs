//! How many cards one slice of a stock push stores. Orders queued behind a slice wait for the
//! whole of it, and what a card costs depends on the disk and the database's size: 500 cards
//! took about 7 ms on one 2-core box and 85-128 ms (write and commit) on another with 10^6
//! cards of history, where orders then waited that long during every push. So a slice holds
//! as many cards as the last one stored in [`TARGET`] of the writer's time, between [`MIN`]
//! and [`MAX`], and the size carries over from one push to the next (one size per process: it
//! measures the disk and the database, not the push).

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

/// Records that `cards` cards took `took` to store, for the slices after.
pub fn stored(cards: usize, took: Duration) {
    NEXT.store(resized(next(), cards, took), Ordering::Relaxed);
}

/// The size that fits [`TARGET`] at `took / cards` a card, growing at most twofold a slice so
/// that one quick slice (a lucky commit) does not bring back the long ones.
fn resized(current: usize, cards: usize, took: Duration) -> usize {
    if cards == 0 {
        return current;
    }
    let per_card = took.as_secs_f64() / cards as f64;
    let fits = if per_card > 0.0 {
        (TARGET.as_secs_f64() / per_card) as usize
    } else {
        MAX
    };
    fits.min(current.saturating_mul(2)).clamp(MIN, MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slow_slice_shrinks_the_next_to_fit_the_target() {
        // 500 cards in 100 ms: 0.2 ms a card, so 125 fit in 25 ms.
        assert_eq!(resized(500, 500, Duration::from_millis(100)), 125);
    }

    #[test]
    fn a_quick_slice_grows_the_next_at_most_twofold_up_to_the_most() {
        assert_eq!(resized(100, 100, Duration::from_millis(2)), 200);
        assert_eq!(resized(400, 400, Duration::from_millis(2)), MAX);
    }

    #[test]
    fn sizes_stay_between_the_fewest_and_the_most() {
        assert_eq!(resized(500, 500, Duration::from_secs(5)), MIN);
        assert_eq!(resized(MAX, 10, Duration::ZERO), MAX);
        assert_eq!(resized(120, 0, Duration::from_secs(1)), 120);
    }
}
