//! The per-user limit on person searches (`api.md`: default 30 a minute).
//!
//! Apart from the HTTP layer's general request limits: a person search tells whether a named
//! person is a registered victim, so even a user whose requests are otherwise welcome may make
//! only so many of them. It lives here, beside the operation, so that every front door (REST's
//! `POST /person-search` and `GET /cases?full_name=`, the pages) counts against the same budget.
//!
//! A sliding window per user: the times of the user's last searches within a minute. Time comes
//! from the engine's clock (tests move it). Memory stays bounded by the users who searched in the
//! last minute: expired times are dropped on each search, and users without any are forgotten
//! when the table grows.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Duration, Utc};

/// The window the limit counts in.
const WINDOW_SECS: i64 = 60;

/// How many users the table holds before it forgets those without a search in the window.
const PRUNE_ABOVE: usize = 10_000;

/// Counts each user's person searches in the last minute.
#[derive(Debug)]
pub struct SearchLimiter {
    per_minute: u32,
    seen: Mutex<HashMap<String, VecDeque<DateTime<Utc>>>>,
}

impl SearchLimiter {
    /// A limit of `per_minute` searches per user (0 is read as 1: a search is never free of it).
    #[must_use]
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute: per_minute.max(1),
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a search by `sub` at `now`, or, past the limit, refuses it (without counting) with
    /// the number of whole seconds until the oldest search in the window leaves it (at least 1).
    ///
    /// # Errors
    /// The seconds to wait, when the user already made the allowed number in the last minute.
    pub fn admit(&self, sub: &str, now: DateTime<Utc>) -> Result<(), u64> {
        let window = Duration::seconds(WINDOW_SECS);
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        if seen.len() > PRUNE_ABOVE {
            seen.retain(|_, times| times.back().is_some_and(|t| now - *t < window));
        }
        let times = seen.entry(sub.to_string()).or_default();
        while times.front().is_some_and(|t| now - *t >= window) {
            times.pop_front();
        }
        if times.len() >= self.per_minute as usize {
            let oldest = times.front().copied().unwrap_or(now);
            let wait = (oldest + window - now).num_milliseconds();
            let secs = u64::try_from((wait + 999) / 1000).unwrap_or(1).max(1);
            return Err(secs);
        }
        times.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chrono::TimeZone;

    use super::*;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap()
    }

    #[test]
    fn a_user_past_the_limit_waits_until_the_oldest_search_leaves_the_window() {
        let l = SearchLimiter::new(3);
        for s in 0..3 {
            assert_eq!(l.admit("cw-1", t0() + Duration::seconds(s * 10)), Ok(()));
        }
        assert_eq!(l.admit("cw-1", t0() + Duration::seconds(25)), Err(35));
        // Another user has a budget of their own.
        assert_eq!(l.admit("cw-2", t0() + Duration::seconds(25)), Ok(()));
        // A minute after the first search, one more is allowed.
        assert_eq!(l.admit("cw-1", t0() + Duration::seconds(60)), Ok(()));
        assert_eq!(l.admit("cw-1", t0() + Duration::seconds(61)), Err(9));
    }

    #[test]
    fn refused_searches_do_not_count() {
        let l = SearchLimiter::new(1);
        assert_eq!(l.admit("cw-1", t0()), Ok(()));
        for s in 1..50 {
            assert!(l.admit("cw-1", t0() + Duration::seconds(s)).is_err());
        }
        assert_eq!(l.admit("cw-1", t0() + Duration::seconds(60)), Ok(()));
    }
}
