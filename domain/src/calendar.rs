//! Working-day calendar of Ukraine and the day arithmetic of deadlines.
//!
//! Why data and not rules: which days are working days in Ukraine is decided by the Labour Code
//! (art. 67 shifts, art. 73 holidays), by yearly Cabinet orders transferring working days (each
//! file cites the order of each transfer), and since 24.03.2022 by martial law (Law 2136-IX in
//! force), which suspends the holiday days off altogether. None of that can be
//! computed reliably, so every year is a TOML file (`calendars/ua/<year>.toml`) that is embedded in
//! the binary and that an administrator can replace or extend from a directory without a release.
//! A case records [`Calendar::content_hash`] so an auditor can tell which calendar content computed
//! its deadlines.
//!
//! Counting rules (procedure.md, "Counting days"): n calendar days fall on start + n; n months land
//! on the same day of the month or the month's last day; n working days count only working days
//! after the start. Outside the years a calendar covers only Saturdays and Sundays are rest days,
//! and the result says so ([`WorkingDayResult::beyond_calendar`]) instead of failing: a deadline is
//! better computed approximately and flagged than not at all.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use chrono::{Datelike, Days, Months, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The built-in year files, embedded so the engine works with no files on disk. Adding a year here
/// is a release; adding it in the calendar directory ([`Calendar::with_dir`]) is not.
const BUILTIN_UA: &[(&str, &str)] = &[
    ("2012.toml", include_str!("../calendars/ua/2012.toml")),
    ("2013.toml", include_str!("../calendars/ua/2013.toml")),
    ("2014.toml", include_str!("../calendars/ua/2014.toml")),
    ("2015.toml", include_str!("../calendars/ua/2015.toml")),
    ("2016.toml", include_str!("../calendars/ua/2016.toml")),
    ("2017.toml", include_str!("../calendars/ua/2017.toml")),
    ("2018.toml", include_str!("../calendars/ua/2018.toml")),
    ("2019.toml", include_str!("../calendars/ua/2019.toml")),
    ("2020.toml", include_str!("../calendars/ua/2020.toml")),
    ("2021.toml", include_str!("../calendars/ua/2021.toml")),
    ("2022.toml", include_str!("../calendars/ua/2022.toml")),
    ("2023.toml", include_str!("../calendars/ua/2023.toml")),
    ("2024.toml", include_str!("../calendars/ua/2024.toml")),
    ("2025.toml", include_str!("../calendars/ua/2025.toml")),
    ("2026.toml", include_str!("../calendars/ua/2026.toml")),
    ("2027.toml", include_str!("../calendars/ua/2027.toml")),
];

/// A problem in a calendar file. Each variant names the file so an administrator who dropped a
/// faulty file in the calendar directory can find and fix it; a faulty calendar is refused whole
/// rather than half-applied, because deadlines computed on a partly read calendar would be wrong
/// without anyone noticing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// No year file at all: a calendar without years would silently count every weekday.
    #[error("no calendar files were given")]
    NoFiles,
    /// The file is not valid TOML or does not have the calendar file's fields.
    #[error("{file}: not a valid calendar file: {message}")]
    Toml { file: String, message: String },
    /// The `year` cannot be represented as dates.
    #[error("{file}: year {year} is not a usable year")]
    InvalidYear { file: String, year: i32 },
    /// A file named like a year (`2021.toml`) holds another year: almost always a copy-paste slip.
    #[error("{file}: the file name says year {name_year} but the file has year = {year}")]
    FileNameYearMismatch {
        file: String,
        name_year: i32,
        year: i32,
    },
    /// The file belongs to another calendar than the one it is loaded into.
    #[error("{file}: calendar = \"{found}\" but this calendar is \"{expected}\"")]
    CalendarIdMismatch {
        file: String,
        expected: String,
        found: String,
    },
    /// Two files of one set give the same year; which one wins would be arbitrary.
    #[error("{file}: year {year} is already given by {other}")]
    DuplicateYear {
        file: String,
        year: i32,
        other: String,
    },
    /// A date listed in the file lies in another year than the file's.
    #[error("{file}: {date} is not in the file's year {year}")]
    DateOutsideYear {
        file: String,
        date: NaiveDate,
        year: i32,
    },
    /// The same date is listed twice (in one section or across sections): its kind would be ambiguous.
    #[error("{file}: {date} is listed more than once")]
    DuplicateDate { file: String, date: NaiveDate },
    /// A `[[working_day]]` on a Monday..Friday: it is a working day anyway, so the entry is a mistake.
    #[error("{file}: working_day {date} is a {weekday:?}, not a Saturday or Sunday")]
    WorkingDayNotWeekend {
        file: String,
        date: NaiveDate,
        weekday: Weekday,
    },
    /// A `[[day_off]]` on a Saturday or Sunday: it is a rest day anyway, so the entry is a mistake.
    #[error("{file}: day_off {date} is a {weekday:?}, a weekend day; a day off must be a weekday")]
    DayOffOnWeekend {
        file: String,
        date: NaiveDate,
        weekday: Weekday,
    },
    /// A holiday without a name or a day off / working day without a reason: the reason is what
    /// `ptl calendar show` and the skipped-day list tell the official.
    #[error("{file}: {date} has an empty {field}")]
    EmptyText {
        file: String,
        date: NaiveDate,
        field: &'static str,
    },
    /// The calendar directory or one of its files could not be read.
    #[error("{path}: cannot read: {message}")]
    Io { path: String, message: String },
}

/// What kind of day a date is in a calendar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DayKind {
    /// A working day: a weekday that is no holiday or day off, or a weekend day made working.
    Working,
    /// A Saturday or Sunday (also outside the covered years).
    Weekend,
    /// An observed public holiday (day off), with its name; it may fall on a weekend.
    Holiday(String),
    /// A weekday made a day off (statutory shift or Cabinet transfer), with the reason.
    DayOff(String),
    /// A Monday..Friday outside the calendar's years: counted as a working day, because nothing
    /// better is known, and flagged through [`WorkingDayResult::beyond_calendar`].
    Unknown,
}

