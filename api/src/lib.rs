//! The REST API, the application layer it shares with the pages, and the `ptl` command line.
//!
//! Layout of the library (the `ptl` binary, `main.rs` and its `cli/` modules, one per
//! subcommand, is built on it). A write goes
//! [`http`] (route, extractors) -> [`app`] (the operation: scope, role, idempotency, version) ->
//! `ptl_engine::pipeline` (the command, its events and the rows beside them); `ARCHITECTURE.md`
//! walks it file by file.
//! - [`http`]: the routes of `api.md`, one module per resource, the extractors in the order of
//!   the error precedence, problem+json ([`http::error`]) and the OpenAPI document
//!   ([`http::openapi`]);
//! - [`app`]: the application layer: intent-level operations (`register`, `act`, `read_case`,
//!   `read_person`, `history`, `verify`, the lists) that the HTTP handlers and the pages call;
//! - [`models`]: request bodies parsed into domain commands; free text split off for the vault;
//! - [`view`]: the case view; [`schema`]: the schemas the OpenAPI document is made of;
//! - [`auth`]: bearer JWT verification (HS256 shared secret, optionally an identity provider's
//!   RS256 or EdDSA key), minting for the CLI, and the revocation hook;
//! - [`population`]: a generated population of registrations (the exports' test and benchmark);
//! - [`offices`]: the office tree (national, deciding authorities, regions, districts, with the
//!   dates they existed and their successors) and who may see which case; [`reorganise`]: an
//!   office that closes and the transfer of its cases (`ptl offices close`);
//! - [`config`]: typed settings from `ptl.toml` and `PTL_*` environment variables;
//! - [`startup`]: opening the store, keys, engine and router the same way for `ptl serve` and the
//!   tests;
//! - [`limits`]: connection-level limits: header-read and idle timeouts, the connection cap, the
//!   per-address and per-user rate limits, and the server loop that applies them;
//! - [`metrics`]: Prometheus counters by route (never by case);
//! - [`demo`]: the demo scenarios (`ptl demo`); [`rebuild_cli`]: the read-model rebuild with a
//!   progress bar (`ptl projections rebuild`);
//! - [`fuzzing`]: the command decoding from raw bytes, for `api/fuzz`.

pub mod accounts;
pub mod app;
pub mod auth;
pub mod config;
pub mod demo;
pub mod fuzzing;
pub mod http;
pub mod i18n;
pub mod integrity;
pub mod limits;
pub mod metrics;
pub mod models;
pub mod offices;
pub mod population;
pub mod rebuild_cli;
pub mod reorganise;
pub mod schema;
pub mod startup;
pub mod view;
pub mod web;
