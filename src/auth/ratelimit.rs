//! Rate limits in one place (governor): signed requests per API key, admin logins per client IP,
//! unsigned gift-link requests per client IP, and the lockout of an IP guessing gift-link
//! tokens. Limits are per instance; with N instances the effective ceiling is N times the
//! setting.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::{Error, Result};

/// A keyed limiter that reports what is left after each request (for the headers).
type KeyLimiter =
    RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock, StateInformationMiddleware>;

/// What a signed request may still do, sent back as the IETF draft's `RateLimit-Limit`,
/// `RateLimit-Remaining` and `RateLimit-Reset` headers (see `api::middleware`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowance {
    /// Requests a key may make in a burst.
    pub limit: u32,
    /// Requests it may still make right now.
    pub remaining: u32,
    /// Seconds until the burst is whole again.
    pub reset_secs: u64,
}

pub struct RateLimits {
    per_key: Option<KeyLimiter>,
    login: Option<DefaultKeyedRateLimiter<IpAddr>>,
    claims: Option<DefaultKeyedRateLimiter<IpAddr>>,
    guesses: GuessLockout,
    clock: DefaultClock,
}

impl RateLimits {
    /// `per_key_per_sec`: sustained rate with a burst of twice that; 0 disables.
    /// `login_per_min`: admin login attempts per minute per IP; 0 disables.
    pub fn new(per_key_per_sec: u32, login_per_min: u32) -> Self {
        let per_key = NonZeroU32::new(per_key_per_sec).map(|rate| {
            let burst = rate.saturating_mul(NonZeroU32::MIN.saturating_add(1));
            RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst))
                .with_middleware::<StateInformationMiddleware>()
        });
        let login =
            NonZeroU32::new(login_per_min).map(|rate| RateLimiter::keyed(Quota::per_minute(rate)));
        RateLimits {
            per_key,
            login,
            claims: None,
            guesses: GuessLockout::new(0, Duration::ZERO),
            clock: DefaultClock::default(),
        }
    }

    /// Adds the gift-link limits: `per_ip_per_sec` unsigned requests per client IP (burst 2×;
    /// 0 = off), and a lockout of `misses` unknown tokens per `window` (0 = off).
    pub fn with_claim_limits(mut self, per_ip_per_sec: u32, misses: u32, window: Duration) -> Self {
        self.claims = NonZeroU32::new(per_ip_per_sec).map(|rate| {
            let burst = rate.saturating_mul(NonZeroU32::MIN.saturating_add(1));
            RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst))
        });
        self.guesses = GuessLockout::new(misses, window);
        self
    }

    /// Counts one unsigned gift-link request from `ip`: refused while the IP is locked out
    /// for guessing, or over its rate.
    pub fn check_claim(&self, ip: IpAddr) -> Result<()> {
        self.guesses.check(ip, Instant::now())?;
        match &self.claims {
            None => Ok(()),
            Some(l) => l.check_key(&ip).map_err(|nu| self.too_many(nu)),
        }
    }

    /// Records that `ip` presented an unknown gift-link token.
    pub fn claim_missed(&self, ip: IpAddr) {
        self.guesses.missed(ip, Instant::now());
    }

    /// Counts one request of `key_id`; `None` when per-key limits are off.
    pub fn check_key(&self, key_id: &str) -> Result<Option<Allowance>> {
        let Some(l) = &self.per_key else {
            return Ok(None);
        };
        let snapshot = l
            .check_key(&key_id.to_string())
            .map_err(|nu| self.too_many(nu))?;
        let quota = snapshot.quota();
        let limit = quota.burst_size().get();
        let remaining = snapshot.remaining_burst_capacity();
        let refill = quota.replenish_interval() * (limit - remaining);
        Ok(Some(Allowance {
            limit,
            remaining,
            reset_secs: refill.as_secs_f64().ceil() as u64,
        }))
    }

    pub fn check_login(&self, ip: IpAddr) -> Result<()> {
        match &self.login {
            None => Ok(()),
            Some(l) => l.check_key(&ip).map_err(|nu| self.too_many(nu)),
        }
    }

    fn too_many(&self, not_until: governor::NotUntil<<DefaultClock as Clock>::Instant>) -> Error {
        let wait = not_until.wait_time_from(self.clock.now());
        Error::RateLimited(wait.as_secs_f64().ceil().max(1.0) as u64)
    }

    /// Drops idle keys so the maps do not grow without bound.
    pub fn housekeeping(&self) {
        if let Some(l) = &self.per_key {
            l.retain_recent();
        }
        if let Some(l) = &self.login {
            l.retain_recent();
        }
        if let Some(l) = &self.claims {
            l.retain_recent();
        }
        self.guesses.forget_idle(Instant::now());
    }
}

/// Unknown gift-link tokens per client IP. A token has 192 bits, so guessing is hopeless;
/// the lockout keeps a scanner from even costing lookups: after `misses` unknown tokens within
/// `window` of the first, the IP is refused for `window`. A fixed window (not governor's
/// smooth rate) because the rule is a count of failures, not of requests.
struct GuessLockout {
    misses: u32,
    window: Duration,
    by_ip: Mutex<HashMap<IpAddr, Guesses>>,
}

#[derive(Clone, Copy)]
struct Guesses {
    since: Instant,
    count: u32,
    locked_until: Option<Instant>,
}

impl GuessLockout {
    fn new(misses: u32, window: Duration) -> Self {
        GuessLockout {
            misses,
            window,
            by_ip: Mutex::new(HashMap::new()),
        }
    }

    fn check(&self, ip: IpAddr, now: Instant) -> Result<()> {
        if self.misses == 0 {
            return Ok(());
        }
        let map = self.by_ip.lock().unwrap_or_else(|p| p.into_inner());
        match map.get(&ip).and_then(|g| g.locked_until) {
            Some(until) if until > now => Err(Error::RateLimited(
                (until - now).as_secs_f64().ceil().max(1.0) as u64,
            )),
            _ => Ok(()),
        }
    }

    fn missed(&self, ip: IpAddr, now: Instant) {
        if self.misses == 0 {
            return;
        }
        let mut map = self.by_ip.lock().unwrap_or_else(|p| p.into_inner());
        let g = map.entry(ip).or_insert(Guesses {
            since: now,
            count: 0,
            locked_until: None,
        });
        if now.duration_since(g.since) > self.window {
            *g = Guesses {
                since: now,
                count: 0,
                locked_until: None,
            };
        }
        g.count += 1;
        if g.count >= self.misses {
            g.locked_until = Some(now + self.window);
        }
    }

    fn forget_idle(&self, now: Instant) {
        let mut map = self.by_ip.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, g| {
            now.duration_since(g.since) <= self.window || g.locked_until.is_some_and(|u| u > now)
        });
    }
}