/// A non-working day passed over while counting, so the official sees why a due date is later
/// than a naive count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedDay {
    pub date: NaiveDate,
    pub reason: String,
}

/// The outcome of a working-day count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkingDayResult {
    /// The due date.
    pub due: NaiveDate,
    /// The non-working days passed over between the start and the due date, in order.
    pub skipped: Vec<SkippedDay>,
    /// Some day examined on the way (after the start, up to the due date) lies outside the years
    /// the calendar covers, so only weekends were skipped for it: the due date may be too early.
    pub beyond_calendar: bool,
}

/// One `[[holiday]]` entry as written in a file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct HolidayEntry {
    date: NaiveDate,
    name: String,
    /// `false` documents a holiday that is not a day off (martial law); absent means `true`.
    #[serde(default = "default_true")]
    observed: bool,
}

fn default_true() -> bool {
    true
}

/// One `[[day_off]]` or `[[working_day]]` entry as written in a file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReasonEntry {
    date: NaiveDate,
    reason: String,
}

/// A year file as written. Unknown keys are refused so a typo (`[[days_off]]`) is an error instead
/// of a silently ignored section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct YearFile {
    calendar: String,
    year: i32,
    #[serde(default)]
    holiday: Vec<HolidayEntry>,
    #[serde(default)]
    day_off: Vec<ReasonEntry>,
    #[serde(default)]
    working_day: Vec<ReasonEntry>,
}

/// The special days of one year, validated and indexed by date.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CalendarYear {
    /// The file it came from, for messages.
    source: String,
    /// Observed holidays (days off) by date.
    holidays: BTreeMap<NaiveDate, String>,
    /// Holidays that are not days off, kept so the content hash covers them and the data stays
    /// documented; they do not change any count.
    unobserved: BTreeMap<NaiveDate, String>,
    days_off: BTreeMap<NaiveDate, String>,
    working_days: BTreeMap<NaiveDate, String>,
}

/// A working-day calendar: a set of years, each from one TOML file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    id: String,
    years: BTreeMap<i32, CalendarYear>,
}

fn is_weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

fn weekend_name(d: NaiveDate) -> &'static str {
    if d.weekday() == Weekday::Sat {
        "Saturday"
    } else {
        "Sunday"
    }
}

/// The year a file name announces (`2021.toml` -> 2021), if it is named like that.
fn year_from_file_name(file: &str) -> Option<i32> {
    let name = Path::new(file).file_stem()?.to_str()?;
    if name.len() == 4 && name.bytes().all(|b| b.is_ascii_digit()) {
        name.parse().ok()
    } else {
        None
    }
}

