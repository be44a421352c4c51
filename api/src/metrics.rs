//! Prometheus metrics: request counts and latencies by route and status. Routes are the matched
//! patterns (`/api/v1/cases/{id}`), never the concrete paths, so no case id reaches a metric.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

use std::sync::Arc;

#[derive(Debug, Default, Clone, Copy)]
struct Series {
    count: u64,
    seconds: f64,
}

/// Counters kept in memory and rendered in the Prometheus text format.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), Series>>,
    /// Command outcomes by action and outcome (`recorded`, `refused`, `conflict`, `unavailable`, ...).
    commands: Mutex<BTreeMap<(String, String), u64>>,
    /// Time spent in the engine (store included) per operation.
    store: Mutex<BTreeMap<String, Series>>,
    /// Working-day deadlines counted past the last calendar year (weekends only).
    beyond_calendar: Mutex<u64>,
}

impl Metrics {
    /// Counts one command outcome.
    pub fn command(&self, action: &str, outcome: &str) {
        let mut m = self
            .commands
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *m.entry((action.to_string(), outcome.to_string()))
            .or_default() += 1;
    }

    /// Adds the time one engine operation took.
    pub fn store_time(&self, operation: &str, seconds: f64) {
        let mut m = self
            .store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let s = m.entry(operation.to_string()).or_default();
        s.count += 1;
        s.seconds += seconds;
    }

    /// Counts deadline explanations that ran past the calendar.
    pub fn beyond_calendar(&self) {
        *self
            .beyond_calendar
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) += 1;
    }

    fn record(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut m = self
            .requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let s = m
            .entry((method.to_string(), route.to_string(), status))
            .or_default();
        s.count += 1;
        s.seconds += seconds;
    }

    /// The metrics in Prometheus text format.
    #[must_use]
    pub fn render(&self) -> String {
        let m = self
            .requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = String::from(
            "# HELP ptl_http_requests_total HTTP requests by method, route and status.\n# TYPE ptl_http_requests_total counter\n",
        );
        for ((method, route, status), s) in m.iter() {
            let _ = writeln!(out, "ptl_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {}", s.count);
        }
        out.push_str("# HELP ptl_http_request_duration_seconds_sum Total time spent answering, by route.\n# TYPE ptl_http_request_duration_seconds_sum counter\n");
        for ((method, route, status), s) in m.iter() {
            let _ = writeln!(
                out,
                "ptl_http_request_duration_seconds_sum{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {:.6}",
                s.seconds
            );
        }
        out.push_str("# HELP ptl_commands_total Commands by action and outcome.\n# TYPE ptl_commands_total counter\n");
        for ((action, outcome), n) in self
            .commands
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
        {
            let _ = writeln!(
                out,
                "ptl_commands_total{{action=\"{action}\",outcome=\"{outcome}\"}} {n}"
            );
        }
        out.push_str("# HELP ptl_store_seconds_sum Time spent in the engine and store, by operation.\n# TYPE ptl_store_seconds_sum counter\n");
        out.push_str("# HELP ptl_store_operations_total Engine and store operations.\n# TYPE ptl_store_operations_total counter\n");
        for (op, s) in self
            .store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
        {
            let _ = writeln!(
                out,
                "ptl_store_seconds_sum{{operation=\"{op}\"}} {:.6}",
                s.seconds
            );
            let _ = writeln!(
                out,
                "ptl_store_operations_total{{operation=\"{op}\"}} {}",
                s.count
            );
        }
        let beyond = *self
            .beyond_calendar
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        out.push_str("# HELP ptl_deadlines_beyond_calendar_total Working-day deadlines explained past the last calendar year (weekends only were skipped).\n# TYPE ptl_deadlines_beyond_calendar_total counter\n");
        let _ = writeln!(out, "ptl_deadlines_beyond_calendar_total {beyond}");
        out
    }
}

