//! `ptl-bench integrity`: caseworkers' request latency on a large store (by default 100,000
//! cases, `ptl_api::population`, registered through the engine as `ptl-bench exports` does)
//! without and with the integrity report running (issue 16: at most +20% at p99).
//!
//! The population is registered in this process; then a `ptl serve` process is started on the
//! store and caseworkers' requests are sent at a fixed rate (open loop: a request starts on its
//! schedule whatever the previous one's latency, so a slower server shows as a longer tail, not
//! as fewer requests): the work queue of their office (a page of 50), a case, and a registration
//! now and then. First for `--secs` without a report, then from `POST /api/v1/integrity-reports`
//! (an auditor of `UA`: every case) until the report is done. Latency is measured at the client
//! on the loopback (an upper bound of the server's time).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use ptl_api::startup::{start, StartOptions};
use ptl_engine::clock::SystemClock;
use ptl_engine::testkit::PgTestDb;
use tokio::sync::Mutex;

use crate::client::Api;
use crate::life::{application, today};
use crate::server::{mint, Server};
use crate::Res;

/// The flags of `ptl-bench integrity`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Cases to generate and register before measuring.
    #[arg(long, default_value_t = 100_000)]
    cases: usize,
    /// Seconds of the phase without a report (the phase with it lasts until the report is done).
    #[arg(long, default_value_t = 60)]
    secs: u64,
    /// Caseworkers' requests per second (spread over `--clients`).
    #[arg(long, default_value_t = 100)]
    rate: u64,
    /// Clients sending them.
    #[arg(long, default_value_t = 16)]
    clients: u64,
    /// sqlite or postgres.
    #[arg(long, default_value = "sqlite")]
    store: String,
    /// Registrations in flight at once while populating.
    #[arg(long, default_value_t = 32)]
    in_flight: usize,
    /// The ptl binary.
    #[arg(long, default_value = "target/release/ptl")]
    ptl: PathBuf,
    /// PostgreSQL admin URL (a fresh database is created and dropped).
    #[arg(
        long,
        env = "PTL_TEST_PG_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
    )]
    pg_url: String,
}

const OFFICES: [&str; 4] = ["UA7102", "UA7104", "UA7106", "UA7108"];

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).unwrap_or_else(|_| Histogram::new(3).unwrap())
}

/// Latencies of one phase: all requests, and by kind (work queue page, case, registration).
#[derive(Clone)]
struct Hists {
    all: Histogram<u64>,
    kinds: [Histogram<u64>; 3],
}

impl Default for Hists {
    fn default() -> Self {
        Self {
            all: histogram(),
            kinds: [histogram(), histogram(), histogram()],
        }
    }
}

impl Hists {
    fn record(&mut self, kind: usize, us: u64) {
        let _ = self.all.record(us);
        if let Some(h) = self.kinds.get_mut(kind) {
            let _ = h.record(us);
        }
    }

    fn add(&mut self, other: &Self) {
        let _ = self.all.add(&other.all);
        for (a, b) in self.kinds.iter_mut().zip(&other.kinds) {
            let _ = a.add(b);
        }
    }
}

const KINDS: [&str; 3] = ["work queue page", "case", "registration"];

