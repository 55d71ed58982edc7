//! Additive Holt-Winters (triple exponential smoothing) for daily sales: a level, a linear
//! trend and a weekly seasonal pattern, each smoothed. Pure arithmetic, no database.
//!
//! Why this method: digital-goods sales have a strong weekday pattern (weekends, payday) and
//! drift as a product gains or loses favour; Holt-Winters models exactly those two effects,
//! is cheap enough to fit per product on every request (a grid of 150 parameter sets over
//! ~84 points), and degrades gracefully. Series shorter than two weeks cannot separate season
//! from noise, so they get the plain average instead.

/// One week of daily values.
pub const WEEK: usize = 7;

/// How a forecast was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Additive Holt-Winters with a weekly season (two weeks of history or more).
    HoltWinters,
    /// The mean of a short history.
    Average,
    /// No history: nothing is expected.
    None,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::HoltWinters => "holt_winters",
            Method::Average => "average",
            Method::None => "none",
        }
    }
}

/// Smoothing factors: level, trend, season (each 0..=1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    pub alpha: f64,
    pub beta: f64,
    pub gamma: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// Expected value for each of the next `horizon` periods, never negative.
    pub values: Vec<f64>,
    pub method: Method,
    /// The parameters chosen (Holt-Winters only).
    pub params: Option<Params>,
}

/// Forecasts `horizon` values after `history` (oldest first, one value per day).
pub fn forecast(history: &[f64], horizon: usize) -> Prediction {
    if history.is_empty() {
        return Prediction {
            values: vec![0.0; horizon],
            method: Method::None,
            params: None,
        };
    }
    if history.len() < 2 * WEEK {
        let mean = history.iter().sum::<f64>() / history.len() as f64;
        return Prediction {
            values: vec![mean.max(0.0); horizon],
            method: Method::Average,
            params: None,
        };
    }
    let params = fit(history, WEEK);
    let values = State::initial(history, WEEK)
        .run(history, params)
        .project(history.len(), horizon)
        .into_iter()
        .map(|v| v.max(0.0))
        .collect();
    Prediction {
        values,
        method: Method::HoltWinters,
        params: Some(params),
    }
}

/// The parameter set with the smallest one-step-ahead squared error over the history.
pub fn fit(history: &[f64], period: usize) -> Params {
    const ALPHAS: [f64; 6] = [0.05, 0.1, 0.2, 0.3, 0.5, 0.8];
    const BETAS: [f64; 5] = [0.0, 0.02, 0.05, 0.1, 0.2];
    const GAMMAS: [f64; 5] = [0.0, 0.05, 0.1, 0.2, 0.4];
    let start = State::initial(history, period);
    let mut best = (
        f64::INFINITY,
        Params {
            alpha: 0.2,
            beta: 0.05,
            gamma: 0.1,
        },
    );
    for alpha in ALPHAS {
        for beta in BETAS {
            for gamma in GAMMAS {
                let p = Params { alpha, beta, gamma };
                let sse = start.clone().sse(history, p);
                if sse < best.0 {
                    best = (sse, p);
                }
            }
        }
    }
    best.1
}

/// Level and trend just before the first observation, and one seasonal offset per position in
/// the period (indexed by time modulo the period).
#[derive(Debug, Clone)]
struct State {
    level: f64,
    trend: f64,
    season: Vec<f64>,
}

impl State {
    /// Classical decomposition of the whole seasons in the history: the trend from the first
    /// and last season means, each offset as the average detrended deviation at its position.
    fn initial(y: &[f64], m: usize) -> State {
        let seasons = (y.len() / m).max(1);
        let means: Vec<f64> = (0..seasons)
            .map(|k| y[k * m..(k + 1) * m].iter().sum::<f64>() / m as f64)
            .collect();
        let trend = if seasons > 1 {
            (means[seasons - 1] - means[0]) / ((seasons - 1) * m) as f64
        } else {
            0.0
        };
        let centre = (m as f64 - 1.0) / 2.0;
        let mut season: Vec<f64> = (0..m)
            .map(|i| {
                (0..seasons)
                    .map(|k| y[k * m + i] - (means[k] + trend * (i as f64 - centre)))
                    .sum::<f64>()
                    / seasons as f64
            })
            .collect();
        let offset = season.iter().sum::<f64>() / m as f64;
        season.iter_mut().for_each(|s| *s -= offset);
        State {
            // The first season's mean sits at its centre; step back to just before t = 0.
            level: means[0] - trend * (centre + 1.0),
            trend,
            season,
        }
    }

    fn step(&mut self, t: usize, y: f64, p: Params) {
        let m = self.season.len();
        let s = self.season[t % m];
        let previous = self.level;
        self.level = p.alpha * (y - s) + (1.0 - p.alpha) * (self.level + self.trend);
        self.trend = p.beta * (self.level - previous) + (1.0 - p.beta) * self.trend;
        self.season[t % m] = p.gamma * (y - self.level) + (1.0 - p.gamma) * s;
    }

    fn run(mut self, y: &[f64], p: Params) -> State {
        for (t, v) in y.iter().enumerate() {
            self.step(t, *v, p);
        }
        self
    }

