//! Rate limits in one place (governor): signed requests per API key, admin logins per client IP.
//! Limits are per instance; with N instances the effective ceiling is N times the setting.

use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::{Error, Result};

pub struct RateLimits {
    per_key: Option<DefaultKeyedRateLimiter<String>>,
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
        });
        let login =
            NonZeroU32::new(login_per_min).map(|rate| RateLimiter::keyed(Quota::per_minute(rate)));
        RateLimits {
            per_key,
            login,
            clock: DefaultClock::default(),
        }
    }

    pub fn check_key(&self, key_id: &str) -> Result<()> {
        match &self.per_key {
            None => Ok(()),
            Some(l) => l
                .check_key(&key_id.to_string())
                .map_err(|nu| self.too_many(nu)),
        }
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