/// Parses and validates one year file.
fn parse_year(file: &str, content: &str) -> Result<(String, i32, CalendarYear), CalendarError> {
    let parsed: YearFile = toml::from_str(content).map_err(|e| CalendarError::Toml {
        file: file.to_string(),
        message: e.message().to_string(),
    })?;
    let year = parsed.year;
    if NaiveDate::from_ymd_opt(year, 1, 1).is_none()
        || NaiveDate::from_ymd_opt(year, 12, 31).is_none()
    {
        return Err(CalendarError::InvalidYear {
            file: file.to_string(),
            year,
        });
    }
    if let Some(name_year) = year_from_file_name(file) {
        if name_year != year {
            return Err(CalendarError::FileNameYearMismatch {
                file: file.to_string(),
                name_year,
                year,
            });
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut check =
        |date: NaiveDate, text: &str, field: &'static str| -> Result<(), CalendarError> {
            if date.year() != year {
                return Err(CalendarError::DateOutsideYear {
                    file: file.to_string(),
                    date,
                    year,
                });
            }
            if !seen.insert(date) {
                return Err(CalendarError::DuplicateDate {
                    file: file.to_string(),
                    date,
                });
            }
            if text.trim().is_empty() {
                return Err(CalendarError::EmptyText {
                    file: file.to_string(),
                    date,
                    field,
                });
            }
            Ok(())
        };
    let mut holidays = BTreeMap::new();
    let mut unobserved = BTreeMap::new();
    for h in parsed.holiday {
        check(h.date, &h.name, "name")?;
        if h.observed {
            holidays.insert(h.date, h.name);
        } else {
            unobserved.insert(h.date, h.name);
        }
    }
    let mut days_off = BTreeMap::new();
    for d in parsed.day_off {
        check(d.date, &d.reason, "reason")?;
        if is_weekend(d.date) {
            return Err(CalendarError::DayOffOnWeekend {
                file: file.to_string(),
                date: d.date,
                weekday: d.date.weekday(),
            });
        }
        days_off.insert(d.date, d.reason);
    }
    let mut working_days = BTreeMap::new();
    for w in parsed.working_day {
        check(w.date, &w.reason, "reason")?;
        if !is_weekend(w.date) {
            return Err(CalendarError::WorkingDayNotWeekend {
                file: file.to_string(),
                date: w.date,
                weekday: w.date.weekday(),
            });
        }
        working_days.insert(w.date, w.reason);
    }
    Ok((
        parsed.calendar,
        year,
        CalendarYear {
            source: file.to_string(),
            holidays,
            unobserved,
            days_off,
            working_days,
        },
    ))
}

/// Parses a set of files that must agree on one calendar id and give each year once.
fn parse_set(
    files: &[(String, String)],
    expected_id: Option<&str>,
) -> Result<(Option<String>, BTreeMap<i32, CalendarYear>), CalendarError> {
    let mut id: Option<String> = expected_id.map(str::to_string);
    let mut years: BTreeMap<i32, CalendarYear> = BTreeMap::new();
    for (file, content) in files {
        let (file_id, year, data) = parse_year(file, content)?;
        match &id {
            Some(expected) if *expected != file_id => {
                return Err(CalendarError::CalendarIdMismatch {
                    file: file.clone(),
                    expected: expected.clone(),
                    found: file_id,
                });
            }
            Some(_) => {}
            None => id = Some(file_id),
        }
        if let Some(other) = years.get(&year) {
            return Err(CalendarError::DuplicateYear {
                file: file.clone(),
                year,
                other: other.source.clone(),
            });
        }
        years.insert(year, data);
    }
    Ok((id, years))
}

impl Calendar {
    /// The Ukrainian calendar shipped in the binary (`calendars/ua/2012.toml` .. `2027.toml`).
    /// Returns a `Result` rather than panicking: a test proves the embedded data parses, and the
    /// caller decides how to report the impossible case.
    pub fn builtin() -> Result<Calendar, CalendarError> {
        let files: Vec<(String, String)> = BUILTIN_UA
            .iter()
            .map(|(name, content)| (format!("calendars/ua/{name}"), (*content).to_string()))
            .collect();
        Calendar::from_files(&files)
    }

    /// Builds a calendar from `(file name, content)` pairs. All files must name the same
    /// `calendar` id and each year may appear once; a file named `<year>.toml` must hold that year.
    pub fn from_files(files: &[(String, String)]) -> Result<Calendar, CalendarError> {
        let (id, years) = parse_set(files, None)?;
        match id {
            Some(id) => Ok(Calendar { id, years }),
            None => Err(CalendarError::NoFiles),
        }
    }

    /// Overlays the `*.toml` files of `dir`: a year file there replaces this calendar's year (a
    /// corrected 2025) or adds one (2028), so an administrator changes the calendar without a
    /// release. The files must carry this calendar's id. Any bad file refuses the whole directory.
    pub fn with_dir(mut self, dir: &Path) -> Result<Calendar, CalendarError> {
        let files = read_toml_files(dir)?;
        let (_, years) = parse_set(&files, Some(&self.id))?;
        self.years.extend(years);
        Ok(self)
    }

    /// A calendar of its own from the `*.toml` files of `dir` (an administrator's calendar that
    /// a procedure definition names by its id, e.g. `calendars/pl/2026.toml`).
    pub fn from_dir(dir: &Path) -> Result<Calendar, CalendarError> {
        Calendar::from_files(&read_toml_files(dir)?)
    }

    /// The calendar's id (`"ua"`), which procedure definitions refer to.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The years the calendar covers, ascending (they need not be contiguous).
    pub fn years(&self) -> impl Iterator<Item = i32> + '_ {
        self.years.keys().copied()
    }

    /// 1 January of the first covered year.
    pub fn first_day(&self) -> Option<NaiveDate> {
        let year = *self.years.keys().next()?;
        NaiveDate::from_ymd_opt(year, 1, 1)
    }

    /// 31 December of the last covered year.
    pub fn last_day(&self) -> Option<NaiveDate> {
        let year = *self.years.keys().next_back()?;
        NaiveDate::from_ymd_opt(year, 12, 31)
    }

    /// The file a year was read from (`calendars/ua/2021.toml` for a built-in year, the path in
    /// the calendar directory for an administrator's), `None` for a year without a file.
    pub fn year_source(&self, year: i32) -> Option<&str> {
        self.years.get(&year).map(|y| y.source.as_str())
    }

    /// The holidays of `year` that are not days off (martial law), listed for documentation.
    pub fn unobserved_holidays(&self, year: i32) -> Vec<(NaiveDate, String)> {
        self.years.get(&year).map_or_else(Vec::new, |y| {
            y.unobserved.iter().map(|(d, n)| (*d, n.clone())).collect()
        })
    }

    /// The Saturdays and Sundays of `year` made working days by a transfer, with the reason.
    pub fn worked_weekend_days(&self, year: i32) -> Vec<(NaiveDate, String)> {
        self.years.get(&year).map_or_else(Vec::new, |y| {
            y.working_days
                .iter()
                .map(|(d, r)| (*d, r.clone()))
                .collect()
        })
    }

    /// Whether the calendar has a file for the year of `d`.
    pub fn covers(&self, d: NaiveDate) -> bool {
        self.years.contains_key(&d.year())
    }

    /// What kind of day `d` is. A weekend made working is `Working`; an observed holiday is
    /// `Holiday` even on a weekend, because its name is the more useful reason to show.
    pub fn day_kind(&self, d: NaiveDate) -> DayKind {
        let Some(year) = self.years.get(&d.year()) else {
            return if is_weekend(d) {
                DayKind::Weekend
            } else {
                DayKind::Unknown
            };
        };
        if year.working_days.contains_key(&d) {
            DayKind::Working
        } else if let Some(name) = year.holidays.get(&d) {
            DayKind::Holiday(name.clone())
        } else if let Some(reason) = year.days_off.get(&d) {
            DayKind::DayOff(reason.clone())
        } else if is_weekend(d) {
            DayKind::Weekend
        } else {
            DayKind::Working
        }
    }

    /// Whether `d` counts as a working day (weekdays outside the covered years do).
    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        matches!(self.day_kind(d), DayKind::Working | DayKind::Unknown)
    }

    /// Why `d` is not a working day, or `None` when it is one.
    fn non_working_reason(&self, d: NaiveDate) -> Option<String> {
        match self.day_kind(d) {
            DayKind::Working | DayKind::Unknown => None,
            DayKind::Weekend => Some(weekend_name(d).to_string()),
            DayKind::Holiday(name) => Some(name),
            DayKind::DayOff(reason) => Some(reason),
        }
    }

    /// Every non-working day of `year`, weekends included, with its reason, in date order (for
    /// `ptl calendar show <year>`). For a year the calendar does not cover these are the weekends.
    pub fn non_working_days(&self, year: i32) -> Vec<(NaiveDate, String)> {
        let mut out = Vec::new();
        let Some(mut d) = NaiveDate::from_ymd_opt(year, 1, 1) else {
            return out;
        };
        while d.year() == year {
            if let Some(reason) = self.non_working_reason(d) {
                out.push((d, reason));
            }
            match d.succ_opt() {
                Some(next) => d = next,
                None => break,
            }
        }
        out
    }

    /// The date `n` working days after `start`: only working days after the start count, whatever
    /// the start is (5 working days from Friday 2021-01-01 are 4, 5, 6, 11 and 12 January, 7 January
    /// being Christmas and 8 January a transferred day off, so the due date is 2021-01-12).
    /// `n == 0` gives `start` itself. At the end of chrono's date range the count stops at the last
    /// representable date.
    pub fn add_working_days(&self, start: NaiveDate, n: u32) -> WorkingDayResult {
        let mut result = WorkingDayResult {
            due: start,
            skipped: Vec::new(),
            beyond_calendar: false,
        };
        let mut counted = 0u32;
        while counted < n {
            let Some(d) = result.due.succ_opt() else {
                break;
            };
            result.due = d;
            if !self.covers(d) {
                result.beyond_calendar = true;
            }
            match self.non_working_reason(d) {
                None => counted += 1,
                Some(reason) => result.skipped.push(SkippedDay { date: d, reason }),
            }
        }
        result
    }

    /// The first working day on or after `d`, for a deadline that a definition moves off a
    /// non-working day. `beyond_calendar` is set when a day examined lies outside the covered years.
    pub fn roll_forward(&self, d: NaiveDate) -> WorkingDayResult {
        let mut result = WorkingDayResult {
            due: d,
            skipped: Vec::new(),
            beyond_calendar: !self.covers(d),
        };
        while let Some(reason) = self.non_working_reason(result.due) {
            result.skipped.push(SkippedDay {
                date: result.due,
                reason,
            });
            let Some(next) = result.due.succ_opt() else {
                break;
            };
            result.due = next;
            if !self.covers(next) {
                result.beyond_calendar = true;
            }
        }
        result
    }

    /// Hex SHA-256 over a canonical rendering of the calendar's content (id, every year, every
    /// entry in date order, unobserved holidays included; comments, layout and file names excluded),
    /// so a case can record exactly which calendar computed its deadlines.
    pub fn content_hash(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail; the results are ignored on purpose.
        let _ = writeln!(text, "calendar\t{}", self.id);
        for (year, y) in &self.years {
            let _ = writeln!(text, "year\t{year}");
            for (d, name) in &y.holidays {
                let _ = writeln!(text, "holiday\t{d}\t{}", escape(name));
            }
            for (d, name) in &y.unobserved {
                let _ = writeln!(text, "holiday-not-observed\t{d}\t{}", escape(name));
            }
            for (d, reason) in &y.days_off {
                let _ = writeln!(text, "day_off\t{d}\t{}", escape(reason));
            }
            for (d, reason) in &y.working_days {
                let _ = writeln!(text, "working_day\t{d}\t{}", escape(reason));
            }
        }
        let digest = Sha256::digest(text.as_bytes());
        let mut hex = String::with_capacity(64);
        for byte in digest {
            let _ = write!(hex, "{byte:02x}");
        }
        hex
    }
}

