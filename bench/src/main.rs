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
//! * `hostile`: hostile input that must be refused with 4xx and write nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use clap::{Parser, Subcommand};
use hdrhistogram::Histogram;
use ptl_engine::testkit::PgTestDb;
use serde_json::{json, Value};
use sqlx::{Connection, PgConnection};

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
    Http {
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
    },
    /// A write load that records every acknowledged action in a log.
    AckLoad {
        #[arg(long)]
        base: String,
        #[arg(long)]
        token_cw: String,
        #[arg(long)]
        token_nss: String,
        #[arg(long)]
        ack_log: PathBuf,
        #[arg(long, default_value_t = 10)]
        secs: u64,
        #[arg(long, default_value_t = 4)]
        clients: usize,
        #[command(flatten)]
        policy: PolicyArgs,
    },
    /// Writers (as `ack-load`) and readers while the store goes away and comes back.
    Probe {
        #[arg(long)]
        base: String,
        #[arg(long)]
        token_cw: String,
        #[arg(long)]
        token_nss: String,
        /// A token for the reads (e.g. a supervisor of `UA`).
        #[arg(long)]
        token_read: String,
        #[arg(long)]
        ack_log: PathBuf,
        #[arg(long, default_value_t = 20)]
        secs: u64,
        /// Writer clients (case lives with `Idempotency-Key`, retried until answered).
        #[arg(long, default_value_t = 2)]
        writers: usize,
        /// Reader clients (case, events, work queue, deadlines, statistics).
        #[arg(long, default_value_t = 2)]
        readers: usize,
        #[command(flatten)]
        policy: PolicyArgs,
    },
    /// Checks an acknowledgement log against the events read over HTTP.
    Check {
        #[arg(long)]
        base: String,
        /// A token that may read every logged case's events (e.g. an auditor of `UA`).
        #[arg(long)]
        token: String,
        #[arg(long)]
        ack_log: PathBuf,
        /// The store's URL (`sqlite://...` or `postgres://...`): also check that it holds no
        /// case and no event that was not acknowledged (only for a store the logged load alone
        /// wrote to).
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Many clients acting on one case with the same `If-Match`.
    Race {
        #[arg(long)]
        base: String,
        #[arg(long)]
        token_cw: String,
        #[arg(long, default_value_t = 32)]
        clients: usize,
        #[arg(long, default_value_t = 20)]
        rounds: usize,
    },
    /// Hostile input: everything must be refused with 4xx and nothing written.
    Hostile {
        #[arg(long)]
        base: String,
        /// A caseworker of UA7102.
        #[arg(long)]
        token_cw: String,
        /// A caseworker of another office (UA7104).
        #[arg(long)]
        token_other: String,
        /// A supervisor of `UA` (to read the statistics before and after).
        #[arg(long)]
        token_ua: String,
        /// The server's data directory (for the real JWT secret: expired tokens).
        #[arg(long)]
        data_dir: PathBuf,
    },
}

/// What a load run must have seen (all off by default: `ack-load` only reports).
#[derive(Debug, Clone, clap::Args)]
struct PolicyArgs {
    /// Seconds a writer keeps retrying its unanswered request after the load's end (no new
    /// request is started), so that no write is left committed but unacknowledged.
    #[arg(long, default_value_t = 30)]
    drain_secs: u64,
    /// Fail if any request took longer than this (milliseconds).
    #[arg(long)]
    max_latency_ms: Option<u64>,
    /// Fail on a 5xx other than 503, a 503 without `Retry-After`, or a 5xx that is not
    /// `application/problem+json`.
    #[arg(long)]
    only_503: bool,
    /// Fail on a transport error (connection refused or reset, client timeout).
    #[arg(long)]
    no_transport_errors: bool,
    /// Fail if a request failed (5xx or transport error) and no request succeeded after the
    /// last failure (the service did not resume).
    #[arg(long)]
    require_resume: bool,
    /// Fail if no request failed at all (the fault did not happen).
    #[arg(long)]
    require_failures: bool,
}

/// The bench's PostgreSQL is on this host: TLS over the loopback interface would only cost CPU on
/// both sides (docs/benchmarks.md measures it). A PostgreSQL on another machine is given with
/// `sslmode=verify-full`; the summary prints the mode used.
const PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable";
const OFFICE: &str = "UA7102";

fn today() -> String {
    // The UTC date is never after the Kyiv date, so it is never "in the future" for the server.
    chrono::Utc::now().date_naive().to_string()
}

/// Registrations so far: each application names its own person, as real applications do (one
/// person for all of them would make every registration's duplicate check read every earlier
/// case: a cost that grows with the run, not one a region sees).
static APPLICANTS: AtomicU64 = AtomicU64::new(0);

fn application(office: &str, day: &str) -> Value {
    let n = APPLICANTS.fetch_add(1, Ordering::Relaxed);
    let full_name = format!("Марʼяна Коваль {n}");
    json!({
        "received_on": day,
        "office": office,
        "filed_by": "self",
        "applicant": { "sex": "female", "birth_year": 1990, "citizenship": "ukrainian", "speaks_ukrainian_or_russian": true, "interpreter_used": false },
        "referral": { "source": "hotline", "organisation": "La Strada hotline 527", "referred_on": day },
        "exploitation": { "forms": ["labour"], "country": "PL" },
        "documents": [{ "kind": "identity_document", "note": "passport copy" }],
        "rights_explained": true,
        "person": { "full_name": full_name, "birth_date": "1990-04-02", "contacts": "+380 67 000 0000", "id_document": "FE123456" }
    })
}

/// One HTTP answer.
#[derive(Debug)]
struct Resp {
    status: u16,
    etag: String,
    body: Value,
    /// A `Retry-After` header was present.
    retry_after: bool,
    content_type: String,
}

