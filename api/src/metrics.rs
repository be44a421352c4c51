//! Prometheus metrics: request counts and latencies by route and status. Routes are the matched
//! patterns (`/api/v1/cases/{id}`), never the concrete paths, so no case id reaches a metric.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
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
    let response = next.run(req).await;
    metrics.record(
        &method,
        &route,
        response.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    response
}

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
