//! The logged write load of `ack-load` and `probe`: writers that move cases through their lives
//! with an `Idempotency-Key` per request, retried until answered, and log every acknowledged
//! action; readers (for `probe`) that read what the writers wrote.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::client::Api;
use crate::life::{application, today, Step, LIFE, OFFICE};
use crate::recorder::{PolicyArgs, Recorder};
use crate::Res;

/// Shared state of one load run.
#[derive(Debug)]
pub struct Load {
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
    pub fn new(
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
            (3, _) => ("/api/v1/stats?office=UA71".to_string(), "GET /stats"),
            _ => ("/api/v1/cases?limit=20".to_string(), "GET /cases"),
        };
        i += 1;
        let started = Instant::now();
        let r = l.api.get(&path, &token).await;
        l.rec.record(what, true, &r, started.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub async fn run_load(
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
        l.rec.requests(),
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
