//! `ptl demo`: fill an empty store with realistic cases through the engine
//! ([`ptl_api::demo`] holds the scenarios).

use std::process::ExitCode;

use ptl_api::config::Settings;

use super::common;

/// The flags of `ptl demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// `basic` (8 cases), `cherkasy` (the figures of the Cherkasy regional report in its own period,
    /// the 90 days to 30.06.2020, in the 20 districts of the time) or `cherkasy-today` (the same
    /// cases over the last 90 days).
    #[arg(long, default_value = "basic")]
    scenario: String,
}

/// Runs the scenario with "today" taken from the clock in Kyiv.
///
/// # Errors
/// A sentence: an unknown scenario (before the store is opened), a store that is not empty, or a
/// command the engine refused.
pub async fn run(settings: &Settings, args: &Args) -> Result<ExitCode, String> {
    let scenario: ptl_api::demo::Scenario = args.scenario.parse()?;
    let engine = common::engine(settings).await?;
    let today = ptl_domain::kyiv_date(engine.clock().now());
    let report = ptl_api::demo::demo(&engine, scenario, today).await?;
    println!(
        "demo `{scenario}`: {} cases, {} events recorded through the engine",
        report.cases, report.events
    );
    // One account per role, so a newcomer can sign in at once.
    let dir = common::dir(settings);
    let tree = ptl_api::reorganise::load_tree(settings.offices_file.as_deref(), &dir)
        .map_err(|e| e.to_string())?;
    let accounts = ptl_api::accounts::add_demo_accounts(&engine, &tree)
        .await
        .map_err(|e| e.to_string())?;
    println!();
    println!("accounts for the web application (sign in at http://{}/ ; each one-time password is changed at the first sign-in):", settings.listen);
    println!(
        "{:<12} {:<17} {:<7} ONE-TIME PASSWORD",
        "LOGIN", "ROLE", "OFFICE"
    );
    for (user, password) in accounts {
        println!(
            "{:<12} {:<17} {:<7} {password}",
            user.login, user.role, user.office
        );
    }
    Ok(ExitCode::SUCCESS)
}
