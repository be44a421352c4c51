//! `ptl-bench http`: the load benchmark. Per store and client count: throughput, latency
//! percentiles (overall and per step of the mix), errors and the server's RSS, printed as a
//! Markdown table for `docs/benchmarks.md`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use ptl_engine::testkit::PgTestDb;
use serde_json::Value;

use crate::client::Api;
use crate::life::{application, today, Step, LIFE, OFFICE};
use crate::server::{mint, Server};
use crate::Res;

/// The flags of `ptl-bench http`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Seconds per measurement.
    #[arg(long, default_value_t = 10)]
    secs: u64,
    /// Client counts, comma-separated.
    #[arg(long, default_value = "1,8,64", value_delimiter = ',')]
    clients: Vec<usize>,
    /// sqlite, postgres or both.
    #[arg(long, default_value = "both")]
    store: String,
    /// The ptl binary.
    #[arg(long, default_value = "target/release/ptl")]
    ptl: PathBuf,
    /// PostgreSQL admin URL (a fresh database is created and dropped).
    #[arg(long, env = "PTL_TEST_PG_URL", default_value = PG_URL)]
    pg_url: String,
}

/// The bench's PostgreSQL is on this host: TLS over the loopback interface would only cost CPU on
/// both sides (docs/benchmarks.md measures it). A PostgreSQL on another machine is given with
/// `sslmode=verify-full`; the summary prints the mode used.
const PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable";

#[derive(Debug)]
struct Row {
    store: &'static str,
    clients: usize,
    actions: u64,
    writes: u64,
    secs: f64,
    hist: Histogram<u64>,
    errors: u64,
    first_error: Option<String>,
    rss_idle_kib: u64,
    rss_end_kib: u64,
}

#[derive(Debug, Default)]
struct Tally {
    actions: u64,
    writes: u64,
    errors: u64,
    first_error: Option<String>,
    /// Latency (µs) by step of the mix.
    by_step: BTreeMap<&'static str, Histogram<u64>>,
}

impl Tally {
    fn add(&mut self, other: Self) -> Res<()> {
        self.actions += other.actions;
        self.writes += other.writes;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        for (step, h) in other.by_step {
            match self.by_step.get_mut(step) {
                Some(mine) => mine.add(&h).map_err(|e| e.to_string())?,
                None => {
                    self.by_step.insert(step, h);
                }
            }
        }
        Ok(())
    }
}

/// A latency histogram in microseconds, 1 µs to 60 s.
fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).unwrap()
}

/// One client: runs case lives until the deadline; returns its tally.
async fn http_client(api: Api, cw: String, nss: String, deadline: Instant) -> Tally {
    let mut t = Tally::default();
    let day = today();
    'lives: while Instant::now() < deadline {
        let mut id = String::new();
        let mut etag = String::new();
        let mut view = Value::Null;
        for step in LIFE {
            if Instant::now() >= deadline {
                break 'lives;
            }
            let started = Instant::now();
            let r = match step {
                Step::Register => {
                    api.post("/api/v1/cases", &cw, &[], &application(OFFICE, &day))
                        .await
                }
                Step::ReadCase => api.get(&format!("/api/v1/cases/{id}"), &cw).await,
                Step::Queue => api.get("/api/v1/cases?limit=50", &cw).await,
                s => {
                    let token = if s == Step::Decision { &nss } else { &cw };
                    api.post(
                        &format!("/api/v1/cases/{id}/actions/{}", s.action().unwrap()),
                        token,
                        &[("if-match", etag.as_str())],
                        &s.body(&day, &view),
                    )
                    .await
                }
            };
            let us = started.elapsed().as_micros() as u64;
            t.by_step
                .entry(step.label())
                .or_insert_with(latency_histogram)
                .saturating_record(us.max(1));
            t.actions += 1;
            match r {
                Ok(r) if (200..300).contains(&r.status) => {
                    if step.action().is_some() || step == Step::Register {
                        t.writes += 1;
                    }
                    if step == Step::Register {
                        id = r.body["id"].as_str().unwrap_or_default().to_string();
                    }
                    if step != Step::Queue {
                        if !r.etag.is_empty() {
                            etag = r.etag;
                        }
                        view = r.body;
                    }
                }
                Ok(r) => {
                    t.errors += 1;
                    if t.first_error.is_none() {
                        t.first_error = Some(format!("{} {}: {}", step.name(), r.status, r.body));
                    }
                    continue 'lives;
                }
                Err(e) => {
                    t.errors += 1;
                    if t.first_error.is_none() {
                        t.first_error = Some(format!("{}: {e}", step.name()));
                    }
                    continue 'lives;
                }
            }
        }
    }
    t
}