#[derive(Debug, Clone)]
struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    fn new(base: &str) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(256)
            .build()
            .unwrap();
        Self {
            http,
            base: base.trim_end_matches('/').to_string(),
        }
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Res<Resp> {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.body(b);
        }
        let r = req.send().await.map_err(|e| format!("{e}"))?;
        let status = r.status().as_u16();
        let etag = r
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let retry_after = r.headers().contains_key("retry-after");
        let content_type = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let bytes = r.bytes().await.map_err(|e| format!("{e}"))?;
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Ok(Resp {
            status,
            etag,
            body,
            retry_after,
            content_type,
        })
    }

    async fn get(&self, path: &str, token: &str) -> Res<Resp> {
        self.send(reqwest::Method::GET, path, Some(token), &[], None)
            .await
    }

    async fn post(
        &self,
        path: &str,
        token: &str,
        headers: &[(&str, &str)],
        body: &Value,
    ) -> Res<Resp> {
        let mut h = vec![("content-type", "application/json")];
        h.extend_from_slice(headers);
        self.send(
            reqwest::Method::POST,
            path,
            Some(token),
            &h,
            Some(serde_json::to_vec(body).unwrap()),
        )
        .await
    }
}

/// One step of a case's life: who, what, and the body (given the case view so far).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Register,
    ReadCase,
    Consent,
    ConsentPolice,
    Interview,
    Queue,
    RequestVerification,
    VerificationReply,
    SubmitFile,
    Decision,
}

const LIFE: [Step; 11] = [
    Step::Register,
    Step::ReadCase,
    Step::Consent,
    Step::ConsentPolice,
    Step::Interview,
    Step::Queue,
    Step::RequestVerification,
    Step::VerificationReply,
    Step::SubmitFile,
    Step::ReadCase,
    Step::Decision,
];

impl Step {
    fn action(self) -> Option<&'static str> {
        Some(match self {
            Step::Consent | Step::ConsentPolice => "record-consent",
            Step::Interview => "record-interview",
            Step::RequestVerification => "request-verification",
            Step::VerificationReply => "record-verification-reply",
            Step::SubmitFile => "submit-file",
            Step::Decision => "record-decision",
            _ => return None,
        })
    }
    fn event_type(self) -> &'static str {
        match self {
            Step::Register => "application_registered",
            Step::Consent | Step::ConsentPolice => "consent_given",
            Step::Interview => "interview_recorded",
            Step::RequestVerification => "verification_requested",
            Step::VerificationReply => "verification_reply_recorded",
            Step::SubmitFile => "file_submitted",
            Step::Decision => "status_granted",
            _ => "",
        }
    }
    fn name(self) -> &'static str {
        match self {
            Step::Register => "register",
            s => s.action().unwrap_or("read"),
        }
    }
    /// The step's name in the per-step latency lines.
    fn label(self) -> &'static str {
        match self {
            Step::ReadCase => "read case",
            Step::Queue => "work queue",
            s => s.name(),
        }
    }
    fn from_name(s: &str) -> Option<Step> {
        Some(match s {
            "register" => Step::Register,
            "record-consent" => Step::Consent,
            "record-interview" => Step::Interview,
            "request-verification" => Step::RequestVerification,
            "record-verification-reply" => Step::VerificationReply,
            "submit-file" => Step::SubmitFile,
            "record-decision" => Step::Decision,
            _ => return None,
        })
    }
    fn body(self, day: &str, view: &Value) -> Value {
        match self {
            Step::Consent => {
                json!({"occurred_on": day, "scope": "status_procedure", "given_by": "person"})
            }
            Step::ConsentPolice => {
                json!({"occurred_on": day, "scope": "share_with_police", "given_by": "person"})
            }
            Step::Interview => {
                json!({"occurred_on": day, "consent_signed_by": "person", "non_disclosure_receipt_signed": true})
            }
            Step::RequestVerification => json!({"occurred_on": day, "to": "national_police"}),
            Step::VerificationReply => {
                let rid = view["verification_requests"][0]["request_id"]
                    .as_str()
                    .unwrap_or("vr-1")
                    .to_string();
                json!({"occurred_on": day, "request_id": rid, "outcome": "confirms"})
            }
            Step::SubmitFile => json!({"occurred_on": day, "conclusion": "recommend_grant"}),
            Step::Decision => {
                json!({"occurred_on": day, "outcome": "granted", "certificate_no": "NSS-2026-0042"})
            }
            _ => Value::Null,
        }
    }
}

// ---------------------------------------------------------------- the server process

