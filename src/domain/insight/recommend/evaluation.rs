//! Offline evaluation of the recommender on a seeded synthetic history with structure, against
//! a plain most-popular baseline. Run with `--nocapture` to see the figures.
//!
//! The world: 60 products — 6 groups of 8 niche products plus 12 products every segment
//! sells — and 180 resellers in 6 segments. A reseller carries ~70 % of its segment's group,
//! ~50 % of the popular products and a few random others; it starts selling each of them in
//! a random week of 12 and then sells a Poisson number of units a week (product popularity ×
//! shop size). The first 10 weeks are history; the last 2 are held out. A hit is a product
//! the reseller did not sell in the history and sells in the holdout.

use std::collections::HashSet;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::similar::{bestsellers, recommend, Candidates, Sales};

const GROUPS: usize = 6;
const PER_GROUP: usize = 8;
const POPULAR: usize = 12;
const RESELLERS: usize = 180;
const WEEKS: usize = 12;
const HOLDOUT_WEEKS: usize = 2;
const K: usize = 5;

fn poisson(rng: &mut StdRng, lambda: f64) -> f64 {
    // Knuth's method; the rates here are small.
    let limit = (-lambda).exp();
    let mut k = 0.0;
    let mut p: f64 = rng.gen();
    while p > limit {
        k += 1.0;
        p *= rng.gen::<f64>();
    }
    k
}

fn product(i: usize) -> String {
    format!("p{i:02}")
}

/// Units per (reseller, product) in the history and in the holdout.
fn world(seed: u64) -> (Sales, Sales) {
    let mut rng = StdRng::seed_from_u64(seed);
    let niche = GROUPS * PER_GROUP;
    let popularity: Vec<f64> = (0..niche + POPULAR)
        .map(|i| {
            if i < niche {
                rng.gen_range(2.0..8.0)
            } else {
                rng.gen_range(6.0..16.0)
            }
        })
        .collect();
    let (mut history, mut holdout) = (Sales::new(), Sales::new());
    for r in 0..RESELLERS {
        let reseller = format!("r{r:03}");
        let segment = r % GROUPS;
        let size: f64 = rng.gen_range(0.3..2.0);
        for (p, pop) in popularity.iter().enumerate() {
            let chance = if p >= niche {
                0.5
            } else if p / PER_GROUP == segment {
                0.7
            } else {
                0.03
            };
            if !rng.gen_bool(chance) {
                continue;
            }
            let start = rng.gen_range(0..WEEKS);
            for week in start..WEEKS {
                let units = poisson(&mut rng, pop * size);
                let book = if week < WEEKS - HOLDOUT_WEEKS {
                    &mut history
                } else {
                    &mut holdout
                };
                *book
                    .entry(reseller.clone())
                    .or_default()
                    .entry(product(p))
                    .or_default() += units;
            }
        }
    }
    (history, holdout)
}

struct Score {
    precision: f64,
    recall: f64,
    evaluated: usize,
    /// Precision@K of a perfect recommender (at most K hits, at most |new| hits).
    ceiling: f64,
}

/// Mean precision@K and recall@K over resellers with at least one new product in the holdout.
fn evaluate(
    history: &Sales,
    holdout: &Sales,
    top: impl Fn(&str, &HashSet<String>) -> Vec<String>,
) -> Score {
    let (mut precision, mut recall, mut evaluated, mut ceiling) = (0.0, 0.0, 0, 0.0);
    for (reseller, later) in holdout {
        let sold: HashSet<String> = history
            .get(reseller)
            .map(|m| {
                m.iter()
                    .filter(|(_, u)| **u > 0.0)
                    .map(|(p, _)| p.clone())
                    .collect()
            })
            .unwrap_or_default();
        let new: HashSet<&String> = later
            .iter()
            .filter(|(p, u)| **u > 0.0 && !sold.contains(*p))
            .map(|(p, _)| p)
            .collect();
        if new.is_empty() {
            continue;
        }
        let recs = top(reseller, &sold);
        let hits = recs.iter().take(K).filter(|p| new.contains(p)).count() as f64;
        precision += hits / K as f64;
        recall += hits / new.len() as f64;
        ceiling += new.len().min(K) as f64 / K as f64;
        evaluated += 1;
    }
    Score {
        precision: precision / evaluated as f64,
        recall: recall / evaluated as f64,
        evaluated,
        ceiling: ceiling / evaluated as f64,
    }
}

#[test]
fn beats_most_popular_on_held_out_weeks() {
    let all: HashSet<String> = (0..GROUPS * PER_GROUP + POPULAR).map(product).collect();
    let mut results = Vec::new();
    for seed in [7, 11, 23] {
        let (history, holdout) = world(seed);
        let popular = bestsellers(&history);
        let model = evaluate(&history, &holdout, |r, sold| {
            let c = Candidates {
                sold,
                eligible: &all,
            };
            recommend(r, &history, &c, &[], &[], K)
                .into_iter()
                .map(|s| s.product_id)
                .collect()
        });
        let baseline = evaluate(&history, &holdout, |_, sold| {
            popular
                .iter()
                .filter(|(p, _)| !sold.contains(p))
                .take(K)
                .map(|(p, _)| p.clone())
                .collect()
        });
        println!(
            "seed {seed}: {} resellers; precision@{K} similar-resellers {:.3} vs most-popular {:.3} \
             (perfect {:.3}); recall@{K} {:.3} vs {:.3}",
            model.evaluated,
            model.precision,
            baseline.precision,
            model.ceiling,
            model.recall,
            baseline.recall
        );
        assert!(model.evaluated > RESELLERS / 2);
        results.push((model.precision, baseline.precision));
    }
    let mean =
        |f: fn(&(f64, f64)) -> f64| results.iter().map(f).sum::<f64>() / results.len() as f64;
    let (model, baseline) = (mean(|r| r.0), mean(|r| r.1));
    println!("mean precision@{K}: similar-resellers {model:.3}, most-popular {baseline:.3}");
    assert!(
        results.iter().all(|(m, b)| m > b),
        "the recommender must beat the baseline on every seed: {results:?}"
    );
}

/// Guards the generator itself: the structure the evaluation relies on is there.
#[test]
fn synthetic_world_has_segments() {
    let (history, _) = world(7);
    let count = |r: &str, group: usize| -> usize {
        history[r]
            .keys()
            .filter(|p| {
                p[1..]
                    .parse::<usize>()
                    .is_ok_and(|i| i / PER_GROUP == group)
            })
            .count()
    };
    let own: usize = (0..GROUPS).map(|g| count(&format!("r{g:03}"), g)).sum();
    let other: usize = (0..GROUPS)
        .map(|g| count(&format!("r{g:03}"), (g + 1) % GROUPS))
        .sum();
    assert!(own > 3 * other, "own-group {own} vs other {other}");
}
