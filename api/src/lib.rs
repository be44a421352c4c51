//! The REST API and the `ptl` command line.
//!
//! Layout of the library (the server and the CLI in `main.rs` are built on it):
//! - [`models`]: request bodies parsed into domain commands; free text split off for the vault;
//! - [`problem`]: the one API error enum, rendered as RFC 9457 problem+json, and the JSON
//!   extractor that reports malformed bodies in that format;
//! - [`auth`]: bearer JWT verification (HS256 shared secret, optionally an identity provider's
//!   RS256 or EdDSA key), minting for the CLI, and the revocation hook;
//! - [`offices`]: the office tree (national, deciding authorities, regions, districts) and who
//!   may see which case;
//! - [`config`]: typed settings from `ptl.toml` and `PTL_*` environment variables;
//! - [`server`]: the routes of `api.md` and their error precedence; [`view`]: the case view;
//!   [`metrics`]: Prometheus counters by route (never by case).

pub mod app;
pub mod auth;
pub mod config;
pub mod demo;
pub mod lists;
pub mod metrics;
pub mod models;
pub mod offices;
pub mod openapi;
pub mod problem;
pub mod rebuild_cli;
pub mod server;
pub mod view;