async fn run_store(
    store: &'static str,
    ptl: &Path,
    pg_url: &str,
    secs: u64,
    clients: &[usize],
) -> Res<Vec<Row>> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let data_dir = dir.path().join("data");
    let (url, pg_db) = if store == "postgres" {
        // A fresh database on the same server, with the same parameters (`?sslmode=...`),
        // dropped at the end (also if the run panics).
        let database = PgTestDb::create_on(pg_url, "bench")
            .await
            .map_err(|e| e.to_string())?;
        (database.url().to_owned(), Some(database))
    } else {
        (
            format!("sqlite://{}", dir.path().join("ptl.db").display()),
            None,
        )
    };
    let result = async {
        // PTL_BENCH_SERVER_LOG_FILE keeps the server's log after the run; a temporary file else.
        let log = std::env::var_os("PTL_BENCH_SERVER_LOG_FILE")
            .map_or_else(|| dir.path().join("server.log"), PathBuf::from);
        let server = Server::start(ptl, &url, &data_dir, &log).await?;
        let cw = mint(ptl, &url, &data_dir, "cw-bench", "caseworker", OFFICE)?;
        let nss = mint(
            ptl,
            &url,
            &data_dir,
            "do-bench",
            "decision_officer",
            "UA-NSS",
        )?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let rss_idle = server.rss_kib();
        let api = Api::new(&server.base);
        let mut rows = Vec::new();
        for &n in clients {
            let started = Instant::now();
            let deadline = started + Duration::from_secs(secs);
            let handles: Vec<_> = (0..n)
                .map(|_| tokio::spawn(http_client(api.clone(), cw.clone(), nss.clone(), deadline)))
                .collect();
            let mut hist = latency_histogram();
            let mut tally = Tally::default();
            for h in handles {
                tally.add(h.await.map_err(|e| e.to_string())?)?;
            }
            for h in tally.by_step.values() {
                hist.add(h).map_err(|e| e.to_string())?;
            }
            let elapsed = started.elapsed().as_secs_f64();
            let rss_end = server.rss_kib();
            eprintln!(
                "{store} {n:>3} clients: {:.0} actions/s, p99 {:.1} ms, errors {}",
                tally.actions as f64 / elapsed,
                hist.value_at_quantile(0.99) as f64 / 1000.0,
                tally.errors
            );
            if let Some(e) = &tally.first_error {
                eprintln!("  first error: {e}");
            }
            for (step, h) in &tally.by_step {
                eprintln!(
                    "  {step:<26} {:>7} × mean {:>6.2} ms, p50 {:>6.2} ms, p99 {:>6.2} ms",
                    h.len(),
                    h.mean() / 1000.0,
                    h.value_at_quantile(0.50) as f64 / 1000.0,
                    h.value_at_quantile(0.99) as f64 / 1000.0,
                );
            }
            rows.push(Row {
                store,
                clients: n,
                actions: tally.actions,
                writes: tally.writes,
                secs: elapsed,
                hist,
                errors: tally.errors,
                first_error: tally.first_error,
                rss_idle_kib: rss_idle,
                rss_end_kib: rss_end,
            });
        }
        server.stop();
        Ok::<_, String>(rows)
    }
    .await;
    if let Some(database) = pg_db {
        // A database that cannot be dropped does not fail the run.
        let _ = database.remove().await;
    }
    result
}

/// Runs the mix for `--secs` at each client count on each store, then prints the table; fails
/// if any request failed.
pub async fn run(args: Args) -> Res<()> {
    let Args {
        secs,
        clients,
        store,
        ptl,
        pg_url,
    } = args;
    if !ptl.exists() {
        return Err(format!(
            "{} not found: run `cargo build --release -p ptl-api` first",
            ptl.display()
        ));
    }
    let stores: Vec<&'static str> = match store.as_str() {
        "sqlite" => vec!["sqlite"],
        "postgres" => vec!["postgres"],
        "both" => vec!["sqlite", "postgres"],
        other => return Err(format!("--store {other}: sqlite, postgres or both")),
    };
    let mut rows = Vec::new();
    for &s in &stores {
        rows.extend(run_store(s, &ptl, &pg_url, secs, &clients).await?);
    }
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    println!();
    println!(
        "ptl HTTP load: {cores} cores, {secs} s per row; mix per case: register, read case, 2x record-consent, record-interview, work queue, request-verification, record-verification-reply, submit-file, read case, record-decision (UA-NSS)"
    );
    if stores.contains(&"postgres") {
        let mode = pg_url
            .split_once('?')
            .and_then(|(_, q)| q.split('&').find_map(|kv| kv.strip_prefix("sslmode=")))
            .unwrap_or("prefer (TLS when the server offers it)");
        println!("PostgreSQL: sslmode {mode}");
    }
    println!();
    println!("| store | clients | actions/s | writes/s | p50 ms | p99 ms | p99.9 ms | max ms | errors | RSS idle MiB | RSS after MiB |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    let mut total_errors = 0;
    for r in &rows {
        total_errors += r.errors;
        println!(
            "| {} | {} | {:.0} | {:.0} | {:.2} | {:.2} | {:.2} | {:.1} | {} | {:.1} | {:.1} |",
            r.store,
            r.clients,
            r.actions as f64 / r.secs,
            r.writes as f64 / r.secs,
            r.hist.value_at_quantile(0.50) as f64 / 1000.0,
            r.hist.value_at_quantile(0.99) as f64 / 1000.0,
            r.hist.value_at_quantile(0.999) as f64 / 1000.0,
            r.hist.max() as f64 / 1000.0,
            r.errors,
            r.rss_idle_kib as f64 / 1024.0,
            r.rss_end_kib as f64 / 1024.0,
        );
    }
    for r in &rows {
        if let Some(e) = &r.first_error {
            println!("first error ({} {} clients): {e}", r.store, r.clients);
        }
    }
    if total_errors > 0 {
        return Err(format!("{total_errors} requests failed"));
    }
    Ok(())
}
