//! Rate limits in one place (governor): signed requests per API key, admin logins per client IP.
//! Limits are per instance; with N instances the effective ceiling is N times the setting.

use std::net::IpAddr;
use std::num::NonZeroU32;

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
            clock: DefaultClock::default(),
        }
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
    }
}