#[derive(Debug)]
struct Server {
    child: Child,
    base: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Server {
    async fn start(ptl: &Path, url: &str, data_dir: &Path, log: &Path) -> Res<Self> {
        let port = free_port();
        let log = std::fs::File::create(log).map_err(|e| e.to_string())?;
        let child = Command::new(ptl)
            .arg("--database-url")
            .arg(url)
            .arg("--data-dir")
            .arg(data_dir)
            .arg("serve")
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            // PTL_BENCH_SERVER_LOG sets the server's log filter for a diagnosis run (for example
            // `warn,sqlx::query=debug` counts statements per request); the log stays "warn" else.
            .env(
                "RUST_LOG",
                std::env::var("PTL_BENCH_SERVER_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", ptl.display()))?;
        let base = format!("http://127.0.0.1:{port}");
        let mut s = Self { child, base };
        let http = reqwest::Client::new();
        for _ in 0..300 {
            if let Ok(r) = http.get(format!("{}/healthz", s.base)).send().await {
                if r.status().is_success() {
                    return Ok(s);
                }
            }
            if let Ok(Some(st)) = s.child.try_wait() {
                return Err(format!("ptl serve exited: {st}"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = s.child.kill();
        Err("ptl serve did not become healthy in 30 s".into())
    }

    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    }

    fn stop(mut self) {
        // SIGTERM first (graceful), then wait.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn mint(
    ptl: &Path,
    url: &str,
    data_dir: &Path,
    sub: &str,
    role: &str,
    office: &str,
) -> Res<String> {
    let out = Command::new(ptl)
        .arg("--database-url")
        .arg(url)
        .arg("--data-dir")
        .arg(data_dir)
        .args(["token", "--sub", sub, "--role", role, "--office", office])
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "ptl token failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

// ---------------------------------------------------------------- http benchmark

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
        // A fresh database on the same server, with the same parameters (`?sslmode=...`), dropped
        // at the end (also if the run panics).
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
        // As before the kit: a database that cannot be dropped does not fail the run.
        let _ = database.remove().await;
    }
    result
}

async fn http_bench(
    secs: u64,
    clients: Vec<usize>,
    store: String,
    ptl: PathBuf,
    pg_url: String,
) -> Res<()> {
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

// ---------------------------------------------------------------- ack-load, probe and check

/// What a load run saw: statuses, `Retry-After`, latencies, and when failures happened.
#[derive(Debug, Default)]
struct Tallies {
    requests: u64,
    by_status: BTreeMap<u16, u64>,
    transport: u64,
    first_transport: Option<String>,
    no_retry_after_503: u64,
    non_problem_5xx: u64,
    /// The first answer of each non-2xx status (what, status, code).
    samples: BTreeMap<u16, String>,
    /// 5xx answers other than 503, by request and status.
    other_5xx: BTreeMap<String, u64>,
    max_us: u64,
    max_failed_us: u64,
    slowest: String,
    over_bound: u64,
    first_failure_ms: Option<u64>,
    last_failure_ms: Option<u64>,
    ok_after_last_failure: u64,
    reads_ok: u64,
    reads_failed: u64,
}

#[derive(Debug)]
struct Recorder {
    started: Instant,
    bound_ms: Option<u64>,
    t: std::sync::Mutex<Tallies>,
}

impl Recorder {
    fn new(bound_ms: Option<u64>) -> Self {
        Self {
            started: Instant::now(),
            bound_ms,
            t: std::sync::Mutex::new(Tallies::default()),
        }
    }

    fn record(&self, what: &str, read: bool, r: &Res<Resp>, took: Duration) {
        let us = took.as_micros() as u64;
        let now_ms = self.started.elapsed().as_millis() as u64;
        let mut t = self.t.lock().unwrap();
        t.requests += 1;
        let shown = match r {
            Ok(r) => r.status.to_string(),
            Err(_) => "transport error".to_string(),
        };
        if us > t.max_us {
            t.max_us = us;
            t.slowest = format!("{what} -> {shown}");
        }
        if self.bound_ms.is_some_and(|b| us > b * 1000) {
            t.over_bound += 1;
            eprintln!(
                "over the latency bound: {what} -> {shown} after {:.0} ms (at {:.1} s)",
                us as f64 / 1000.0,
                now_ms as f64 / 1000.0
            );
        }
        let failed = match r {
            Ok(r) => {
                *t.by_status.entry(r.status).or_default() += 1;
                if r.status >= 500 {
                    if r.status != 503 {
                        *t.other_5xx
                            .entry(format!("{what} -> {}", r.status))
                            .or_default() += 1;
                    }
                    if r.status == 503 && !r.retry_after {
                        t.no_retry_after_503 += 1;
                    }
                    if !r.content_type.starts_with("application/problem+json") {
                        t.non_problem_5xx += 1;
                    }
                }
                if !(200..300).contains(&r.status) {
                    let code = r.body["code"]
                        .as_str()
                        .map(String::from)
                        .unwrap_or_else(|| {
                            let b = r.body.to_string();
                            format!(
                                "(not a problem: {:?})",
                                b.chars().take(80).collect::<String>()
                            )
                        });
                    let ra = if r.retry_after { ", Retry-After" } else { "" };
                    let ct = &r.content_type;
                    t.samples
                        .entry(r.status)
                        .or_insert_with(|| format!("{what} -> {} {code} ({ct}{ra})", r.status));
                }
                r.status >= 500
            }
            Err(e) => {
                t.transport += 1;
                if t.first_transport.is_none() {
                    t.first_transport = Some(format!("{what}: {e}"));
                }
                true
            }
        };
        if failed {
            t.max_failed_us = t.max_failed_us.max(us);
            t.first_failure_ms.get_or_insert(now_ms);
            t.last_failure_ms = Some(now_ms);
            t.ok_after_last_failure = 0;
        } else if r.as_ref().is_ok_and(|r| (200..300).contains(&r.status)) {
            t.ok_after_last_failure += 1;
        }
        if read {
            if r.as_ref().is_ok_and(|r| (200..300).contains(&r.status)) {
                t.reads_ok += 1;
            } else {
                t.reads_failed += 1;
            }
        }
    }

    /// Prints what was seen and returns the violations of `policy`.
    fn report(&self, name: &str, policy: &PolicyArgs) -> Vec<String> {
        let t = self.t.lock().unwrap();
        let statuses = t
            .by_status
            .iter()
            .map(|(s, n)| format!("{s}={n}"))
            .collect::<Vec<_>>()
            .join(" ");
        let n503 = t.by_status.get(&503).copied().unwrap_or(0);
        let n5xx: u64 = t.by_status.range(500..600).map(|(_, n)| n).sum();
        let other_5xx = n5xx - n503;
        println!(
            "{name} statuses: {statuses}; transport errors {}; 503 with Retry-After {}/{n503}; 5xx not problem+json {}",
            t.transport,
            n503 - t.no_retry_after_503,
            t.non_problem_5xx
        );
        if t.reads_ok + t.reads_failed > 0 {
            println!(
                "{name} reads: {} answered 2xx, {} failed",
                t.reads_ok, t.reads_failed
            );
        }
        let bound = policy
            .max_latency_ms
            .map(|b| format!("; over {b} ms: {}", t.over_bound))
            .unwrap_or_default();
        println!(
            "{name} latency: max {:.1} ms ({}), max of failed requests {:.1} ms{bound}",
            t.max_us as f64 / 1000.0,
            t.slowest,
            t.max_failed_us as f64 / 1000.0
        );
        match (t.first_failure_ms, t.last_failure_ms) {
            (Some(a), Some(b)) => println!(
                "{name} failures from {:.1} s to {:.1} s; 2xx answers after the last failure: {}",
                a as f64 / 1000.0,
                b as f64 / 1000.0,
                t.ok_after_last_failure
            ),
            _ => println!("{name} no failed request"),
        }
        for s in t.samples.values() {
            println!("{name} first {s}");
        }
        if let Some(e) = &t.first_transport {
            println!("{name} first transport error: {e}");
        }
        let mut v = Vec::new();
        if t.over_bound > 0 {
            v.push(format!(
                "{} requests took longer than {} ms",
                t.over_bound,
                policy.max_latency_ms.unwrap_or(0)
            ));
        }
        if policy.only_503 {
            if other_5xx > 0 {
                let which = t
                    .other_5xx
                    .iter()
                    .map(|(w, n)| format!("{w} x{n}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                v.push(format!(
                    "{other_5xx} answers were a 5xx other than 503 ({which})"
                ));
            }
            if t.no_retry_after_503 > 0 {
                v.push(format!("{} 503s without Retry-After", t.no_retry_after_503));
            }
            if t.non_problem_5xx > 0 {
                v.push(format!(
                    "{} 5xx answers were not problem+json",
                    t.non_problem_5xx
                ));
            }
        }
        if policy.no_transport_errors && t.transport > 0 {
            v.push(format!("{} transport errors", t.transport));
        }
        if policy.require_resume && t.last_failure_ms.is_some() && t.ok_after_last_failure == 0 {
            v.push(
                "no request succeeded after the last failure: the service did not resume".into(),
            );
        }
        if policy.require_failures && t.first_failure_ms.is_none() {
            v.push("no request failed: the fault did not happen".into());
        }
        v
    }
}

/// Shared state of one load run.
#[derive(Debug)]
struct Load {
    api: Api,
    cw: String,
    nss: String,
    deadline: Instant,
    drain_deadline: Instant,
    log: std::sync::Mutex<std::fs::File>,
    sent: AtomicU64,
    acked: AtomicU64,
    refused: AtomicU64,
    abandoned: AtomicU64,
    rec: Recorder,
    /// Acknowledgements whose `ETag` is not the returned version (the next `If-Match` is wrong).
    bad_etags: AtomicU64,
    /// Cases whose registration was acknowledged (for the readers).
    cases: std::sync::Mutex<Vec<String>>,
}

impl Load {
    fn new(
        base: &str,
        cw: String,
        nss: String,
        ack_log: &Path,
        secs: u64,
        policy: &PolicyArgs,
    ) -> Res<Self> {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(ack_log)
            .map_err(|e| format!("{}: {e}", ack_log.display()))?;
        let deadline = Instant::now() + Duration::from_secs(secs);
        Ok(Self {
            api: Api::new(base),
            cw,
            nss,
            deadline,
            drain_deadline: deadline + Duration::from_secs(policy.drain_secs),
            log: std::sync::Mutex::new(f),
            sent: AtomicU64::new(0),
            acked: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            abandoned: AtomicU64::new(0),
            rec: Recorder::new(policy.max_latency_ms),
            bad_etags: AtomicU64::new(0),
            cases: std::sync::Mutex::new(Vec::new()),
        })
    }
}

/// One writer: case lives, every POST with its own `Idempotency-Key`, retried with the same key
/// until it is answered; every acknowledged action goes to the log.
async fn ack_client(l: Arc<Load>) {
    let day = today();
    'lives: while Instant::now() < l.deadline {
        let mut id = String::new();
        let mut etag = String::new();
        let mut view = Value::Null;
        for step in LIFE {
            if matches!(step, Step::ReadCase | Step::Queue) {
                continue;
            }
            let key = uuid::Uuid::new_v4().to_string();
            // One body per action, built before the first attempt: a retry must send the same
            // request, or its Idempotency-Key is (rightly) refused as reused.
            let body = match step {
                Step::Register => application(OFFICE, &day),
                s => s.body(&day, &view),
            };
            let mut attempts = 0u32;
            // Retry the same request (same Idempotency-Key) until it is answered; after the
            // deadline, only an unanswered request is retried (until the drain deadline).
            let r = loop {
                let now = Instant::now();
                if attempts == 0 && now >= l.deadline {
                    break 'lives;
                }
                if attempts > 0 && now >= l.drain_deadline {
                    l.abandoned.fetch_add(1, Ordering::Relaxed);
                    eprintln!(
                        "ack-load: {} (key {key}) still unanswered at the drain deadline",
                        step.name()
                    );
                    break 'lives;
                }
                attempts += 1;
                l.sent.fetch_add(1, Ordering::Relaxed);
                let started = Instant::now();
                let r = match step {
                    Step::Register => {
                        l.api
                            .post(
                                "/api/v1/cases",
                                &l.cw,
                                &[("idempotency-key", key.as_str())],
                                &body,
                            )
                            .await
                    }
                    s => {
                        let token = if s == Step::Decision { &l.nss } else { &l.cw };
                        l.api
                            .post(
                                &format!("/api/v1/cases/{id}/actions/{}", s.action().unwrap()),
                                token,
                                &[
                                    ("if-match", etag.as_str()),
                                    ("idempotency-key", key.as_str()),
                                ],
                                &body,
                            )
                            .await
                    }
                };
                l.rec.record(step.name(), false, &r, started.elapsed());
                match r {
                    Ok(r) if r.status < 500 && r.status != 409 => break r,
                    _ => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            };
            if !(200..300).contains(&r.status) {
                l.refused.fetch_add(1, Ordering::Relaxed);
                eprintln!(
                    "ack-load: {} on case {id} (If-Match {etag}, attempt {attempts}) refused {}: {}",
                    step.name(),
                    r.status,
                    r.body
                );
                continue 'lives;
            }
            if step == Step::Register {
                id = r.body["id"].as_str().unwrap_or_default().to_string();
                l.cases.lock().unwrap().push(id.clone());
            }
            let version = r.body["version"].as_u64().unwrap_or(0);
            if r.etag != format!("\"{version}\"") {
                l.bad_etags.fetch_add(1, Ordering::Relaxed);
                eprintln!(
                    "ack-load: {} on case {id} acknowledged {} with ETag {:?} but version {version} (attempt {attempts})",
                    step.name(),
                    r.status,
                    r.etag
                );
            }
            etag = r.etag.clone();
            {
                let mut f = l.log.lock().unwrap();
                // One write(2) per line: the script appends its own lines to the same file
                // (O_APPEND), and a line written in pieces could be split by one of those.
                let line = format!("{id}\t{}\t{version}\t{key}\n", step.name());
                let _ = f.write_all(line.as_bytes());
            }
            l.acked.fetch_add(1, Ordering::Relaxed);
            view = r.body;
        }
    }
}

/// One reader: reads a recent case, its events, the work queue, the deadlines and the
/// statistics in turn until the deadline.
async fn reader(l: Arc<Load>, token: String, n: usize) {
    let mut i = n;
    while Instant::now() < l.deadline {
        let id = l.cases.lock().unwrap().last().cloned();
        let (path, what) = match (i % 5, id) {
            (0, Some(id)) => (format!("/api/v1/cases/{id}"), "GET /cases/{id}"),
            (1, Some(id)) => (
                format!("/api/v1/cases/{id}/events"),
                "GET /cases/{id}/events",
            ),
            (2, _) => ("/api/v1/deadlines?limit=20".to_string(), "GET /deadlines"),
            (3, _) => ("/api/v1/stats?office=UA".to_string(), "GET /stats"),
            _ => ("/api/v1/cases?limit=20".to_string(), "GET /cases"),
        };
        i += 1;
        let started = Instant::now();
        let r = l.api.get(&path, &token).await;
        l.rec.record(what, true, &r, started.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn run_load(
    name: &str,
    l: Arc<Load>,
    writers: usize,
    readers: usize,
    token_read: Option<String>,
    policy: &PolicyArgs,
) -> Res<()> {
    let mut hs: Vec<_> = (0..writers)
        .map(|_| tokio::spawn(ack_client(l.clone())))
        .collect();
    if let Some(t) = token_read {
        hs.extend((0..readers).map(|n| tokio::spawn(reader(l.clone(), t.clone(), n))));
    }
    for h in hs {
        h.await.map_err(|e| e.to_string())?;
    }
    println!(
        "{name}: sent {} requests (with retries), acknowledged {}, refused {}, abandoned at the drain deadline {}",
        l.rec.t.lock().unwrap().requests,
        l.acked.load(Ordering::Relaxed),
        l.refused.load(Ordering::Relaxed),
        l.abandoned.load(Ordering::Relaxed)
    );
    let mut violations = l.rec.report(name, policy);
    let bad_etags = l.bad_etags.load(Ordering::Relaxed);
    if bad_etags > 0 {
        violations.push(format!(
            "{bad_etags} acknowledgements carried an ETag other than the returned version"
        ));
    }
    for v in &violations {
        println!("{name} VIOLATION {v}");
    }
    if !violations.is_empty() {
        return Err(format!("{name}: {}", violations.join("; ")));
    }
    Ok(())
}

async fn ack_load(
    base: String,
    cw: String,
    nss: String,
    ack_log: PathBuf,
    secs: u64,
    clients: usize,
    policy: PolicyArgs,
) -> Res<()> {
    let l = Arc::new(Load::new(&base, cw, nss, &ack_log, secs, &policy)?);
    run_load("ack-load", l, clients, 0, None, &policy).await
}

#[allow(clippy::too_many_arguments)]
async fn probe(
    base: String,
    cw: String,
    nss: String,
    token_read: String,
    ack_log: PathBuf,
    secs: u64,
    writers: usize,
    readers: usize,
    policy: PolicyArgs,
) -> Res<()> {
    let l = Arc::new(Load::new(&base, cw, nss, &ack_log, secs, &policy)?);
    run_load("probe", l, writers, readers, Some(token_read), &policy).await
}

/// Cases and event counts in the store itself, by case id.
async fn store_counts(url: &str) -> Res<BTreeMap<String, u64>> {
    let rows: Vec<(String, i64)> = if url.starts_with("sqlite://") {
        let mut c = sqlx::SqliteConnection::connect(&format!("{url}?mode=ro"))
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        sqlx::query_as("SELECT aggregate_id, COUNT(*) FROM case_events GROUP BY aggregate_id")
            .fetch_all(&mut c)
            .await
            .map_err(|e| e.to_string())?
    } else {
        let mut c = PgConnection::connect(url)
            .await
            .map_err(|e| format!("PostgreSQL: {e}"))?;
        sqlx::query_as(
            "SELECT aggregate_id::text, COUNT(*)::bigint FROM case_events GROUP BY aggregate_id",
        )
        .fetch_all(&mut c)
        .await
        .map_err(|e| e.to_string())?
    };
    Ok(rows
        .into_iter()
        .map(|(id, n)| (id, u64::try_from(n).unwrap_or(0)))
        .collect())
}

async fn check(
    base: String,
    token: String,
    ack_log: PathBuf,
    database_url: Option<String>,
) -> Res<()> {
    let api = Api::new(&base);
    let text = std::fs::read_to_string(&ack_log).map_err(|e| e.to_string())?;
    let mut by_case: BTreeMap<String, Vec<(String, u64)>> = BTreeMap::new();
    let mut acks = 0u64;
    for line in text.lines().filter(|l| !l.is_empty()) {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() < 3 {
            return Err(format!("bad ack line: {line}"));
        }
        let v: u64 = f[2].parse().map_err(|_| format!("bad version: {line}"))?;
        by_case
            .entry(f[0].to_string())
            .or_default()
            .push((f[1].to_string(), v));
        acks += 1;
    }
    let mut losses = 0u64;
    let mut problems = Vec::new();
    let mut events_total = 0u64;
    for (id, list) in &by_case {
        let r = api
            .get(&format!("/api/v1/cases/{id}/events"), &token)
            .await?;
        if r.status != 200 {
            losses += list.len() as u64;
            problems.push(format!("case {id}: events read {}", r.status));
            continue;
        }
        let events = r.body["events"].as_array().cloned().unwrap_or_default();
        events_total += events.len() as u64;
        let mut by_seq: HashMap<u64, String> = HashMap::new();
        for (i, e) in events.iter().enumerate() {
            let seq = e["sequence"].as_u64().unwrap_or(0);
            if seq != i as u64 + 1 {
                problems.push(format!("case {id}: gap, event #{i} has sequence {seq}"));
            }
            if by_seq
                .insert(seq, e["type"].as_str().unwrap_or("").to_string())
                .is_some()
            {
                problems.push(format!("case {id}: sequence {seq} twice"));
            }
        }
        let mut seen_versions = HashMap::new();
        for (action, v) in list {
            if let Some(prev) = seen_versions.insert(*v, action.clone()) {
                problems.push(format!(
                    "case {id}: version {v} acknowledged twice ({prev}, {action})"
                ));
            }
            let want = Step::from_name(action)
                .map(|s| s.event_type())
                .unwrap_or("");
            match by_seq.get(v) {
                Some(t) if t == want => {}
                Some(t) => {
                    losses += 1;
                    problems.push(format!(
                        "case {id}: {action} acknowledged at version {v} but the event there is {t}"
                    ));
                }
                None => {
                    losses += 1;
                    problems.push(format!(
                        "case {id}: {action} acknowledged at version {v} is missing"
                    ));
                }
            }
        }
        // Exactly once: an action type appears no more often than the procedure lets it
        // (consent twice: status procedure and police; everything else once).
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for t in by_seq.values() {
            *counts.entry(t.as_str()).or_default() += 1;
        }
        for (t, n) in counts {
            let max = if t == "consent_given" { 2 } else { 1 };
            if n > max && t != "deadline_missed" {
                problems.push(format!("case {id}: {t} recorded {n} times"));
            }
        }
    }
    // Nothing else: the store holds no case and no event that was not acknowledged.
    let mut store_line = None;
    if let Some(url) = &database_url {
        let counts = store_counts(url).await?;
        let events: u64 = counts.values().sum();
        let mut unacked_events = 0u64;
        let mut unacked_cases = 0u64;
        for (id, n) in &counts {
            match by_case.get(id) {
                None => {
                    unacked_cases += 1;
                    unacked_events += n;
                    problems.push(format!(
                        "case {id}: {n} events in the store, none acknowledged"
                    ));
                }
                Some(list) => {
                    let acked: std::collections::HashSet<u64> =
                        list.iter().map(|(_, v)| *v).collect();
                    let extra = n.saturating_sub(acked.len() as u64);
                    if extra > 0 {
                        unacked_events += extra;
                        problems.push(format!(
                            "case {id}: {n} events in the store, {} acknowledged",
                            acked.len()
                        ));
                    }
                }
            }
        }
        for id in by_case.keys() {
            if !counts.contains_key(id) {
                problems.push(format!("case {id}: acknowledged but not in the store"));
            }
        }
        store_line = Some(format!(
            "check: the store holds {} cases and {events} events; not acknowledged: {unacked_events} events, {unacked_cases} cases",
            counts.len()
        ));
    }
    for p in problems.iter().take(20) {
        println!("PROBLEM {p}");
    }
    if let Some(l) = store_line {
        println!("{l}");
    }
    println!(
        "check: {acks} acknowledged writes on {} cases checked against {events_total} events; losses {losses}; problems {}",
        by_case.len(),
        problems.len()
    );
    if losses > 0 || !problems.is_empty() {
        return Err("acknowledged writes lost or streams damaged".into());
    }
    Ok(())
}

// ---------------------------------------------------------------- race

async fn race(base: String, cw: String, clients: usize, rounds: usize) -> Res<()> {
    let api = Api::new(&base);
    let day = today();
    let r = api
        .post("/api/v1/cases", &cw, &[], &application(OFFICE, &day))
        .await?;
    if r.status != 201 {
        return Err(format!("register: {} {}", r.status, r.body));
    }
    let id = r.body["id"].as_str().unwrap_or_default().to_string();
    let mut etag = r.etag;
    let mut sent = 0u64;
    let mut bad = 0u64;
    for round in 0..rounds {
        let go = Arc::new(tokio::sync::Barrier::new(clients));
        let hs: Vec<_> = (0..clients)
            .map(|i| {
                let (api, cw, id, etag, day, go) = (
                    api.clone(),
                    cw.clone(),
                    id.clone(),
                    etag.clone(),
                    day.clone(),
                    go.clone(),
                );
                tokio::spawn(async move {
                    go.wait().await;
                    api.post(
                        &format!("/api/v1/cases/{id}/actions/add-note"),
                        &cw,
                        &[("if-match", etag.as_str())],
                        &json!({"occurred_on": day, "text": format!("round {round} client {i}")}),
                    )
                    .await
                })
            })
            .collect();
        let mut ok = Vec::new();
        let mut other = 0;
        for h in hs {
            sent += 1;
            match h.await.map_err(|e| e.to_string())? {
                Ok(r) if r.status == 200 => ok.push(r.etag),
                Ok(r) if r.status == 412 => {}
                Ok(r) => {
                    other += 1;
                    eprintln!("race: unexpected {} {}", r.status, r.body);
                }
                Err(e) => {
                    other += 1;
                    eprintln!("race: {e}");
                }
            }
        }
        if ok.len() != 1 || other > 0 {
            bad += 1;
            eprintln!(
                "race round {round}: {} successes, {other} other answers",
                ok.len()
            );
        }
        if let Some(e) = ok.pop() {
            etag = e;
        } else {
            etag = api.get(&format!("/api/v1/cases/{id}"), &cw).await?.etag;
        }
    }
    let v = api.get(&format!("/api/v1/cases/{id}"), &cw).await?;
    let version = v.body["version"].as_u64().unwrap_or(0);
    let expected = 1 + rounds as u64;
    println!(
        "race: {rounds} rounds x {clients} clients on one case, {sent} requests; bad rounds {bad}; final version {version} (expected {expected})"
    );
    if bad > 0 || version != expected {
        return Err("not exactly one success per version".into());
    }
    Ok(())
}

// ---------------------------------------------------------------- hostile

fn b64(v: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v)
}

fn claims(exp_offset: i64) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({"sub": "cw-evil", "name": "cw-evil", "role": "caseworker", "office": "UA", "exp": now + exp_offset, "iat": now, "jti": uuid::Uuid::new_v4().simple().to_string()})
}

fn sign(secret: &[u8], c: &Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        c,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .unwrap()
}

async fn hostile(
    base: String,
    cw: String,
    other: String,
    ua: String,
    data_dir: PathBuf,
) -> Res<()> {
    let api = Api::new(&base);
    let day = today();
    let r = api
        .post("/api/v1/cases", &cw, &[], &application(OFFICE, &day))
        .await?;
    if r.status != 201 {
        return Err(format!("register: {} {}", r.status, r.body));
    }
    let id = r.body["id"].as_str().unwrap_or_default().to_string();
    let etag = r.etag.clone();
    let stats_path = "/api/v1/stats?office=UA";
    let stats_before = api.get(stats_path, &ua).await?.body;
    let queue_before = api.get("/api/v1/cases?limit=200", &ua).await?.body;

    let (keys, _) = ptl_engine::keys::load_or_create(&data_dir).map_err(|e| e.to_string())?;
    let real_secret = keys.jwt_secret().to_vec();
    let forged = sign(
        b"not-the-server-secret-not-the-server-secret",
        &claims(3600),
    );
    let expired = sign(&real_secret, &claims(-3600));
    let alg_none = format!(
        "{}.{}.",
        b64(br#"{"alg":"none","typ":"JWT"}"#),
        b64(claims(3600).to_string().as_bytes())
    );
    let valid_claims_bad_sig = {
        let t = sign(&real_secret, &claims(3600));
        let mut parts: Vec<String> = t.split('.').map(String::from).collect();
        parts[1] = b64(
            json!({"sub":"cw-evil","name":"x","role":"admin","office":"UA","exp": chrono::Utc::now().timestamp()+3600})
                .to_string()
                .as_bytes(),
        );
        parts.join(".")
    };

    let register = "/api/v1/cases".to_string();
    let action = format!("/api/v1/cases/{id}/actions/record-consent");
    let consent = serde_json::to_vec(
        &json!({"occurred_on": day, "scope": "status_procedure", "given_by": "person"}),
    )
    .unwrap();
    let app_body = serde_json::to_vec(&application(OFFICE, &day)).unwrap();
    let mut big = application(OFFICE, &day);
    big["documents"][0]["note"] = Value::String("x".repeat(2 * 1024 * 1024));
    let deep = format!("{}{}", "[".repeat(200_000), "]".repeat(200_000));
    let mut invalid_utf8 = br#"{"occurred_on": ""#.to_vec();
    invalid_utf8.extend_from_slice(&[0xff, 0xfe, 0xc3, 0x28]);
    invalid_utf8.extend_from_slice(br#"", "scope": "status_procedure", "given_by": "person"}"#);
    let sql_office = {
        let mut a = application("UA7102'; DROP TABLE events; --", &day);
        a["referral"]["source"] = json!("hotline' OR '1'='1");
        serde_json::to_vec(&a).unwrap()
    };
    let sql_scope = serde_json::to_vec(
        &json!({"occurred_on": day, "scope": "status_procedure' OR 1=1 --", "given_by": "person"}),
    )
    .unwrap();
    let sql_date = serde_json::to_vec(&json!({"occurred_on": "2026-01-01'); DELETE FROM events; --", "scope": "status_procedure", "given_by": "person"})).unwrap();
    let m = etag.as_str();
    let ct = ("content-type", "application/json");
    type Case<'a> = (
        &'a str,
        reqwest::Method,
        String,
        Option<String>,
        Vec<(&'a str, &'a str)>,
        Option<Vec<u8>>,
    );
    use reqwest::Method as M;
    let cases: Vec<Case> = vec![
        ("oversized body (2 MiB)", M::POST, register.clone(), Some(cw.clone()), vec![ct], Some(serde_json::to_vec(&big).unwrap())),
        ("oversized action body", M::POST, action.clone(), Some(cw.clone()), vec![ct, ("if-match", m)], Some(vec![b' '; 3 * 1024 * 1024])),
        ("deep JSON (200k levels)", M::POST, action.clone(), Some(cw.clone()), vec![ct, ("if-match", m)], Some(deep.clone().into_bytes())),
        ("deep JSON on register", M::POST, register.clone(), Some(cw.clone()), vec![ct], Some(deep.into_bytes())),
        ("invalid UTF-8", M::POST, action.clone(), Some(cw.clone()), vec![ct, ("if-match", m)], Some(invalid_utf8)),
        ("truncated JSON", M::POST, action.clone(), Some(cw.clone()), vec![ct, ("if-match", m)], Some(consent[..consent.len() / 2].to_vec())),
        ("SQL in office and enum", M::POST, register.clone(), Some(cw.clone()), vec![ct], Some(sql_office)),
        ("SQL in consent scope", M::POST, action.clone(), Some(cw.clone()), vec![ct, ("if-match", m)], Some(sql_scope)),
        ("SQL in a date", M::POST, action.clone(), Some(cw.clone()), vec![ct, ("if-match", m)], Some(sql_date)),
        ("SQL in the case id", M::POST, "/api/v1/cases/1'%20OR%20'1'='1/actions/record-consent".into(), Some(cw.clone()), vec![ct, ("if-match", m)], Some(consent.clone())),
        ("SQL in a query parameter", M::GET, "/api/v1/cases?stage=registered'%20OR%201=1--".into(), Some(cw.clone()), vec![], None),
        ("SQL in If-Match", M::POST, action.clone(), Some(cw.clone()), vec![ct, ("if-match", "\"1' OR '1'='1\"")], Some(consent.clone())),
        ("no token", M::POST, action.clone(), None, vec![ct, ("if-match", m)], Some(consent.clone())),
        ("forged token (wrong key)", M::POST, action.clone(), Some(forged.clone()), vec![ct, ("if-match", m)], Some(consent.clone())),
        ("forged token on register", M::POST, register.clone(), Some(forged), vec![ct], Some(app_body.clone())),
        ("expired token (real key)", M::POST, action.clone(), Some(expired.clone()), vec![ct, ("if-match", m)], Some(consent.clone())),
        ("expired token on register", M::POST, register.clone(), Some(expired), vec![ct], Some(app_body.clone())),
        ("alg none token", M::POST, action.clone(), Some(alg_none.clone()), vec![ct, ("if-match", m)], Some(consent.clone())),
        ("alg none token read", M::GET, format!("/api/v1/cases/{id}"), Some(alg_none), vec![], None),
        ("tampered claims", M::POST, action.clone(), Some(valid_claims_bad_sig), vec![ct, ("if-match", m)], Some(consent.clone())),
        ("garbage token", M::POST, action.clone(), Some("abc.def.ghi".into()), vec![ct, ("if-match", m)], Some(consent.clone())),
        ("another office's case: action", M::POST, action.clone(), Some(other.clone()), vec![ct, ("if-match", m)], Some(consent.clone())),
        ("another office's case: read", M::GET, format!("/api/v1/cases/{id}"), Some(other.clone()), vec![], None),
        ("another office's case: events", M::GET, format!("/api/v1/cases/{id}/events"), Some(other.clone()), vec![], None),
        ("register for another office", M::POST, register.clone(), Some(other.clone()), vec![ct], Some(app_body.clone())),
        ("wrong content type", M::POST, action.clone(), Some(cw.clone()), vec![("content-type", "text/plain"), ("if-match", m)], Some(consent.clone())),
        ("missing If-Match", M::POST, action.clone(), Some(cw.clone()), vec![ct], Some(consent.clone())),
        ("unknown field", M::POST, action.clone(), Some(cw.clone()), vec![ct, ("if-match", m)], Some(serde_json::to_vec(&json!({"occurred_on": day, "scope": "status_procedure", "given_by": "person", "admin": true})).unwrap())),
        ("future date", M::POST, action.clone(), Some(cw.clone()), vec![ct, ("if-match", m)], Some(serde_json::to_vec(&json!({"occurred_on": "2999-01-01", "scope": "status_procedure", "given_by": "person"})).unwrap())),
        ("path traversal action", M::POST, format!("/api/v1/cases/{id}/actions/..%2F..%2Fadmin"), Some(cw.clone()), vec![ct, ("if-match", m)], Some(consent.clone())),
    ];
    let mut refused = 0;
    let mut failures = Vec::new();
    let total = cases.len();
    for (name, method, path, token, headers, body) in cases {
        // An oversized body may be refused before the client finished sending it: the server
        // answers 413 and closes, and the client can see a broken pipe instead of the answer.
        // Retry a few times to read the 413; a connection the server closed on an oversized body
        // still counts as refused (the writes are checked below in any case).
        let mut r = api
            .send(
                method.clone(),
                &path,
                token.as_deref(),
                &headers,
                body.clone(),
            )
            .await;
        let oversized = name.starts_with("oversized");
        for _ in 0..5 {
            if !(oversized && r.is_err()) {
                break;
            }
            r = api
                .send(
                    method.clone(),
                    &path,
                    token.as_deref(),
                    &headers,
                    body.clone(),
                )
                .await;
        }
        if oversized {
            if let Err(e) = &r {
                refused += 1;
                println!(
                    "  {name:<34} connection closed by the server before the body was read ({e})"
                );
                continue;
            }
        }
        match r {
            Ok(r) if (400..500).contains(&r.status) => {
                refused += 1;
                println!(
                    "  {name:<34} {} {}",
                    r.status,
                    r.body["code"].as_str().unwrap_or("")
                );
            }
            Ok(r) => failures.push(format!("{name}: {} {}", r.status, r.body)),
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    // Nothing written.
    let after = api.get(&format!("/api/v1/cases/{id}"), &cw).await?;
    if after.body["version"].as_u64() != Some(1) {
        failures.push(format!(
            "the target case changed: version {}",
            after.body["version"]
        ));
    }
    let stats_after = api.get(stats_path, &ua).await?.body;
    if stats_after != stats_before {
        failures.push(format!(
            "statistics changed: {stats_before} -> {stats_after}"
        ));
    }
    let queue_after = api.get("/api/v1/cases?limit=200", &ua).await?.body;
    let n = |v: &Value| v["items"].as_array().map(|a| a.len()).unwrap_or(0);
    if n(&queue_after) != n(&queue_before) {
        failures.push(format!(
            "work queue changed: {} -> {} cases",
            n(&queue_before),
            n(&queue_after)
        ));
    }
    for f in &failures {
        println!("FAIL {f}");
    }
    println!(
        "hostile: {total} hostile requests, {refused} refused with 4xx, failures {}",
        failures.len()
    );
    if !failures.is_empty() {
        return Err("hostile input accepted or something written".into());
    }
    Ok(())
}

fn main() {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let r = rt.block_on(async move {
        match cli.cmd {
            Cmd::Http {
                secs,
                clients,
                store,
                ptl,
                pg_url,
            } => http_bench(secs, clients, store, ptl, pg_url).await,
            Cmd::AckLoad {
                base,
                token_cw,
                token_nss,
                ack_log,
                secs,
                clients,
                policy,
            } => ack_load(base, token_cw, token_nss, ack_log, secs, clients, policy).await,
            Cmd::Probe {
                base,
                token_cw,
                token_nss,
                token_read,
                ack_log,
                secs,
                writers,
                readers,
                policy,
            } => {
                probe(
                    base, token_cw, token_nss, token_read, ack_log, secs, writers, readers, policy,
                )
                .await
            }
            Cmd::Check {
                base,
                token,
                ack_log,
                database_url,
            } => check(base, token, ack_log, database_url).await,
            Cmd::Race {
                base,
                token_cw,
                clients,
                rounds,
            } => race(base, token_cw, clients, rounds).await,
            Cmd::Hostile {
                base,
                token_cw,
                token_other,
                token_ua,
                data_dir,
            } => hostile(base, token_cw, token_other, token_ua, data_dir).await,
        }
    });
    if let Err(e) = r {
        eprintln!("ptl-bench: {e}");
        std::process::exit(1);
    }
}
