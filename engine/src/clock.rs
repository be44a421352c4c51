//! Time is injected: the engine stamps each command once from a [`Clock`]. Production uses the
//! system clock; tests set the time. Readings are truncated to microseconds, the precision
//! PostgreSQL keeps, so a hashed timestamp reads back identical from either store.

use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

/// A source of the current instant.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Now, at microsecond precision.
    fn now(&self) -> DateTime<Utc>;
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        crate::integrity::truncate_to_micros(Utc::now())
    }
}

/// A clock tests move by hand.
#[derive(Debug)]
pub struct SettableClock(Mutex<DateTime<Utc>>);

impl SettableClock {
    /// A clock stopped at `t`.
    #[must_use]
    pub fn new(t: DateTime<Utc>) -> Self {
        Self(Mutex::new(crate::integrity::truncate_to_micros(t)))
    }

    /// Sets the time.
    pub fn set(&self, t: DateTime<Utc>) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            crate::integrity::truncate_to_micros(t);
    }

    /// Moves the time forward.
    pub fn advance(&self, by: Duration) {
        let mut g = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *g += by;
    }
}

impl Clock for SettableClock {
    fn now(&self) -> DateTime<Utc> {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
