//! `ptl calendar show`: the built-in working-day calendar's non-working days of a year.

use std::process::ExitCode;

use clap::Subcommand;

/// The subcommands of `ptl calendar`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: CalendarCmd,
}

#[derive(Debug, Subcommand)]
enum CalendarCmd {
    /// List the non-working days of a year.
    Show {
        /// The year.
        year: i32,
    },
}

/// Prints one line per non-working day with its reason. Needs no store and no keys.
///
/// # Errors
/// A sentence: the calendars do not load, or there is no calendar file for the year.
pub fn run(args: &Args) -> Result<ExitCode, String> {
    let CalendarCmd::Show { year } = args.command;
    let cal = ptl_domain::Calendar::builtin().map_err(|e| e.to_string())?;
    if !cal.years().any(|y| y == year) {
        return Err(format!(
            "the calendar has no file for {year}: add calendars/ua/{year}.toml"
        ));
    }
    for (date, reason) in cal.non_working_days(year) {
        println!("{date}  {reason}");
    }
    Ok(ExitCode::SUCCESS)
}