/// Every gauge [`render_status`] may write (the Grafana dashboard and the alert rules under
/// `ops/` use only these and the counters above; a test checks it).
pub const STATUS_GAUGES: &[&str] = &[
    "ptl_up",
    "ptl_store_up",
    "ptl_ready",
    "ptl_projection_complete",
    "ptl_projection_position",
    "ptl_projection_lag_events",
    "ptl_projection_lag_seconds",
    "ptl_projection_stalled",
    "ptl_projection_failed",
    "ptl_outbox_enabled",
    "ptl_outbox_pending",
    "ptl_outbox_oldest_seconds",
    "ptl_broker_connected",
    "ptl_webhook_pending",
    "ptl_webhook_failing",
    "ptl_webhook_oldest_seconds",
    "ptl_clock_last_run_timestamp_seconds",
    "ptl_clock_next_due_timestamp_seconds",
    "ptl_clock_late",
    "ptl_clock_records_today",
    "ptl_store_size_bytes",
    "ptl_store_wal_bytes",
    "ptl_store_durable",
    "ptl_store_migrations_pending",
    "ptl_calendar_last_day_timestamp_seconds",
];

fn gauge(out: &mut String, name: &str, help: &str, samples: &[(String, f64)]) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
    for (labels, v) in samples {
        let _ = writeln!(out, "{name}{labels} {v}");
    }
}

fn one(v: f64) -> Vec<(String, f64)> {
    vec![(String::new(), v)]
}

fn flag(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

#[allow(clippy::cast_precision_loss)]
fn num(n: u64) -> f64 {
    n as f64
}

#[allow(clippy::cast_precision_loss)]
fn stamp(t: Option<chrono::DateTime<chrono::Utc>>) -> f64 {
    t.map_or(0.0, |t| t.timestamp_millis() as f64 / 1000.0)
}

/// The operator's gauges in Prometheus text format: `reachable` the store answered a ping, and
/// `status` what [`crate::app::App::status`] read (`None` when the store could not be read).
#[must_use]
pub fn render_status(
    reachable: bool,
    status: Option<&crate::app::operations::OperatorStatus>,
) -> String {
    let mut out = String::new();
    gauge(
        &mut out,
        "ptl_up",
        "The process answers (always 1).",
        &one(1.0),
    );
    gauge(
        &mut out,
        "ptl_store_up",
        "The store answers (1) or not (0).",
        &one(flag(reachable && status.is_some())),
    );
    gauge(
        &mut out,
        "ptl_ready",
        "/readyz answers 200 (1) or 503 (0).",
        &one(flag(status.is_some_and(|s| s.ready))),
    );
    let Some(s) = status else {
        return out;
    };
    let per_model = |f: &dyn Fn(&crate::app::operations::ReadModelStatus) -> f64| {
        s.read_models
            .iter()
            .map(|m| (format!("{{model=\"{}\"}}", m.name), f(m)))
            .collect::<Vec<_>>()
    };
    gauge(
        &mut out,
        "ptl_projection_complete",
        "The read model is kept in the same transaction as the events (1), or is being rebuilt or catching up (0).",
        &per_model(&|m| flag(crate::app::operations::is_current(&m.kept))),
    );
    gauge(
        &mut out,
        "ptl_projection_position",
        "The read model's position in the global log.",
        &per_model(&|m| {
            #[allow(clippy::cast_precision_loss)]
            let p = m.position as f64;
            p
        }),
    );
    gauge(
        &mut out,
        "ptl_projection_lag_events",
        "Events of the global log the read model has not applied yet.",
        &per_model(&|m| num(m.lag_events)),
    );
    gauge(
        &mut out,
        "ptl_projection_lag_seconds",
        "Seconds since the oldest event the read model has not applied was recorded.",
        &per_model(&|m| m.lag_seconds),
    );
    gauge(
        &mut out,
        "ptl_projection_stalled",
        "A rebuild or catch-up of the read model has recorded no progress for five minutes.",
        &per_model(&|m| flag(m.stalled)),
    );
    gauge(
        &mut out,
        "ptl_projection_failed",
        "The last rebuild or catch-up of the read model failed.",
        &per_model(&|m| {
            flag(m.last_error.is_some() && !crate::app::operations::is_current(&m.kept))
        }),
    );
    gauge(
        &mut out,
        "ptl_outbox_enabled",
        "A broker is configured: committed events go through the outbox.",
        &one(flag(s.outbox.enabled)),
    );
    gauge(
        &mut out,
        "ptl_outbox_pending",
        "Events in the outbox not published to the broker yet.",
        &one(num(s.outbox.pending)),
    );
    gauge(
        &mut out,
        "ptl_outbox_oldest_seconds",
        "Age of the oldest event not published yet.",
        &one(s.outbox.oldest_seconds),
    );
    if let Some(c) = s.outbox.broker_connected {
        gauge(
            &mut out,
            "ptl_broker_connected",
            "This instance's outbox relay holds a connection to the broker.",
            &one(flag(c)),
        );
    }
    gauge(
        &mut out,
        "ptl_webhook_pending",
        "Missed-deadline notifications not delivered yet.",
        &one(num(s.webhooks.pending)),
    );
    gauge(
        &mut out,
        "ptl_webhook_failing",
        "Undelivered notifications whose last attempt failed.",
        &one(num(s.webhooks.failing)),
    );
    gauge(
        &mut out,
        "ptl_webhook_oldest_seconds",
        "Age of the oldest undelivered notification.",
        &one(s.webhooks.oldest_seconds),
    );
    gauge(
        &mut out,
        "ptl_clock_last_run_timestamp_seconds",
        "When the legal clock last ran (0: never on this store).",
        &one(stamp(s.legal_clock.last_run_at)),
    );
    gauge(
        &mut out,
        "ptl_clock_next_due_timestamp_seconds",
        "When the legal clock's next record falls due (0: none).",
        &one(stamp(s.legal_clock.next_due_at)),
    );
    gauge(
        &mut out,
        "ptl_clock_late",
        "The legal clock has not run although a record fell due more than five minutes ago.",
        &one(flag(s.legal_clock.late)),
    );
    gauge(
        &mut out,
        "ptl_clock_records_today",
        "Records the legal clock wrote today (Kyiv).",
        &one(num(s.legal_clock.records_today)),
    );
    gauge(
        &mut out,
        "ptl_store_size_bytes",
        "The database's size.",
        &one(num(s.store.size_bytes.unwrap_or(0))),
    );
    if let Some(w) = s.store.wal_bytes {
        gauge(
            &mut out,
            "ptl_store_wal_bytes",
            "The write-ahead log's size.",
            &one(num(w)),
        );
    }
    gauge(
        &mut out,
        "ptl_store_durable",
        "The store's settings make a commit durable.",
        &one(flag(s.store.durable)),
    );
    gauge(
        &mut out,
        "ptl_store_migrations_pending",
        "Migrations this build knows that the store has not applied.",
        &one(num(s
            .store
            .migrations_known
            .saturating_sub(s.store.migrations_applied))),
    );
    gauge(
        &mut out,
        "ptl_calendar_last_day_timestamp_seconds",
        "The last day the working-day calendars cover (midnight UTC).",
        &one(stamp(
            s.calendars
                .last_day
                .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc()),
        )),
    );
    out
}

