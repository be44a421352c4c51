//! Event stores, the command pipeline, the clock and the personal-data vault.

pub mod store;
