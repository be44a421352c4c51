//! `ptl rebuild` for people: [`ptl_projections::rebuild()`] with a progress bar and a one-line
//! summary.
//!
//! The bar's total is the number of events in the log, counted first with one cheap query
//! ([`ptl_projections::rebuild::count_events`]); the rebuild reports its position after each
//! batch. Events written while the rebuild runs can push the position past the counted total:
//! the bar then grows to match instead of overflowing. `indicatif` draws on standard error and
//! only on a terminal, so a scripted run (CI, cron, a pipe) gets the summary line alone.
//!
//! Completeness is the rebuild's own concern: `ptl_projections::rebuild()` waits for every event
//! that existed when it started (PostgreSQL's global log can hold some back while a transaction
//! elsewhere is open) and fails rather than report a partial rebuild.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use ptl_engine::db::Db;
use ptl_projections::Models;

/// Rebuilds the selected read models (`only`: `None` for all, or `work_queue`, `deadlines`,
/// `statistics`, `registers`) with a progress bar, and returns the summary line, e.g.
/// `rebuilt work_queue, deadlines, statistics, registers from 1,234 events of 56 cases in 0.8 s`.
///
/// # Errors
/// A sentence: an unknown read model (before anything is deleted), the store cannot be read, the
/// rebuild failed (batches already committed stay; running it again starts over), including when
/// it could not see every event that existed when it started.
pub async fn rebuild_with_progress(db: &Db, only: Option<&str>) -> Result<String, String> {
    let models = Models::parse(only).map_err(|e| e.to_string())?;
    let total = ptl_projections::rebuild::count_events(db)
        .await
        .map_err(|e| format!("cannot count the events: {e}"))?;
    let bar = ProgressBar::new(total);
    let style = ProgressStyle::with_template(
        "{spinner} rebuilding [{bar:40}] {human_pos}/{human_len} events ({per_sec}, {eta} left)",
    )
    .map(|s| s.progress_chars("=> "))
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(200));
    let progress = {
        let bar = bar.clone();
        move |n: u64| {
            if n > bar.length().unwrap_or(0) {
                bar.set_length(n);
            }
            bar.set_position(n);
        }
    };
    let result = ptl_projections::rebuild(db, only, progress).await;
    bar.finish_and_clear();
    let report = result.map_err(|e| format!("the rebuild failed: {e}"))?;
    Ok(summary(models, report.events, report.cases, report.elapsed))
}

/// The summary line for a finished rebuild.
fn summary(models: Models, events: u64, cases: u64, elapsed: Duration) -> String {
    let names: Vec<&str> = [
        (models.work_queue, "work_queue"),
        (models.deadlines, "deadlines"),
        (models.statistics, "statistics"),
        (models.registers, "registers"),
    ]
    .into_iter()
    .filter_map(|(on, name)| on.then_some(name))
    .collect();
    format!(
        "rebuilt {} from {} {} of {} {} in {:.1} s",
        names.join(", "),
        thousands(events),
        if events == 1 { "event" } else { "events" },
        thousands(cases),
        if cases == 1 { "case" } else { "cases" },
        elapsed.as_secs_f64()
    )
}

/// `1234567` as `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_get_thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234), "1,234");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn the_summary_names_the_models_and_the_counts() {
        assert_eq!(
            summary(Models::ALL, 1_234, 56, Duration::from_millis(800)),
            "rebuilt work_queue, deadlines, statistics, registers from 1,234 events of 56 cases in 0.8 s"
        );
        let only = Models::parse(Some("deadlines")).ok();
        assert_eq!(
            only.map(|m| summary(m, 1, 1, Duration::from_millis(40))),
            Some("rebuilt deadlines from 1 event of 1 case in 0.0 s".to_string())
        );
    }
}
