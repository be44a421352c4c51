//! The rules as the engine uses them (`procedure.md`, "Procedure versions": an administrator
//! sees every definition, its marks and its source file): the procedure definitions with their
//! deadline tables, and a calendar's non-working days of a year. Rules hold no personal data, so
//! every authenticated role may read them.

use std::sync::Arc;

use chrono::NaiveDate;
use ptl_domain::calendar::DayKind;
use ptl_domain::ProcedureDefinition;

use super::{App, Caller, Error};

/// One procedure definition as loaded, with where it came from and the period it governs.
#[derive(Debug, Clone)]
pub struct DefinitionInfo {
    /// The definition (deadline table, marks, rolling rule, SHA-256 of its file).
    pub definition: Arc<ProcedureDefinition>,
    /// The last registration date it governs: the day before the next definition takes effect
    /// (`None` for the latest).
    pub effective_to: Option<NaiveDate>,
    /// The file it was read from.
    pub file: String,
}

/// What kind of non-working day a date is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonWorkingKind {
    /// Saturday or Sunday.
    Weekend,
    /// A public holiday that is a day off.
    Holiday,
    /// A weekday made a day off (statutory shift or Cabinet transfer).
    DayOff,
}

/// One special day of a calendar year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarDay {
    /// The date.
    pub date: NaiveDate,
    /// The kind of day.
    pub kind: NonWorkingKind,
    /// Why (the holiday's name; the shift or the Cabinet order of a transfer).
    pub reason: String,
}

/// A calendar's year as the engine counts on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarYearInfo {
    /// The calendar's id.
    pub calendar: String,
    /// The year.
    pub year: i32,
    /// The file the year was read from.
    pub source: String,
    /// Every non-working day, weekends included, in date order.
    pub non_working_days: Vec<CalendarDay>,
    /// Saturdays and Sundays made working days by a transfer, with the order.
    pub worked_weekend_days: Vec<(NaiveDate, String)>,
    /// Holidays that are not days off (martial law), listed for documentation.
    pub holidays_not_observed: Vec<(NaiveDate, String)>,
}

impl App {
    /// Every procedure definition, oldest first.
    #[must_use]
    pub fn procedures(&self, _caller: &Caller) -> Vec<DefinitionInfo> {
        let rules = self.engine.rules();
        let defs = rules.definitions();
        defs.iter()
            .enumerate()
            .map(|(i, d)| DefinitionInfo {
                definition: d.clone(),
                effective_to: defs
                    .get(i + 1)
                    .and_then(|next| next.effective_from.pred_opt()),
                file: rules.source_file(&d.id).unwrap_or_default().to_string(),
            })
            .collect()
    }

    /// The non-working days of `year` in `calendar` (default: the calendar of the latest
    /// definition).
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown calendar or a year without a file.
    pub fn calendar_year(
        &self,
        _caller: &Caller,
        year: i32,
        calendar: Option<&str>,
    ) -> Result<CalendarYearInfo, Error> {
        let rules = self.engine.rules();
        let cal = match calendar {
            Some(id) => rules
                .calendar_by_id(id)
                .ok_or_else(|| Error::NotFound(format!("there is no calendar `{id}`")))?,
            None => rules.calendar(),
        };
        let source = cal.year_source(year).ok_or_else(|| {
            Error::NotFound(format!(
                "the calendar `{}` has no file for {year}",
                cal.id()
            ))
        })?;
        let non_working_days = cal
            .non_working_days(year)
            .into_iter()
            .map(|(date, reason)| CalendarDay {
                date,
                kind: match cal.day_kind(date) {
                    DayKind::Holiday(_) => NonWorkingKind::Holiday,
                    DayKind::DayOff(_) => NonWorkingKind::DayOff,
                    _ => NonWorkingKind::Weekend,
                },
                reason,
            })
            .collect();
        Ok(CalendarYearInfo {
            calendar: cal.id().to_string(),
            year,
            source: source.to_string(),
            non_working_days,
            worked_weekend_days: cal.worked_weekend_days(year),
            holidays_not_observed: cal.unobserved_holidays(year),
        })
    }
}