/// The `method` label: one of the standard methods, or `other`, so that made-up methods cannot
/// grow the series without bound.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method as M;
    match *method {
        M::GET => "GET",
        M::HEAD => "HEAD",
        M::POST => "POST",
        M::PUT => "PUT",
        M::PATCH => "PATCH",
        M::DELETE => "DELETE",
        M::OPTIONS => "OPTIONS",
        M::TRACE => "TRACE",
        M::CONNECT => "CONNECT",
        _ => "other",
    }
}

/// Middleware that records every request.
pub async fn track(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = method_label(req.method()).to_string();
    let start = Instant::now();
    let mut response = next.run(req).await;
    let secs = start.elapsed().as_secs_f64();
    metrics.record(&method, &route, response.status().as_u16(), secs);
    // The server's own time for this response (W3C Server Timing: shown by browsers' developer
    // tools, and what `ptl-bench web` reports as server time).
    if let Ok(v) = HeaderValue::from_str(&format!("app;dur={:.2}", secs * 1000.0)) {
        response.headers_mut().insert(SERVER_TIMING, v);
    }
    response
}

/// The `Server-Timing` header's name.
const SERVER_TIMING: axum::http::HeaderName = axum::http::HeaderName::from_static("server-timing");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_method_counts_as_other() {
        let made_up = axum::http::Method::from_bytes(b"FROBNICATE").unwrap();
        assert_eq!(method_label(&made_up), "other");
        assert_eq!(method_label(&axum::http::Method::GET), "GET");
    }
}