/// The `(path, content)` of every `*.toml` file directly in `dir`, sorted by path so that errors
/// (and DuplicateYear's "other") do not depend on directory order.
fn read_toml_files(dir: &Path) -> Result<Vec<(String, String)>, CalendarError> {
    let io_err = |path: &Path, e: std::io::Error| CalendarError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let mut paths: Vec<PathBuf> = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| io_err(dir, e))? {
        let path = entry.map_err(|e| io_err(dir, e))?.path();
        if path.is_file() && path.extension().is_some_and(|x| x == "toml") {
            paths.push(path);
        }
    }
    paths.sort();
    let mut files = Vec::with_capacity(paths.len());
    for path in paths {
        let content = std::fs::read_to_string(&path).map_err(|e| io_err(&path, e))?;
        files.push((path.display().to_string(), content));
    }
    Ok(files)
}

/// Keeps the canonical rendering unambiguous when a name contains a tab or newline.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('\t', "\\t")
        .replace('\n', "\\n")
}

/// `start + n` calendar days (3 days from Monday is Thursday). Saturates at chrono's last date.
pub fn add_calendar_days(start: NaiveDate, n: u32) -> NaiveDate {
    start
        .checked_add_days(Days::new(u64::from(n)))
        .unwrap_or(NaiveDate::MAX)
}