    fn sse(mut self, y: &[f64], p: Params) -> f64 {
        let m = self.season.len();
        let mut sse = 0.0;
        for (t, v) in y.iter().enumerate() {
            let predicted = self.level + self.trend + self.season[t % m];
            sse += (v - predicted).powi(2);
            self.step(t, *v, p);
        }
        sse
    }

    /// Values for times n, n+1, ... after a history of length n.
    fn project(&self, n: usize, horizon: usize) -> Vec<f64> {
        let m = self.season.len();
        (1..=horizon)
            .map(|h| self.level + h as f64 * self.trend + self.season[(n + h - 1) % m])
            .collect()
    }
}

/// Mean absolute percentage error of `predicted` against `actual` (actual values of 0 are
/// skipped), in percent.
pub fn mape(actual: &[f64], predicted: &[f64]) -> f64 {
    let pairs: Vec<(f64, f64)> = actual
        .iter()
        .zip(predicted)
        .filter(|(a, _)| **a != 0.0)
        .map(|(a, p)| (*a, *p))
        .collect();
    if pairs.is_empty() {
        return 0.0;
    }
    100.0 * pairs.iter().map(|(a, p)| ((a - p) / a).abs()).sum::<f64>() / pairs.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{rngs::StdRng, Rng, SeedableRng};

    /// Gaussian noise (Box-Muller) from a seeded generator.
    fn noise(rng: &mut StdRng, sd: f64) -> f64 {
        let u1: f64 = rng.gen_range(f64::EPSILON..1.0);
        let u2: f64 = rng.gen();
        sd * (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    /// 20 units a day growing 0.3 a day, a weekly pattern of ±6, Gaussian noise.
    fn synthetic(days: usize, sd: f64, seed: u64) -> Vec<f64> {
        const WEEKLY: [f64; 7] = [5.0, 3.0, 0.0, -2.0, -4.0, -6.0, 4.0];
        let mut rng = StdRng::seed_from_u64(seed);
        (0..days)
            .map(|t| 20.0 + 0.3 * t as f64 + WEEKLY[t % 7] + noise(&mut rng, sd))
            .collect()
    }

    #[test]
    fn recovers_trend_and_weekly_pattern_on_held_out_days() {
        // 12 weeks to learn from, the next 14 days held out; over several noise draws.
        for seed in 1..=5 {
            let series = synthetic(98, 1.5, seed);
            let (train, held_out) = series.split_at(84);
            let p = forecast(train, 14);
            assert_eq!(p.method, Method::HoltWinters);
            let err = mape(held_out, &p.values);
            // A model without the weekly pattern and trend does visibly worse on the same days.
            let flat: Vec<f64> = vec![train[77..].iter().sum::<f64>() / 7.0; 14];
            let naive = mape(held_out, &flat);
            println!(
                "seed {seed}: Holt-Winters MAPE {err:.2}% (last-week mean {naive:.2}%), {:?}",
                p.params
            );
            assert!(err < 10.0, "seed {seed}: MAPE {err:.2}% ≥ 10%");
            assert!(err < naive, "seed {seed}");
        }
    }

    #[test]
    fn noiseless_series_is_reproduced_almost_exactly() {
        let series = synthetic(98, 0.0, 0);
        let p = forecast(&series[..84], 14);
        assert!(mape(&series[84..], &p.values) < 1.0);
    }

    #[test]
    fn adapts_to_a_level_shift() {
        // Demand triples after eight weeks; the fit must follow rather than average it away.
        let mut rng = StdRng::seed_from_u64(3);
        let series: Vec<f64> = (0..84)
            .map(|t| if t < 56 { 10.0 } else { 30.0 } + noise(&mut rng, 1.0))
            .collect();
        let p = forecast(&series, 14);
        let err = mape(&[30.0; 14], &p.values);
        assert!(
            err < 15.0,
            "MAPE {err:.2}% after a level shift: {:?}",
            p.values
        );
    }

    #[test]
    fn constant_demand_stays_constant() {
        let p = forecast(&[4.0; 28], 14);
        for v in p.values {
            assert!((v - 4.0).abs() < 1e-9, "{v}");
        }
    }

    #[test]
    fn short_history_uses_the_average_and_empty_history_nothing() {
        let p = forecast(&[2.0, 4.0, 0.0], 3);
        assert_eq!((p.method, p.values), (Method::Average, vec![2.0; 3]));
        let p = forecast(&[], 2);
        assert_eq!((p.method, p.values), (Method::None, vec![0.0; 2]));
    }

    #[test]
    fn falling_demand_is_never_forecast_below_zero() {
        let series: Vec<f64> = (0..28).map(|t| (28 - t) as f64).collect();
        let p = forecast(&series, 14);
        assert!(p.values.iter().all(|v| *v >= 0.0));
        assert_eq!(p.values[13], 0.0);
    }

    #[test]
    fn mape_skips_zero_actuals() {
        assert_eq!(mape(&[0.0, 10.0], &[3.0, 11.0]), 10.0);
    }
}
