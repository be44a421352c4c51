//! What a load run saw (statuses, `Retry-After`, latencies, when failures happened) and the
//! policy it is held to: `ack-load` and `probe` print the report and fail on a violation.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::client::Resp;
use crate::Res;

/// What a load run must have seen (all off by default: `ack-load` only reports).
#[derive(Debug, Clone, clap::Args)]
pub struct PolicyArgs {
    /// Seconds a writer keeps retrying its unanswered request after the load's end (no new
    /// request is started), so that no write is left committed but unacknowledged.
    #[arg(long, default_value_t = 30)]
    pub drain_secs: u64,
    /// Fail if any request took longer than this (milliseconds).
    #[arg(long)]
    pub max_latency_ms: Option<u64>,
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
pub struct Recorder {
    started: Instant,
    bound_ms: Option<u64>,
    t: std::sync::Mutex<Tallies>,
}

impl Recorder {
    pub fn new(bound_ms: Option<u64>) -> Self {
        Self {
            started: Instant::now(),
            bound_ms,
            t: std::sync::Mutex::new(Tallies::default()),
        }
    }

    pub fn record(&self, what: &str, read: bool, r: &Res<Resp>, took: Duration) {
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

    /// The requests sent so far, retries included.
    pub fn requests(&self) -> u64 {
        self.t.lock().unwrap().requests
    }

    /// Prints what was seen and returns the violations of `policy`.
    pub fn report(&self, name: &str, policy: &PolicyArgs) -> Vec<String> {
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
