//! `ptl-bench`: drives the real `ptl` server binary over HTTP.
//!
//! * `http`: the load benchmark (per store and client count: throughput, latency percentiles,
//!   errors, server RSS);
//! * `ack-load`: a write load that logs every acknowledged action (for the crash scenarios), with
//!   the statuses, `Retry-After` headers and latencies it saw;
//! * `probe`: writers (as `ack-load`) and readers for N seconds while the store goes away and
//!   comes back: fails on a request slower than a bound, a 5xx other than a 503 problem with
//!   `Retry-After`, or no success after the last failure;
//! * `check`: verifies an acknowledgement log against the events read back over HTTP (and, given
//!   the store's URL, that the store holds nothing that was not acknowledged);
//! * `race`: many clients acting on one case with the same `If-Match`;
//! * `hostile`: hostile input that must be refused with 4xx and write nothing;
//! * `web`: signed-in sessions browsing the web pages and submitting action forms (page latency
//!   and weight);
//! * `exports`: the HTCDS and CTDC exports on a generated population (in process, no server).
//!
//! Each subcommand is a module with its flags and its `run`: [`http`], [`ack_load`], [`probe`],
//! [`check`], [`race`], [`hostile`]. What they share: [`client`] (the HTTP client), [`life`] (a
//! case's life: the application and the steps after it), [`server`] (starting `ptl serve` and
//! minting tokens, for `http`),
//! [`recorder`] (what a load saw and the policy it must meet) and [`load`] (the logged writers
//! and the readers of `ack-load` and `probe`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod ack_load;
mod check;
mod client;
mod exports;
mod hostile;
mod http;
mod integrity;
mod life;
mod load;
mod probe;
mod race;
mod recorder;
mod server;
mod web;

use clap::{Parser, Subcommand};

/// Every failure is one sentence, printed after `ptl-bench: ` with exit code 1.
type Res<T> = Result<T, String>;

#[derive(Debug, Parser)]
#[command(
    name = "ptl-bench",
    about = "HTTP benchmark and reliability checks for ptl"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// The HTTP load benchmark against the real server binary.
    Http(http::Args),
    /// A write load that records every acknowledged action in a log.
    AckLoad(ack_load::Args),
    /// Writers (as `ack-load`) and readers while the store goes away and comes back.
    Probe(probe::Args),
    /// Checks an acknowledgement log against the events read over HTTP.
    Check(check::Args),
    /// Many clients acting on one case with the same `If-Match`.
    Race(race::Args),
    /// Hostile input: everything must be refused with 4xx and nothing written.
    Hostile(hostile::Args),
    /// Signed-in sessions browsing the web application: page latency and weight.
    Web(web::Args),
    /// The HTCDS and CTDC exports on a generated population of 100,000 cases.
    Exports(exports::Args),
    /// Caseworkers' request latency on 100,000 cases without and with the integrity report.
    Integrity(integrity::Args),
}

fn main() {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let r = rt.block_on(async move {
        match cli.cmd {
            Cmd::Http(args) => http::run(args).await,
            Cmd::AckLoad(args) => ack_load::run(args).await,
            Cmd::Probe(args) => probe::run(args).await,
            Cmd::Check(args) => check::run(args).await,
            Cmd::Race(args) => race::run(args).await,
            Cmd::Hostile(args) => hostile::run(args).await,
            Cmd::Web(args) => web::run(args).await,
            Cmd::Exports(args) => exports::run(args).await,
            Cmd::Integrity(args) => integrity::run(args).await,
        }
    });
    if let Err(e) = r {
        eprintln!("ptl-bench: {e}");
        std::process::exit(1);
    }
}
