//! Event stores, the command pipeline, the clock and the personal-data vault.
