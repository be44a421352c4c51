//! The subcommands of `ptl`, one module each: its arguments (a `clap` struct or enum) and its
//! `run` function, which returns the process's exit code or a one-sentence error that `main`
//! prints after `ptl: `.
//!
//! - [`serve`]: the REST API server and its background workers, until SIGTERM or Ctrl-C;
//! - [`token`]: mint a token with the configured key, or revoke one;
//! - [`migrate`]: apply the store's schema migrations;
//! - [`backup`]: a checked copy of the SQLite store;
//! - [`verify`]: recompute the hash chains (exit code 2 when one is broken);
//! - [`replay`]: a case's history, or the case as it stood at an instant or version;
//! - [`deadlines`]: the legal clock run once (for cron), and how a due date was computed;
//! - [`demo`]: fill an empty store with realistic cases through the engine;
//! - [`export`]: the HTCDS case export and the k-anonymous CTDC dataset;
//! - [`projections`]: rebuild the read models or let them catch up;
//! - [`keys`]: re-wrap every case's data key under a new master key;
//! - [`procedures`]: the procedure definitions and their deadline tables;
//! - [`calendar`]: the working-day calendars;
//! - [`offices`]: the office tree, and closing an office with its successor;
//! - [`users`]: the web application's local accounts;
//! - [`status`]: what the status page shows, read from the store;
//! - [`common`]: what several of them share (the store's URL, the data directory, the engine).
//!
//! These modules belong to the binary, not to the `ptl_api` library: nothing else calls them.
//! What a test needs too lives in the library (`ptl_api::startup::start` behind `serve`,
//! `ptl_api::rebuild_cli` behind `projections rebuild`, `ptl_api::demo` behind `demo`).

pub mod backup;
pub mod calendar;
pub mod common;
pub mod deadlines;
pub mod demo;
pub mod export;
pub mod keys;
pub mod migrate;
pub mod offices;
pub mod procedures;
pub mod projections;
pub mod replay;
pub mod serve;
pub mod status;
pub mod token;
pub mod users;
pub mod verify;
