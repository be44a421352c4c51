//! `ptl-bench exports`: the exports of issue 17 on a generated population (by default 100,000
//! cases, `ptl_api::population`) registered through the engine on a fresh store: the time to
//! register it, then the HTCDS export (every case, JSON rows and CSV) and the CTDC dataset
//! (k-anonymisation included) over the whole country, with their sizes and the CTDC report.

use std::sync::Arc;
use std::time::Instant;

use ptl_api::app::exports::{self, ExportRange};
use ptl_api::startup::{start, StartOptions};
use ptl_engine::clock::SystemClock;
use ptl_engine::testkit::PgTestDb;

use crate::Res;

/// The flags of `ptl-bench exports`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Cases to generate and register.
    #[arg(long, default_value_t = 100_000)]
    cases: usize,
    /// `sqlite`, `postgres` or `both`.
    #[arg(long, default_value = "sqlite")]
    store: String,
    /// Registrations in flight at once.
    #[arg(long, default_value_t = 32)]
    in_flight: usize,
    /// PostgreSQL admin URL (a fresh database is created and dropped).
    #[arg(long, env = "PTL_TEST_PG_URL", default_value = PG_URL)]
    pg_url: String,
}

const PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable";

/// Runs the benchmark on each store asked for and prints one block per store.
///
/// # Errors
/// A sentence: the store cannot be created or started, a registration or an export fails.
pub async fn run(args: Args) -> Res<()> {
    let stores: &[&str] = match args.store.as_str() {
        "sqlite" => &["sqlite"],
        "postgres" => &["postgres"],
        "both" => &["sqlite", "postgres"],
        other => return Err(format!("--store {other}: sqlite, postgres or both")),
    };
    for store in stores {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let pg = if *store == "postgres" {
            Some(
                PgTestDb::create_on(&args.pg_url, "exports")
                    .await
                    .map_err(|e| e.to_string())?,
            )
        } else {
            None
        };
        let url = match &pg {
            Some(db) => db.url().to_string(),
            None => format!("sqlite://{}", dir.path().join("ptl.db").display()),
        };
        let app = start(
            &StartOptions::new(url, dir.path().join("data")),
            Arc::new(SystemClock),
        )
        .await?;
        let engine = Arc::clone(&app.state.app.engine);
        let offices = Arc::clone(&app.state.app.offices);

        let people = ptl_api::population::population(args.cases, 17);
        let t = Instant::now();
        ptl_api::population::register_all(&engine, people, args.in_flight).await?;
        let registered = t.elapsed().as_secs_f64();
        engine.clear_cache();

        let range = ExportRange {
            office: "UA".into(),
            from: chrono::NaiveDate::from_ymd_opt(2023, 1, 1).unwrap_or_default(),
            to: chrono::NaiveDate::from_ymd_opt(2025, 12, 31).unwrap_or_default(),
        };
        let t = Instant::now();
        let htcds = exports::htcds(&engine, &offices, "bench", &range)
            .await
            .map_err(|e| e.to_string())?;
        let htcds_secs = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let csv = exports::htcds_csv(&htcds);
        let csv_secs = t.elapsed().as_secs_f64();

        let t = Instant::now();
        let ctdc = exports::ctdc(&engine, &offices, "bench", "UA", 2023, 2025)
            .await
            .map_err(|e| e.to_string())?;
        let ctdc_secs = t.elapsed().as_secs_f64();
        let r = &ctdc.report;

        #[allow(clippy::cast_precision_loss)]
        let rate = args.cases as f64 / registered;
        println!("store {store}: {} cases", args.cases);
        println!(
            "  register (through the engine, {} in flight): {registered:.1} s ({rate:.0} cases/s)",
            args.in_flight
        );
        println!(
            "  htcds: {} rows in {htcds_secs:.1} s (cold cache); CSV {:.1} MB in {csv_secs:.2} s",
            htcds.cases,
            csv.len() as f64 / 1e6
        );
        println!(
            "  ctdc: {} persons in {ctdc_secs:.1} s (read again); k = {}: {} published, {} generalised, {} suppressed; by level {:?}",
            r.persons, r.k, r.published, r.generalised, r.suppressed, r.by_level
        );
        ptl_engine::testkit::close(engine.db()).await;
        drop(engine);
        drop(app);
        if let Some(db) = pg {
            db.remove().await.map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}