/// `start + n` months: the same day of the month, or the month's last day when it is shorter
/// (31 January + 1 month = 28 or 29 February). Saturates at chrono's last date.
pub fn add_months(start: NaiveDate, n: u32) -> NaiveDate {
    // chrono's checked_add_months already clamps to the month's last day.
    start
        .checked_add_months(Months::new(n))
        .unwrap_or(NaiveDate::MAX)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn ua() -> Calendar {
        Calendar::builtin().unwrap()
    }

    fn file(name: &str, content: &str) -> (String, String) {
        (name.to_string(), content.to_string())
    }

    #[test]
    fn every_embedded_file_parses_and_has_the_year_of_its_name() {
        for (name, content) in BUILTIN_UA {
            let (id, year, _) = parse_year(name, content).unwrap();
            assert_eq!(id, "ua", "{name}");
            assert_eq!(Some(year), year_from_file_name(name), "{name}");
        }
        let cal = ua();
        assert_eq!(cal.id(), "ua");
        assert_eq!(
            cal.years().collect::<Vec<_>>(),
            (2012..=2027).collect::<Vec<_>>()
        );
        assert_eq!(cal.first_day(), Some(d("2012-01-01")));
        assert_eq!(cal.last_day(), Some(d("2027-12-31")));
        assert!(cal.covers(d("2027-12-31")));
        assert!(!cal.covers(d("2028-01-01")));
        assert!(!cal.covers(d("2011-12-31")));
    }

    #[test]
    fn working_day_counts_match_the_hand_checked_table() {
        let cal = ua();
        // (start, n, due, why)
        let table: &[(&str, u32, &str, &str)] = &[
            // Fri 27.12.2019: Sat 28, Sun 29 weekend; Mon 30 day off (transferred to Sat 21.12);
            // Tue 31 = 1; Wed 1.1 New Year; Thu 2 = 2, Fri 3 = 3; Sat 4, Sun 5; Mon 6.1 day off
            // (transferred to Sat 11.1); Tue 7.1 Orthodox Christmas; Wed 8 = 4, Thu 9 = 5.
            (
                "2019-12-27",
                5,
                "2020-01-09",
                "New Year 2019/2020 with weekends and transfers",
            ),
            // Fri 3.1.2020: Mon 6.1 transferred day off, Tue 7.1 Christmas; Wed 8.1 is the 1st.
            (
                "2020-01-03",
                1,
                "2020-01-08",
                "Orthodox Christmas 2020 with the transferred 6 Jan",
            ),
            // Fri 10.1.2020: Sat 11.1 is a working Saturday (worked for 6 Jan) and counts.
            (
                "2020-01-10",
                1,
                "2020-01-11",
                "worked Saturday 11 Jan 2020 counts",
            ),
            // Fri 5.3.2021: Sat 6, Sun 7, Mon 8.3 International Women's Day; Tue 9.3 is the 1st.
            (
                "2021-03-05",
                1,
                "2021-03-09",
                "8 March 2021 (Monday) is a holiday",
            ),
            // Fri 20.8.2021: Sat 21, Sun 22; Mon 23 transferred day off; Tue 24 Independence Day;
            // Wed 25 = 1, Thu 26 = 2, Fri 27 = 3, Sat 28 worked (for 23 Aug) = 4.
            (
                "2021-08-20",
                4,
                "2021-08-28",
                "24 Aug 2021 with the 23 Aug transfer",
            ),
            // Fri 1.1.2021: Sat 2, Sun 3; Mon 4 = 1, Tue 5 = 2, Wed 6 = 3; Thu 7 Christmas; Fri 8
            // transferred day off; Sat 9, Sun 10; Mon 11 = 4, Tue 12 = 5.
            (
                "2021-01-01",
                5,
                "2021-01-12",
                "five working days from Friday 1 Jan 2021",
            ),
            // Fri 30.4.2021: Sat 1.5 / Sun 2.5 (Labour Day / Easter) shifted to Mon 3 and Tue 4.
            (
                "2021-04-30",
                1,
                "2021-05-05",
                "May 2021: two shifted days off",
            ),
            // Fri 4.3.2022: Sat 5, Sun 6; Mon 7.3 transferred day off (worked Sat 12.3); Tue 8.3
            // International Women's Day, still a day off (martial law suspends holidays only from
            // 24.03.2022); Wed 9.3 is the 1st.
            (
                "2022-03-04",
                1,
                "2022-03-09",
                "8 March 2022 is still a holiday, 7 March a transferred day off",
            ),
            // Fri 11.3.2022: Sat 12.3 is worked (for 7 March) and counts.
            (
                "2022-03-11",
                1,
                "2022-03-12",
                "worked Saturday 12 March 2022",
            ),
            // Fri 6.5.2022: Sat 7, Sun 8; Mon 9.5.2022 works under martial law.
            (
                "2022-05-06",
                1,
                "2022-05-09",
                "9 May 2022 is a working day (martial law)",
            ),
            // Wed 23.8.2023: Thu 24.8.2023 Independence Day works under martial law.
            (
                "2023-08-23",
                1,
                "2023-08-24",
                "24 Aug 2023 is a working day (martial law)",
            ),
            // Fri 31.12.2021: Sat 1.1.2022 New Year shifted to Mon 3.1; Tue 4 = 1.
            (
                "2021-12-31",
                1,
                "2022-01-04",
                "New Year 2022 shift to Monday 3 Jan (before martial law)",
            ),
            // Thu 6.1.2022: Fri 7.1.2022 Orthodox Christmas (before martial law); Mon 10 = 1.
            (
                "2022-01-06",
                1,
                "2022-01-10",
                "7 Jan 2022 is still a holiday",
            ),
            // n = 0 is the start itself, even on a holiday.
            ("2021-01-01", 0, "2021-01-01", "zero working days"),
        ];
        for (start, n, due, why) in table {
            let r = cal.add_working_days(d(start), *n);
            assert_eq!(r.due, d(due), "{why}: {start} + {n} working days");
            assert!(!r.beyond_calendar, "{why}");
        }
    }

    #[test]
    fn skipped_days_carry_their_reasons() {
        let cal = ua();
        let r = cal.add_working_days(d("2021-08-20"), 1);
        assert_eq!(r.due, d("2021-08-25"));
        let reasons: Vec<(NaiveDate, &str)> = r
            .skipped
            .iter()
            .map(|s| (s.date, s.reason.as_str()))
            .collect();
        assert_eq!(reasons[0], (d("2021-08-21"), "Saturday"));
        assert_eq!(reasons[1], (d("2021-08-22"), "Sunday"));
        assert_eq!(reasons[2].0, d("2021-08-23"));
        assert!(reasons[2].1.contains("transferred"), "{}", reasons[2].1);
        assert_eq!(
            reasons[3],
            (
                d("2021-08-24"),
                "Independence Day (День Незалежності України)"
            )
        );
        assert_eq!(reasons.len(), 4);
    }

    #[test]
    fn day_kinds_distinguish_holidays_days_off_weekends_and_unknown_days() {
        let cal = ua();
        assert_eq!(
            cal.day_kind(d("2021-08-24")),
            DayKind::Holiday("Independence Day (День Незалежності України)".into())
        );
        assert!(matches!(cal.day_kind(d("2021-08-23")), DayKind::DayOff(_)));
        assert_eq!(cal.day_kind(d("2021-08-28")), DayKind::Working);
        assert_eq!(cal.day_kind(d("2021-08-29")), DayKind::Weekend);
        assert_eq!(cal.day_kind(d("2021-08-25")), DayKind::Working);
        // Easter on a Sunday is reported as the holiday, its Monday as the shifted day off.
        assert_eq!(
            cal.day_kind(d("2019-04-28")),
            DayKind::Holiday("Easter (Пасха, Великдень)".into())
        );
        assert!(matches!(cal.day_kind(d("2019-04-29")), DayKind::DayOff(_)));
        // Under martial law a holiday on a weekday is a plain working day.
        assert_eq!(cal.day_kind(d("2024-08-26")), DayKind::Working);
        assert_eq!(cal.day_kind(d("2028-01-03")), DayKind::Unknown);
        assert_eq!(cal.day_kind(d("2028-01-01")), DayKind::Weekend);
        assert!(cal.is_working_day(d("2028-01-03")));
        assert!(!cal.is_working_day(d("2028-01-01")));
    }

    #[test]
    fn orthodox_easter_mondays_are_days_off_before_martial_law() {
        let cal = ua();
        for easter in [
            "2012-04-15",
            "2013-05-05",
            "2014-04-20",
            "2015-04-12",
            "2017-04-16",
            "2018-04-08",
            "2019-04-28",
            "2020-04-19",
            "2021-05-02",
        ] {
            let e = d(easter);
            assert_eq!(
                cal.day_kind(e),
                DayKind::Holiday("Easter (Пасха, Великдень)".into()),
                "{easter}"
            );
        }
        // 2016: Easter coincided with 1 May; 1-3 May were rest days.
        assert!(
            matches!(cal.day_kind(d("2016-05-01")), DayKind::Holiday(n) if n.contains("Easter"))
        );
        assert!(!cal.is_working_day(d("2016-05-03")));
        assert!(cal.is_working_day(d("2016-05-04")));
        // 2022: Easter (24 April) fell under martial law: Monday 25 April works.
        assert!(cal.is_working_day(d("2022-04-25")));
    }

    #[test]
    fn a_span_running_past_2027_sets_beyond_calendar_and_skips_only_weekends() {
        let cal = ua();
        // Thu 30.12.2027: Fri 31 = 1; Sat 1.1.2028, Sun 2 weekend (New Year not known: no file);
        // Mon 3 = 2, ..., Fri 7 = 6, Mon 10 = 7.
        let r = cal.add_working_days(d("2027-12-30"), 7);
        assert_eq!(r.due, d("2028-01-10"));
        assert!(r.beyond_calendar);
        assert!(r
            .skipped
            .iter()
            .all(|s| s.reason == "Saturday" || s.reason == "Sunday"));
        assert_eq!(r.skipped.len(), 4);
        // Within the calendar the flag stays down.
        assert!(!cal.add_working_days(d("2027-12-29"), 2).beyond_calendar);
    }

    #[test]
    fn roll_forward_moves_a_non_working_day_to_the_next_working_day() {
        let cal = ua();
        // Sat 21.8.2021 -> Sun 22, Mon 23 off, Tue 24 holiday -> Wed 25.
        let r = cal.roll_forward(d("2021-08-21"));
        assert_eq!(r.due, d("2021-08-25"));
        assert_eq!(r.skipped.len(), 4);
        assert!(!r.beyond_calendar);
        // A working day stays.
        let r = cal.roll_forward(d("2021-08-25"));
        assert_eq!(r.due, d("2021-08-25"));
        assert!(r.skipped.is_empty());
        // Beyond the calendar: Saturday 1.1.2028 -> Monday 3.1.2028, flagged.
        let r = cal.roll_forward(d("2028-01-01"));
        assert_eq!(r.due, d("2028-01-03"));
        assert!(r.beyond_calendar);
    }

    #[test]
    fn non_working_days_lists_weekends_holidays_and_days_off_in_order() {
        let cal = ua();
        let days = cal.non_working_days(2021);
        assert!(days.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(
            days[0],
            (d("2021-01-01"), "New Year (Новий рік)".to_string())
        );
        assert_eq!(days[1], (d("2021-01-02"), "Saturday".to_string()));
        assert!(days
            .iter()
            .any(|(x, r)| *x == d("2021-01-08") && r.contains("transferred")));
        assert!(!days.iter().any(|(x, _)| *x == d("2021-01-16")));
        // 2021 starts on a Friday: 52 Saturdays + 52 Sundays. Five of them are holidays (1 and 2
        // May, 9 May, 20 June Trinity, 25 Dec) and listed under the holiday's name, three Saturdays
        // were worked: 96 listed as Saturday/Sunday. Plus 6 weekday holidays (1 and 7 Jan, 8 Mar,
        // 28 Jun, 24 Aug, 14 Oct) and 8 days off (5 shifts, 3 transfers): 115 in all.
        let weekends = days
            .iter()
            .filter(|(_, r)| r == "Saturday" || r == "Sunday")
            .count();
        assert_eq!(weekends, 96);
        assert_eq!(days.len(), 96 + 5 + 6 + 8);
        // A year outside the calendar lists only its weekends.
        let y2030 = cal.non_working_days(2030);
        assert!(y2030.iter().all(|(x, _)| is_weekend(*x)));
        assert_eq!(y2030.len(), 104);
        // Martial-law years: weekends only.
        assert!(cal
            .non_working_days(2024)
            .iter()
            .all(|(x, _)| is_weekend(*x)));
    }

    #[test]
    fn the_cabinet_transfers_of_2013_2018_and_2019_are_those_the_orders_set() {
        let cal = ua();
        // 2013: no order moved working days in January; May 3 and 10 went to Saturdays 18 May and
        // 1 June.
        for day in ["2013-01-02", "2013-01-03", "2013-01-04"] {
            assert_eq!(cal.day_kind(d(day)), DayKind::Working, "{day}");
        }
        for day in ["2013-01-19", "2013-02-02", "2013-02-16"] {
            assert_eq!(cal.day_kind(d(day)), DayKind::Weekend, "{day}");
        }
        assert!(
            matches!(cal.day_kind(d("2013-05-03")), DayKind::DayOff(r) if r.contains("2013-05-18"))
        );
        assert_eq!(cal.day_kind(d("2013-06-01")), DayKind::Working);
        // 2018, order 1-р of 11.01.2018: Monday 31 December off, Saturday 29 December worked.
        assert!(
            matches!(cal.day_kind(d("2018-12-31")), DayKind::DayOff(r) if r.contains("1-р of 11.01.2018"))
        );
        assert_eq!(cal.day_kind(d("2018-12-29")), DayKind::Working);
        // 2019, order 7-р of 10.01.2019: 30 April and 31 December off, Saturdays 11 May and
        // 28 December worked (and 30 December / 21 December as before).
        for day in ["2019-04-30", "2019-12-30", "2019-12-31"] {
            assert!(
                matches!(cal.day_kind(d(day)), DayKind::DayOff(r) if r.contains("7-р of 10.01.2019")),
                "{day}"
            );
        }
        for day in ["2019-05-11", "2019-12-21", "2019-12-28"] {
            assert_eq!(cal.day_kind(d(day)), DayKind::Working, "{day}");
        }
    }

    #[test]
    fn martial_law_suspends_holidays_from_24_march_2022_not_from_24_february() {
        let cal = ua();
        assert!(
            matches!(cal.day_kind(d("2022-03-08")), DayKind::Holiday(n) if n.contains("Women"))
        );
        assert!(matches!(cal.day_kind(d("2022-03-07")), DayKind::DayOff(_)));
        assert_eq!(cal.day_kind(d("2022-03-12")), DayKind::Working);
        // After 24 March: Easter Monday, 9 May, the June transfer: all working days.
        for day in ["2022-04-25", "2022-05-09", "2022-06-27", "2022-06-28"] {
            assert_eq!(cal.day_kind(d(day)), DayKind::Working, "{day}");
        }
        assert_eq!(cal.day_kind(d("2022-07-02")), DayKind::Weekend);
    }

    #[test]
    fn every_transfer_cites_its_order_and_every_file_says_whether_it_was_checked() {
        for (name, content) in BUILTIN_UA {
            let (_, year, data) = parse_year(name, content).unwrap();
            for (date, reason) in data.days_off.iter().chain(&data.working_days) {
                assert!(
                    reason.contains("Labour Code art. 67") || reason.contains("Cabinet order"),
                    "{date}: {reason}"
                );
                if reason.contains("Cabinet") {
                    assert!(reason.contains(" of "), "{date}: no order date in {reason}");
                }
            }
            assert!(
                content.contains("# Checked: "),
                "{name}: say whether the year was checked"
            );
            // Names as the law has them: 1 May is День праці from 2017.
            let may_day = data
                .holidays
                .iter()
                .chain(&data.unobserved)
                .find(|(d, _)| d.month() == 5 && d.day() == 1)
                .map(|(_, n)| n.clone())
                .unwrap_or_default();
            assert_eq!(
                may_day.contains("День праці"),
                year >= 2017,
                "{year}: {may_day}"
            );
        }
        // The Day of Ukrainian Statehood is listed (not a day off) from 2022.
        let cal = ua();
        assert_eq!(cal.day_kind(d("2024-07-15")), DayKind::Working);
        let y2024 = Calendar::from_files(&[(
            "2024.toml".to_string(),
            include_str!("../calendars/ua/2024.toml").to_string(),
        )])
        .unwrap();
        assert!(y2024.years[&2024]
            .unobserved
            .get(&d("2024-07-15"))
            .is_some_and(|n| n.contains("Державності")));
    }

    #[test]
    fn add_months_keeps_the_day_or_takes_the_months_last_day() {
        assert_eq!(add_months(d("2024-01-31"), 1), d("2024-02-29"));
        assert_eq!(add_months(d("2023-01-31"), 1), d("2023-02-28"));
        assert_eq!(add_months(d("2023-11-30"), 3), d("2024-02-29"));
        assert_eq!(add_months(d("2022-11-30"), 3), d("2023-02-28"));
        assert_eq!(add_months(d("2021-03-15"), 1), d("2021-04-15"));
        assert_eq!(add_months(d("2021-12-31"), 12), d("2022-12-31"));
        assert_eq!(add_months(d("2021-03-15"), 0), d("2021-03-15"));
    }

    #[test]
    fn add_calendar_days_counts_every_day() {
        // 3 days from Monday is Thursday.
        assert_eq!(add_calendar_days(d("2021-03-01"), 3), d("2021-03-04"));
        assert_eq!(add_calendar_days(d("2021-12-25"), 10), d("2022-01-04"));
        assert_eq!(add_calendar_days(d("2024-02-28"), 1), d("2024-02-29"));
        assert_eq!(add_calendar_days(d("2021-03-01"), 0), d("2021-03-01"));
        assert_eq!(add_calendar_days(NaiveDate::MAX, 1), NaiveDate::MAX);
    }

    #[test]
    fn every_count_from_2012_to_2027_lands_on_a_working_day_after_exactly_n_working_days() {
        let cal = ua();
        let mut start = d("2012-01-01");
        while start <= d("2027-12-31") {
            for n in 0..15u32 {
                let r = cal.add_working_days(start, n);
                if n == 0 {
                    assert_eq!(r.due, start);
                    continue;
                }
                assert!(r.due > start, "{start} + {n}");
                assert!(cal.is_working_day(r.due), "{start} + {n} -> {}", r.due);
                let mut count = 0;
                let mut x = start.succ_opt().unwrap();
                while x <= r.due {
                    if cal.is_working_day(x) {
                        count += 1;
                    } else {
                        assert!(r.skipped.iter().any(|s| s.date == x), "{x} not in skipped");
                    }
                    x = x.succ_opt().unwrap();
                }
                assert_eq!(count, n, "{start} + {n} -> {}", r.due);
                assert_eq!(r.beyond_calendar, !cal.covers(r.due), "{start} + {n}");
            }
            start = start.succ_opt().unwrap();
        }
    }

    #[test]
    fn a_directory_file_replaces_a_year_and_adds_a_new_one() {
        let dir = std::env::temp_dir().join(format!("ptl-calendar-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("2021.toml"),
            "calendar = \"ua\"\nyear = 2021\n[[holiday]]\ndate = \"2021-03-10\"\nname = \"Test holiday\"\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("2028.toml"),
            "calendar = \"ua\"\nyear = 2028\n[[holiday]]\ndate = \"2028-01-03\"\nname = \"New Year (test)\"\n",
        )
        .unwrap();
        std::fs::write(dir.join("README.txt"), "not a calendar").unwrap();
        let base = ua();
        let base_hash = base.content_hash();
        let cal = base.with_dir(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        // 2021 replaced: 8 March is a working day now, 10 March a holiday.
        assert!(cal.is_working_day(d("2021-03-08")));
        assert_eq!(
            cal.day_kind(d("2021-03-10")),
            DayKind::Holiday("Test holiday".into())
        );
        // 2028 added.
        assert!(cal.covers(d("2028-06-01")));
        assert_eq!(cal.last_day(), Some(d("2028-12-31")));
        assert!(!cal.is_working_day(d("2028-01-03")));
        assert!(!cal.add_working_days(d("2027-12-30"), 3).beyond_calendar);
        // Other years untouched.
        assert!(!cal.is_working_day(d("2020-01-07")));
        assert_ne!(cal.content_hash(), base_hash);
    }

    #[test]
    fn a_directory_file_of_another_calendar_is_refused() {
        let dir = std::env::temp_dir().join(format!("ptl-calendar-test-id-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("2028.toml"), "calendar = \"pl\"\nyear = 2028\n").unwrap();
        let err = ua().with_dir(&dir).unwrap_err();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(
            matches!(err, CalendarError::CalendarIdMismatch { .. }),
            "{err}"
        );
        let missing = ua()
            .with_dir(Path::new("/nonexistent/ptl-calendar"))
            .unwrap_err();
        assert!(matches!(missing, CalendarError::Io { .. }), "{missing}");
    }

    #[test]
    fn content_hash_is_stable_and_ignores_comments_but_not_content() {
        let a = Calendar::from_files(&[file(
            "2021.toml",
            "calendar = \"ua\"\nyear = 2021\n[[holiday]]\ndate = \"2021-01-01\"\nname = \"New Year\"\n",
        )])
        .unwrap();
        let b = Calendar::from_files(&[file(
            "x/2021.toml",
            "# comment\ncalendar = \"ua\"\nyear = 2021\n\n[[holiday]]\nname = \"New Year\"\ndate = \"2021-01-01\"\n",
        )])
        .unwrap();
        let c = Calendar::from_files(&[file(
            "2021.toml",
            "calendar = \"ua\"\nyear = 2021\n[[holiday]]\ndate = \"2021-01-01\"\nname = \"New Year\"\nobserved = false\n",
        )])
        .unwrap();
        assert_eq!(a.content_hash(), b.content_hash());
        assert_ne!(a.content_hash(), c.content_hash());
        assert_eq!(a.content_hash().len(), 64);
        assert_eq!(ua().content_hash(), ua().content_hash());
    }

    #[test]
    fn invalid_files_give_the_matching_error() {
        let head = "calendar = \"ua\"\nyear = 2021\n";
        let case = |name: &str, body: &str| Calendar::from_files(&[file(name, body)]).unwrap_err();
        let e = case("2021.toml", "calendar = \"ua\"\nyear = ");
        assert!(
            matches!(e, CalendarError::Toml { ref file, .. } if file == "2021.toml"),
            "{e}"
        );
        let e = case(
            "2021.toml",
            &format!("{head}[[days_off]]\ndate = \"2021-01-08\"\nreason = \"x\"\n"),
        );
        assert!(
            matches!(e, CalendarError::Toml { .. }),
            "unknown section: {e}"
        );
        let e = case(
            "2021.toml",
            &format!("{head}[[holiday]]\ndate = \"2021-02-30\"\nname = \"x\"\n"),
        );
        assert!(
            matches!(e, CalendarError::Toml { .. }),
            "impossible date: {e}"
        );
        let e = case(
            "2021.toml",
            &format!("{head}[[holiday]]\ndate = \"2022-01-01\"\nname = \"x\"\n"),
        );
        assert!(
            matches!(e, CalendarError::DateOutsideYear { year: 2021, .. }),
            "{e}"
        );
        let e = case(
            "2021.toml",
            &format!("{head}[[holiday]]\ndate = \"2021-01-01\"\nname = \"x\"\n[[day_off]]\ndate = \"2021-01-01\"\nreason = \"y\"\n"),
        );
        assert!(matches!(e, CalendarError::DuplicateDate { .. }), "{e}");
        let e = case(
            "2021.toml",
            &format!("{head}[[working_day]]\ndate = \"2021-01-15\"\nreason = \"x\"\n"),
        );
        assert!(
            matches!(
                e,
                CalendarError::WorkingDayNotWeekend {
                    weekday: Weekday::Fri,
                    ..
                }
            ),
            "{e}"
        );
        let e = case(
            "2021.toml",
            &format!("{head}[[day_off]]\ndate = \"2021-01-16\"\nreason = \"x\"\n"),
        );
        assert!(
            matches!(
                e,
                CalendarError::DayOffOnWeekend {
                    weekday: Weekday::Sat,
                    ..
                }
            ),
            "{e}"
        );
        let e = case(
            "2021.toml",
            &format!("{head}[[holiday]]\ndate = \"2021-01-01\"\nname = \" \"\n"),
        );
        assert!(
            matches!(e, CalendarError::EmptyText { field: "name", .. }),
            "{e}"
        );
        let e = case("2020.toml", head);
        assert!(
            matches!(
                e,
                CalendarError::FileNameYearMismatch {
                    name_year: 2020,
                    year: 2021,
                    ..
                }
            ),
            "{e}"
        );
        let e = Calendar::from_files(&[file("a.toml", head), file("b.toml", head)]).unwrap_err();
        assert!(
            matches!(e, CalendarError::DuplicateYear { year: 2021, ref other, .. } if other == "a.toml"),
            "{e}"
        );
        let e = Calendar::from_files(&[
            file("a.toml", head),
            file("b.toml", "calendar = \"pl\"\nyear = 2022\n"),
        ])
        .unwrap_err();
        assert!(matches!(e, CalendarError::CalendarIdMismatch { .. }), "{e}");
        assert_eq!(
            Calendar::from_files(&[]).unwrap_err(),
            CalendarError::NoFiles
        );
        let e = case("x.toml", "calendar = \"ua\"\nyear = 999999\n");
        assert!(matches!(e, CalendarError::InvalidYear { .. }), "{e}");
        // The message names the file.
        assert!(case("2021.toml", "calendar = 1")
            .to_string()
            .starts_with("2021.toml: "));
    }
}
