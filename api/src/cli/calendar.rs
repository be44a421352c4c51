//! `ptl calendar show`: a working-day calendar's non-working days of a year, as the engine uses
//! it (the built-in files with the configured calendars directory's additions and corrections).

use std::process::ExitCode;

use clap::Subcommand;
use ptl_api::config::Settings;

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
        /// The calendar's id (default: the one the latest procedure definition counts on).
        #[arg(long)]
        calendar: Option<String>,
    },
}

/// Prints the year's file, then one line per non-working day with its reason, then the worked
/// weekend days and the holidays that are not days off. Needs no store and no keys.
///
/// # Errors
/// A sentence: the calendars do not load, there is no such calendar, or no file for the year.
pub fn run(settings: &Settings, args: &Args) -> Result<ExitCode, String> {
    let CalendarCmd::Show { year, calendar } = &args.command;
    let year = *year;
    let rules = ptl_api::startup::rule_book_from(
        settings.procedures_dir.as_deref(),
        settings.calendars_dir.as_deref(),
    )?;
    let cal = match calendar {
        Some(id) => rules
            .calendar_by_id(id)
            .ok_or_else(|| format!("there is no calendar `{id}`"))?,
        None => rules.calendar(),
    };
    let Some(source) = cal.year_source(year) else {
        return Err(format!(
            "the calendar `{}` has no file for {year}: add {}/{year}.toml to the calendars directory",
            cal.id(),
            cal.id()
        ));
    };
    println!("# calendar {} {year} from {source}", cal.id());
    for (date, reason) in cal.non_working_days(year) {
        println!("{date}  {reason}");
    }
    for (date, reason) in cal.worked_weekend_days(year) {
        println!("{date}  working day: {reason}");
    }
    for (date, name) in cal.unobserved_holidays(year) {
        println!("{date}  working day: {name} is not a day off (martial law)");
    }
    Ok(ExitCode::SUCCESS)
}
