//! Event stores, the command pipeline, the clock and the personal-data vault.

pub mod crypto;
pub mod db;
pub mod integrity;
pub mod keys;
pub mod store;