struct Load {
    api: Api,
    tokens: Vec<(String, &'static str)>,
    ids: Vec<(String, String)>,
}

/// Sends the caseworkers' requests at `rate` per second until `stop` says so; latencies (µs)
/// into the histogram; errors counted.
async fn drive(
    load: Arc<Load>,
    rate: u64,
    clients: u64,
    stop: tokio::sync::watch::Receiver<bool>,
) -> (Hists, u64, u64) {
    let hist = Arc::new(Mutex::new(Hists::default()));
    let errors = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let sent = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    let period = Duration::from_secs_f64(clients as f64 / rate.max(1) as f64);
    for c in 0..clients {
        let load = load.clone();
        let hist = hist.clone();
        let errors = errors.clone();
        let sent = sent.clone();
        let stop = stop.clone();
        tasks.spawn(async move {
            let mut tick = tokio::time::interval_at(
                tokio::time::Instant::now() + period.mul_f64(c as f64 / clients as f64),
                period,
            );
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut n: u64 = c * 7919;
            let mut inflight = tokio::task::JoinSet::new();
            while !*stop.borrow() {
                tick.tick().await;
                n = n.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                let load = load.clone();
                let hist = hist.clone();
                let errors = errors.clone();
                sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                inflight.spawn(async move {
                    let (token, office) = &load.tokens[(n >> 33) as usize % load.tokens.len()];
                    let pick = (n >> 17) % 20;
                    let t = Instant::now();
                    let r = if pick < 9 {
                        load.api.get("/api/v1/cases?limit=50", token).await
                    } else if pick < 19 {
                        // A case of the office the caseworker works in (another's is a 404).
                        let (id, office) = &load.ids[(n >> 7) as usize % load.ids.len()];
                        let token = load
                            .tokens
                            .iter()
                            .find(|(_, o)| *o == office.as_str())
                            .map_or(token, |(t, _)| t);
                        load.api.get(&format!("/api/v1/cases/{id}"), token).await
                    } else {
                        let key = uuid::Uuid::new_v4().to_string();
                        load.api
                            .post(
                                "/api/v1/cases",
                                token,
                                &[("idempotency-key", key.as_str())],
                                &application(office, &today()),
                            )
                            .await
                    };
                    let us = u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX);
                    let kind = match pick {
                        0..=8 => 0,
                        9..=18 => 1,
                        _ => 2,
                    };
                    match r {
                        Ok(r) if r.status < 300 => {
                            hist.lock().await.record(kind, us.max(1));
                        }
                        _ => {
                            errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                    }
                });
                while inflight.try_join_next().is_some() {}
            }
            while inflight.join_next().await.is_some() {}
        });
    }
    while tasks.join_next().await.is_some() {}
    let h = hist.lock().await.clone();
    (
        h,
        errors.load(std::sync::atomic::Ordering::Relaxed),
        sent.load(std::sync::atomic::Ordering::Relaxed),
    )
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

/// Populates, serves, measures both phases and prints a Markdown table for `docs/benchmarks.md`.
///
/// # Errors
/// A sentence: the store cannot be created, the population registered, the server started, or
/// the report does not finish.
#[allow(clippy::too_many_lines, clippy::cast_precision_loss)]
pub async fn run(args: Args) -> Res<()> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let data = dir.path().join("data");
    let pg = if args.store == "postgres" {
        Some(
            PgTestDb::create_on(&args.pg_url, "integrity")
                .await
                .map_err(|e| e.to_string())?,
        )
    } else if args.store == "sqlite" {
        None
    } else {
        return Err(format!("--store {}: sqlite or postgres", args.store));
    };
    let url = match &pg {
        Some(db) => db.url().to_string(),
        None => format!("sqlite://{}", dir.path().join("ptl.db").display()),
    };
    {
        let app = start(
            &StartOptions::new(url.clone(), &data),
            Arc::new(SystemClock),
        )
        .await?;
        let engine = Arc::clone(&app.state.app.engine);
        let people = ptl_api::population::population(args.cases, 17);
        let t = Instant::now();
        ptl_api::population::register_all(&engine, people, args.in_flight).await?;
        eprintln!(
            "registered {} cases in {:.0} s",
            args.cases,
            t.elapsed().as_secs_f64()
        );
        ptl_engine::testkit::close(engine.db()).await;
    }
    let log = dir.path().join("server.log");
    let server = Server::start(&args.ptl, &url, &data, &log).await?;
    let outcome = measure(&args, &url, &data, &server).await;
    server.stop();
    if outcome.is_err() {
        eprintln!(
            "the server's log, last lines:\n{}",
            crate::server::log_tail(&log, 40)
        );
    }
    if let Some(db) = pg {
        db.remove().await.map_err(|e| e.to_string())?;
    }
    outcome
}

#[allow(clippy::cast_precision_loss)]
async fn measure(args: &Args, url: &str, data: &std::path::Path, server: &Server) -> Res<()> {
    let api = Api::new(&server.base);
    let mut tokens = Vec::new();
    for (i, office) in OFFICES.iter().enumerate() {
        for k in 0..2 {
            let t = mint(
                &args.ptl,
                url,
                data,
                &format!("cw-{i}-{k}"),
                "caseworker",
                office,
            )?;
            tokens.push((t, *office));
        }
    }
    let auditor = mint(&args.ptl, url, data, "aud-1", "auditor", "UA")?;
    let mut ids = Vec::new();
    for (t, office) in tokens.iter().step_by(2) {
        let r = api.get("/api/v1/cases?limit=200", t).await?;
        if let Some(items) = r.body["items"].as_array() {
            ids.extend(items.iter().filter_map(|i| {
                i["case_id"]
                    .as_str()
                    .map(|id| (id.to_string(), (*office).to_string()))
            }));
        }
    }
    if ids.is_empty() {
        return Err("the work queue lists no case".into());
    }
    let load = Arc::new(Load {
        api: api.clone(),
        tokens,
        ids,
    });
    // Warm-up (connections, caches), not measured.
    let (tx, rx) = tokio::sync::watch::channel(false);
    let warm = tokio::spawn(drive(load.clone(), args.rate, args.clients, rx));
    tokio::time::sleep(Duration::from_secs(5)).await;
    let _ = tx.send(true);
    let _ = warm.await;

    let load_before = load_average();
    let (tx, rx) = tokio::sync::watch::channel(false);
    let base = tokio::spawn(drive(load.clone(), args.rate, args.clients, rx));
    tokio::time::sleep(Duration::from_secs(args.secs)).await;
    let _ = tx.send(true);
    let (base_h, base_err, base_sent) = base.await.map_err(|e| e.to_string())?;

    let (tx, rx) = tokio::sync::watch::channel(false);
    let with = tokio::spawn(drive(load.clone(), args.rate, args.clients, rx));
    let started = Instant::now();
    let r = api
        .post(
            "/api/v1/integrity-reports",
            &auditor,
            &[],
            &serde_json::json!({}),
        )
        .await?;
    let Some(id) = r.body["id"].as_str().map(str::to_string) else {
        let _ = tx.send(true);
        return Err(format!("the report did not start: {} {}", r.status, r.body));
    };
    let mut load_during = String::new();
    let report = loop {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let s = api
            .get(&format!("/api/v1/integrity-reports/{id}"), &auditor)
            .await?;
        if started.elapsed() > Duration::from_secs(args.secs / 2) && load_during.is_empty() {
            load_during = load_average();
        }
        match s.body["status"].as_str() {
            Some("running") => {
                if started.elapsed() > Duration::from_secs(3600) {
                    let _ = tx.send(true);
                    return Err("the report did not finish within an hour".into());
                }
            }
            Some("done") => break s.body,
            other => {
                let _ = tx.send(true);
                return Err(format!(
                    "the report ended {other:?}: HTTP {} {}",
                    s.status, s.body
                ));
            }
        }
    };
    let report_secs = started.elapsed().as_secs_f64();
    let _ = tx.send(true);
    let (with_h, with_err, with_sent) = with.await.map_err(|e| e.to_string())?;
    if load_during.is_empty() {
        load_during = load_average();
    }
    // The same load again without the report: a server that slows down over the run (its store
    // growing, its caches) shows in this phase too, and is not blamed on the report.
    let (tx, rx) = tokio::sync::watch::channel(false);
    let after = tokio::spawn(drive(load.clone(), args.rate, args.clients, rx));
    tokio::time::sleep(Duration::from_secs(args.secs)).await;
    let _ = tx.send(true);
    let (after_h, after_err, after_sent) = after.await.map_err(|e| e.to_string())?;
    let load_after = load_average();
    let mut without = base_h.clone();
    without.add(&after_h);

    let row = |name: &str, h: &Histogram<u64>, err: u64, sent: u64| {
        format!(
            "| {name} | {} | {err} | {:.1} | {:.1} | {:.1} | {:.1} |",
            sent,
            ms(h.value_at_quantile(0.50)),
            ms(h.value_at_quantile(0.95)),
            ms(h.value_at_quantile(0.99)),
            ms(h.max()),
        )
    };
    println!(
        "store {}: {} cases; {} caseworkers' requests/s from {} clients (45% work queue page, 50% case, 5% registration)",
        args.store, args.cases, args.rate, args.clients
    );
    println!(
        "integrity report: {} cases, {} events, {} invalid, in {report_secs:.0} s",
        report["report"]["cases"], report["report"]["events"], report["invalid"]
    );
    println!(
        "load average (1, 5, 15 min): before {load_before}; during the report {load_during}; after {load_after}"
    );
    println!();
    println!("| phase | requests | errors | p50 ms | p95 ms | p99 ms | max ms |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let phases = [
        ("without the report (before)", &base_h, base_err, base_sent),
        ("with the report running", &with_h, with_err, with_sent),
        (
            "without the report (after)",
            &after_h,
            after_err,
            after_sent,
        ),
    ];
    for (name, h, err, sent) in phases {
        println!("{}", row(name, &h.all, err, sent));
    }
    for (k, kind) in KINDS.iter().enumerate() {
        for (name, h, _, _) in phases {
            let h = &h.kinds[k];
            println!("{}", row(&format!("{kind}: {name}"), h, 0, h.len()));
        }
    }
    let p99 = |h: &Histogram<u64>| h.value_at_quantile(0.99) as f64;
    println!();
    println!(
        "p99 with the report / without (both phases without it, pooled): {:+.0}% ({:.1} ms / {:.1} ms)",
        (p99(&with_h.all) / p99(&without.all).max(1.0) - 1.0) * 100.0,
        ms(with_h.all.value_at_quantile(0.99)),
        ms(without.all.value_at_quantile(0.99)),
    );
    Ok(())
}
