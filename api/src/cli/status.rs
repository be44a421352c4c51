//! `ptl status`: what the status page and `GET /api/v1/status` show, read from the store
//! directly (the server need not run): each read model, the outbox and webhook deliveries, the
//! legal clock, the store and the calendars, then `/readyz`'s verdict. Exit code 0 when an
//! instance on this store can serve, 2 when it cannot (the reasons are printed), 1 with a
//! sentence when the store cannot be read.

use std::process::ExitCode;

use ptl_api::app::operations::{collect, Beside, OperatorStatus as Status};
use ptl_api::config::Settings;

use super::common;

/// The flags of `ptl status`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the JSON document `GET /api/v1/status` answers instead of text.
    #[arg(long)]
    json: bool,
}

/// Reads the status and prints it.
///
/// # Errors
/// A sentence: the store cannot be reached or read (not migrated to this version, for one).
pub async fn run(settings: &Settings, args: &Args) -> Result<ExitCode, String> {
    let db = ptl_engine::open::connect(&common::url(settings))
        .await
        .map_err(|e| format!("cannot reach the store: {e}"))?;
    let rules = ptl_api::startup::rule_book_from(
        settings.procedures_dir.as_deref(),
        settings.calendars_dir.as_deref(),
    )?;
    let status = collect(
        &db,
        &rules,
        ptl_engine::clock::Clock::now(&ptl_engine::clock::SystemClock),
        Beside {
            outbox_enabled: settings.rabbitmq_url.is_some(),
            relay: None,
            webhook_enabled: settings.webhook_url.is_some(),
        },
    )
    .await
    .map_err(|e| {
        format!("cannot read the store's status ({e}); if the store is older than this program, run `ptl migrate`")
    })?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&status).map_err(|e| e.to_string())?
        );
    } else {
        print!("{}", text(&status));
    }
    Ok(if status.ready {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

fn time(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map_or_else(
        || "never".to_string(),
        |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    )
}

fn bytes(n: Option<u64>) -> String {
    #[allow(clippy::cast_precision_loss)]
    n.map_or_else(
        || "unknown".to_string(),
        |n| format!("{:.1} MiB", n as f64 / 1_048_576.0),
    )
}

/// The status as text, one section per part.
fn text(s: &Status) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} (checked {})",
        if s.ready {
            "ready: an instance on this store can serve"
        } else {
            "NOT READY"
        },
        time(Some(s.checked_at))
    );
    for r in &s.reasons {
        let _ = writeln!(out, "  reason: {r}");
    }
    for w in &s.warnings {
        let _ = writeln!(out, "  warning: {w}");
    }
    let _ = writeln!(out, "read models:");
    for m in &s.read_models {
        let kept = match m.kept.as_str() {
            "in_transaction" => "kept in the events' transaction (never behind)".to_string(),
            "rebuilding" => format!("REBUILDING, {} of {} events applied", m.applied, m.target),
            _ => format!("CATCHING UP, {} of {} events applied", m.applied, m.target),
        };
        let _ = write!(
            out,
            "  {:<11} {kept}; position {}, lag {} events / {:.0} s",
            m.name, m.position, m.lag_events, m.lag_seconds
        );
        if m.stalled {
            let _ = write!(out, "; STALLED since {}", time(m.updated_at));
        }
        if let Some(e) = &m.last_error {
            let _ = write!(out, "; last error: {e}");
        }
        let _ = writeln!(out);
    }
    let broker = match s.outbox.broker_connected {
        Some(true) => "connected",
        Some(false) => "NOT connected",
        None if s.outbox.enabled => "not known here (see the server's status page)",
        None => "none configured",
    };
    let _ = writeln!(
        out,
        "outbox: {} pending, oldest {:.0} s; broker {broker}",
        s.outbox.pending, s.outbox.oldest_seconds
    );
    let _ = writeln!(
        out,
        "webhook deliveries: {} pending ({} failing), oldest {:.0} s, {} delivered{}{}",
        s.webhooks.pending,
        s.webhooks.failing,
        s.webhooks.oldest_seconds,
        s.webhooks.delivered,
        if s.webhooks.enabled {
            ""
        } else {
            " (no webhook configured)"
        },
        s.webhooks
            .last_error
            .as_ref()
            .map_or_else(String::new, |e| format!("; last error: {e}"))
    );
    let c = &s.legal_clock;
    let _ = writeln!(
        out,
        "legal clock: last run {}, next wake {}, next record due {}, {} records today{}{}",
        time(c.last_run_at),
        time(c.next_wake_at),
        c.next_due_at
            .map_or_else(|| "none".into(), |t| time(Some(t))),
        c.records_today,
        if c.late { "; LATE" } else { "" },
        c.last_error
            .as_ref()
            .map_or_else(String::new, |e| format!("; last error: {e}"))
    );
    let st = &s.store;
    let _ = writeln!(
        out,
        "store: {}, {} (write-ahead log {}); {}: {}; migrations {} of {} applied{}",
        st.backend,
        bytes(st.size_bytes),
        bytes(st.wal_bytes),
        if st.durable { "durable" } else { "NOT DURABLE" },
        st.durability
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", "),
        st.migrations_applied,
        st.migrations_known,
        st.latest_migration
            .as_ref()
            .map_or_else(String::new, |m| format!(
                " (latest {:04} {})",
                m.version, m.description
            ))
    );
    let _ = writeln!(
        out,
        "calendars: {}",
        s.calendars.last_day.map_or_else(
            || "none".to_string(),
            |d| format!("the last year covered is {} (to {d})", d.format("%Y"))
        )
    );
    out
}
