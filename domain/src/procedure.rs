//! Procedure definitions: the rules that are data (`procedure.md`, "Procedure versions").
//!
//! A definition names its deciding authority, its deadline table and the validity of a status.
//! Definitions are TOML files embedded in the binary (`domain/procedures/*.toml`) and overridable
//! from a directory, so an administrator corrects a `[default]` value without a release. A case
//! copies the whole definition that was in force on its registration date into its first event
//! (with the file's content hash): replaying the case gives the same rules for life, whatever
//! happens to the files later.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::calendar::{add_calendar_days, add_months, Calendar, SkippedDay};
use crate::types::coded_enum;

coded_enum! {
    /// The obligations that run against a deadline (`api.md` deadline names; a verification
    /// reply's deadline is named `verification_reply:<request_id>`).
    DeadlineKind {
        Interview => "interview",
        VerificationReply => "verification_reply",
        FileSubmission => "file_submission",
        Decision => "decision",
        Overall => "overall",
        NeedsAssessment => "needs_assessment",
        RehabilitationPlan => "rehabilitation_plan",
        Payment => "payment",
        Shelter => "shelter",
    }
}

coded_enum! {
    /// How a deadline's length is counted.
    DayKind {
        Calendar => "calendar",
        Working => "working",
    }
}

coded_enum! {
    /// The unit of a deadline's length.
    Unit {
        Days => "days",
        Months => "months",
    }
}

coded_enum! {
    /// Where a value came from (`procedure.md` confidence marks).
    Mark {
        Law => "law",
        Default => "default",
    }
}

coded_enum! {
    /// Conditions under which a definition may suspend a deadline. The shipped definitions declare
    /// none; a returned file restarts the submission deadline instead.
    SuspendCondition {
        /// While the file is back with the office after a return.
        FileReturned => "file_returned",
        /// While an appeal is before the court.
        AppealPending => "appeal_pending",
        /// While a verification request is unanswered and within its own deadline.
        VerificationPending => "verification_pending",
    }
}

/// A length of time: `n` days or months.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    /// How many units.
    pub length: u32,
    /// Days or months.
    pub unit: Unit,
}

/// One row of the deadline table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadlineRule {
    /// How many units.
    pub length: u32,
    /// Days or months.
    pub unit: Unit,
    /// Calendar or working days (months are always calendar months).
    #[serde(default = "default_days")]
    pub days: DayKind,
    /// Whether a due date that falls on a non-working day moves to the next working day.
    #[serde(default)]
    pub roll_to_working_day: bool,
    /// What starts it, in words (for explanations).
    pub starts_at: String,
    /// The legal source or `[default]` mark.
    pub mark: Mark,
    /// Conditions that suspend this deadline while they hold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suspended_while: Vec<SuspendCondition>,
}

fn default_days() -> DayKind {
    DayKind::Calendar
}

/// How a due date was computed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DueComputation {
    /// The due date.
    pub due_on: NaiveDate,
    /// Non-working days passed over (working-day counting and rolling forward).
    pub skipped: Vec<SkippedDay>,
    /// Some counted day lay outside the calendar's years: only weekends were skipped for it.
    pub beyond_calendar: bool,
}

impl DeadlineRule {
    /// The due date of this obligation when it starts on `start`.
    #[must_use]
    pub fn due(&self, start: NaiveDate, calendar: &Calendar) -> DueComputation {
        let (mut due_on, mut skipped, mut beyond_calendar) = match (self.unit, self.days) {
            (Unit::Days, DayKind::Working) => {
                let r = calendar.add_working_days(start, self.length);
                (r.due, r.skipped, r.beyond_calendar)
            }
            (Unit::Days, DayKind::Calendar) => {
                (add_calendar_days(start, self.length), Vec::new(), false)
            }
            (Unit::Months, _) => (add_months(start, self.length), Vec::new(), false),
        };
        if self.roll_to_working_day {
            let r = calendar.roll_forward(due_on);
            due_on = r.due;
            skipped.extend(r.skipped);
            beyond_calendar |= r.beyond_calendar;
        }
        DueComputation {
            due_on,
            skipped,
            beyond_calendar,
        }
    }

    /// The rule in words, e.g. "3 calendar days from registration".
    #[must_use]
    pub fn describe(&self) -> String {
        let unit = match (self.unit, self.days, self.length) {
            (Unit::Months, _, 1) => "month".to_string(),
            (Unit::Months, _, _) => "months".to_string(),
            (Unit::Days, d, 1) => format!("{d} day"),
            (Unit::Days, d, _) => format!("{d} days"),
        };
        let roll = if self.roll_to_working_day {
            ", moved to the next working day"
        } else {
            ""
        };
        format!(
            "{} {unit} from {}{roll} [{}]",
            self.length, self.starts_at, self.mark
        )
    }
}

/// The rule that moves a due date off a non-working day (`procedure.md`, "Deadlines": Civil Code
/// art. 254(5)), documented once per definition with its confidence mark. Which deadlines it
/// applies to is each deadline's `roll_to_working_day`, so a definition can switch it off for one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RollingRule {
    /// Whether the rule is read in the law or a default.
    pub mark: Mark,
    /// Where the rule comes from, in words.
    pub source: String,
}

/// A procedure definition as written in its file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcedureDefinition {
    /// Identifier, e.g. `ua-417-2021`.
    pub id: String,
    /// Human title.
    pub title: String,
    /// The legal acts it implements.
    #[serde(default)]
    pub sources: Vec<String>,
    /// First registration date it governs.
    pub effective_from: NaiveDate,
    /// Office code of the deciding authority (`UA-MSP`, `UA-NSS`).
    pub deciding_authority: String,
    /// The calendar (its `calendar` id, e.g. `ua`) that working days and the rolling rule count
    /// on; the rule book refuses a definition whose calendar is missing or lacks a year it needs.
    pub calendar: String,
    /// The rolling rule's source and mark (absent in definitions written before it was
    /// documented; the deadlines' own `roll_to_working_day` decides either way).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolling: Option<RollingRule>,
    /// Validity of a granted status; `None` = unlimited.
    #[serde(default)]
    pub status_validity: Option<Period>,
    /// Longest single extension of a status with a validity.
    #[serde(default)]
    pub status_extension_max: Option<Period>,
    /// The deadline table.
    pub deadlines: BTreeMap<DeadlineKind, DeadlineRule>,
    /// SHA-256 of the file the definition was read from (filled by the loader).
    #[serde(default)]
    pub content_hash: String,
}

/// A definition file that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProcedureError {
    /// The file is not valid TOML or does not have the definition's shape.
    #[error("procedure definition {file}: {message}")]
    Invalid {
        /// File name.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// The definition lacks a deadline every case needs.
    #[error("procedure definition {file} has no `{deadline}` deadline")]
    MissingDeadline {
        /// File name.
        file: String,
        /// The missing deadline.
        deadline: DeadlineKind,
    },
    /// Two definitions share an identifier or an effective date.
    #[error("procedure definitions {first} and {second} have the same {what}")]
    Duplicate {
        /// The first file.
        first: String,
        /// The second file.
        second: String,
        /// `id` or `effective_from`.
        what: &'static str,
    },
    /// The definition names a calendar the rule book does not have.
    #[error("procedure definition {file} counts on calendar `{calendar}`, which is not loaded (loaded: {loaded})")]
    UnknownCalendar {
        /// File name.
        file: String,
        /// The calendar it names.
        calendar: String,
        /// The calendars that are loaded, comma-separated.
        loaded: String,
    },
    /// The named calendar has no file for a year the definition needs: every year from the year
    /// it takes effect to the calendar's last year (a hole would count that year's holidays as
    /// working days without anyone noticing).
    #[error("procedure definition {file} counts on calendar `{calendar}`, which has no file for {year}: add {calendar}/{year}.toml to the calendars")]
    CalendarYearMissing {
        /// File name.
        file: String,
        /// The calendar it names.
        calendar: String,
        /// The first year missing.
        year: i32,
    },
    /// A directory could not be read.
    #[error("cannot read procedure directory {dir}: {message}")]
    Io {
        /// Directory.
        dir: String,
        /// The OS error.
        message: String,
    },
}

impl ProcedureDefinition {
    /// Parses one definition file.
    ///
    /// # Errors
    /// [`ProcedureError::Invalid`] or [`ProcedureError::MissingDeadline`] naming the file.
    pub fn from_toml(file: &str, text: &str) -> Result<Self, ProcedureError> {
        let mut def: ProcedureDefinition =
            toml::from_str(text).map_err(|e| ProcedureError::Invalid {
                file: file.into(),
                message: e.to_string(),
            })?;
        for kind in DeadlineKind::ALL {
            if !def.deadlines.contains_key(kind) {
                return Err(ProcedureError::MissingDeadline {
                    file: file.into(),
                    deadline: *kind,
                });
            }
        }
        if !crate::types::is_valid_office_code(&def.deciding_authority) {
            return Err(ProcedureError::Invalid {
                file: file.into(),
                message: format!(
                    "deciding_authority `{}` is not an office code",
                    def.deciding_authority
                ),
            });
        }
        for (kind, rule) in &def.deadlines {
            if rule.length == 0 {
                return Err(ProcedureError::Invalid {
                    file: file.into(),
                    message: format!("deadline `{kind}` has length 0"),
                });
            }
        }
        def.content_hash = hex::encode(Sha256::digest(text.as_bytes()));
        Ok(def)
    }

    /// The rule for one kind of deadline.
    #[must_use]
    pub fn rule(&self, kind: DeadlineKind) -> Option<&DeadlineRule> {
        self.deadlines.get(&kind)
    }
}

const BUILTIN: &[(&str, &str)] = &[
    (
        "ua-417-2012.toml",
        include_str!("../procedures/ua-417-2012.toml"),
    ),
    (
        "ua-417-2021.toml",
        include_str!("../procedures/ua-417-2021.toml"),
    ),
];

/// Everything a command needs to know about the rules: the definitions (by effective date) and
/// the working-day calendar. The engine loads it once and passes it into every command, so the
/// domain never reads a file.
#[derive(Debug, Clone)]
pub struct RuleBook {
    definitions: Vec<Arc<ProcedureDefinition>>,
    /// The calendars by id; every definition's `calendar` is one of them (checked at load).
    calendars: BTreeMap<String, Arc<Calendar>>,
    /// The calendar [`RuleBook::calendar`] returns: the latest definition's.
    calendar: Arc<Calendar>,
    /// The file each definition was read from (same order as `definitions`).
    files: Vec<String>,
}

impl RuleBook {
    /// The built-in definitions and calendar.
    ///
    /// # Errors
    /// Only if an embedded file is broken (a test proves they are not).
    pub fn builtin() -> Result<Self, ProcedureError> {
        let calendar = Calendar::builtin().map_err(|e| ProcedureError::Invalid {
            file: "calendars".into(),
            message: e.to_string(),
        })?;
        Self::from_files(
            BUILTIN
                .iter()
                .map(|(n, t)| ((*n).to_string(), (*t).to_string()))
                .collect(),
            calendar,
        )
    }

    /// The built-in definitions with a given calendar.
    ///
    /// # Errors
    /// Only if an embedded file is broken.
    pub fn from_builtin_with_calendar(calendar: Calendar) -> Result<Self, ProcedureError> {
        Self::from_files(
            BUILTIN
                .iter()
                .map(|(n, t)| ((*n).to_string(), (*t).to_string()))
                .collect(),
            calendar,
        )
    }

    /// The built-in definitions with several calendars.
    ///
    /// # Errors
    /// An embedded file is broken or names a calendar it cannot use.
    pub fn from_builtin_with_calendars(calendars: Vec<Calendar>) -> Result<Self, ProcedureError> {
        Self::from_files_with_calendars(
            BUILTIN
                .iter()
                .map(|(n, t)| ((*n).to_string(), (*t).to_string()))
                .collect(),
            calendars,
        )
    }

    /// Definitions from file contents, with a calendar.
    ///
    /// # Errors
    /// A broken file, or two definitions sharing an id or an effective date.
    pub fn from_files(
        files: Vec<(String, String)>,
        calendar: Calendar,
    ) -> Result<Self, ProcedureError> {
        Self::from_files_with_calendars(files, vec![calendar])
    }

    /// Definitions from file contents, with several calendars (one per id; a later one with the
    /// same id replaces an earlier one). Each definition must name a loaded calendar that has a
    /// file for every year from the year the definition takes effect to the calendar's last year.
    ///
    /// # Errors
    /// A broken file, two definitions sharing an id or an effective date,
    /// [`ProcedureError::UnknownCalendar`] or [`ProcedureError::CalendarYearMissing`].
    pub fn from_files_with_calendars(
        files: Vec<(String, String)>,
        calendars: Vec<Calendar>,
    ) -> Result<Self, ProcedureError> {
        let calendars: BTreeMap<String, Arc<Calendar>> = calendars
            .into_iter()
            .map(|c| (c.id().to_string(), Arc::new(c)))
            .collect();
        let mut by_id: BTreeMap<String, (String, ProcedureDefinition)> = BTreeMap::new();
        for (file, text) in files {
            let def = ProcedureDefinition::from_toml(&file, &text)?;
            // A later file with the same id replaces the earlier one (directory overrides).
            by_id.insert(def.id.clone(), (file, def));
        }
        let mut defs: Vec<(String, ProcedureDefinition)> = by_id.into_values().collect();
        defs.sort_by_key(|(_, d)| d.effective_from);
        for pair in defs.windows(2) {
            if pair[0].1.effective_from == pair[1].1.effective_from {
                return Err(ProcedureError::Duplicate {
                    first: pair[0].0.clone(),
                    second: pair[1].0.clone(),
                    what: "effective_from",
                });
            }
        }
        for (file, def) in &defs {
            check_calendar(file, def, &calendars)?;
        }
        let default_id = defs.last().map(|(_, d)| d.calendar.as_str());
        let calendar = default_id
            .and_then(|id| calendars.get(id))
            .or_else(|| calendars.values().next())
            .cloned()
            .ok_or_else(|| ProcedureError::UnknownCalendar {
                file: "(rule book)".into(),
                calendar: default_id.unwrap_or("").to_string(),
                loaded: String::new(),
            })?;
        let files = defs.iter().map(|(f, _)| f.clone()).collect();
        Ok(Self {
            definitions: defs.into_iter().map(|(_, d)| Arc::new(d)).collect(),
            calendars,
            calendar,
            files,
        })
    }

    /// The built-in definitions plus every `*.toml` in `dir` (a file with a built-in id replaces
    /// it), with the given calendar.
    ///
    /// # Errors
    /// The directory cannot be read or a file is broken.
    pub fn with_dir(dir: &Path, calendar: Calendar) -> Result<Self, ProcedureError> {
        Self::with_dir_and_calendars(dir, vec![calendar])
    }

    /// The built-in definitions plus every `*.toml` in `dir`, with several calendars.
    ///
    /// # Errors
    /// The directory cannot be read, a file is broken or names a calendar it cannot use.
    pub fn with_dir_and_calendars(
        dir: &Path,
        calendars: Vec<Calendar>,
    ) -> Result<Self, ProcedureError> {
        let mut files: Vec<(String, String)> = BUILTIN
            .iter()
            .map(|(n, t)| ((*n).to_string(), (*t).to_string()))
            .collect();
        let io = |e: std::io::Error| ProcedureError::Io {
            dir: dir.display().to_string(),
            message: e.to_string(),
        };
        let mut paths = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io)? {
            let path = entry.map_err(io)?.path();
            if path.extension().is_some_and(|e| e == "toml") {
                paths.push(path);
            }
        }
        paths.sort();
        for path in paths {
            let text = std::fs::read_to_string(&path).map_err(io)?;
            files.push((path.display().to_string(), text));
        }
        Self::from_files_with_calendars(files, calendars)
    }

    /// All definitions, oldest first.
    #[must_use]
    pub fn definitions(&self) -> &[Arc<ProcedureDefinition>] {
        &self.definitions
    }

    /// The definition in force on `date`: the latest whose effective date is on or before it.
    #[must_use]
    pub fn in_force_on(&self, date: NaiveDate) -> Option<&Arc<ProcedureDefinition>> {
        self.definitions
            .iter()
            .rev()
            .find(|d| d.effective_from <= date)
    }

    /// A definition by id.
    #[must_use]
    pub fn get(&self, id: &str) -> Option<&Arc<ProcedureDefinition>> {
        self.definitions.iter().find(|d| d.id == id)
    }

    /// The calendar of the latest definition (for warnings about its last year and for
    /// `ptl calendar show`); a case counts on its own definition's ([`RuleBook::calendar_for`]).
    #[must_use]
    pub fn calendar(&self) -> &Calendar {
        &self.calendar
    }

    /// The calendar a definition counts on (its `calendar` field). A case carries a copy of its
    /// definition, which may name a calendar no longer loaded: it then counts on the default one.
    #[must_use]
    pub fn calendar_for(&self, def: &ProcedureDefinition) -> &Calendar {
        match self.calendars.get(&def.calendar) {
            Some(c) => c,
            None => self.calendar(),
        }
    }

    /// The calendar a case counts on: its own definition's, or the default one before it has one.
    #[must_use]
    pub fn calendar_for_case(&self, state: &crate::state::CaseState) -> &Calendar {
        state
            .procedure()
            .map_or_else(|| self.calendar(), |d| self.calendar_for(d))
    }

    /// A calendar by id.
    #[must_use]
    pub fn calendar_by_id(&self, id: &str) -> Option<&Calendar> {
        self.calendars.get(id).map(|c| &**c)
    }

    /// Every loaded calendar, by id.
    pub fn calendars(&self) -> impl Iterator<Item = &Calendar> + '_ {
        self.calendars.values().map(|c| &**c)
    }

    /// The file a definition was read from (built-in ones as `<id>.toml`), for `ptl procedures`
    /// and the API.
    #[must_use]
    pub fn source_file(&self, id: &str) -> Option<&str> {
        self.definitions
            .iter()
            .position(|d| d.id == id)
            .and_then(|i| self.files.get(i))
            .map(String::as_str)
    }
}

/// Refuses a definition whose calendar is not loaded or has a hole between the year the
/// definition takes effect and the calendar's last year.
fn check_calendar(
    file: &str,
    def: &ProcedureDefinition,
    calendars: &BTreeMap<String, Arc<Calendar>>,
) -> Result<(), ProcedureError> {
    let Some(cal) = calendars.get(&def.calendar) else {
        return Err(ProcedureError::UnknownCalendar {
            file: file.into(),
            calendar: def.calendar.clone(),
            loaded: calendars.keys().cloned().collect::<Vec<_>>().join(", "),
        });
    };
    let first = def.effective_from.year();
    let last = cal.years().last().unwrap_or(first).max(first);
    let covered: std::collections::BTreeSet<i32> = cal.years().collect();
    match (first..=last).find(|y| !covered.contains(y)) {
        Some(year) => Err(ProcedureError::CalendarYearMissing {
            file: file.into(),
            calendar: def.calendar.clone(),
            year,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book() -> RuleBook {
        match RuleBook::builtin() {
            Ok(b) => b,
            Err(e) => panic!("built-in rule book: {e}"),
        }
    }

    #[test]
    fn the_built_in_definitions_load_with_every_deadline() {
        let b = book();
        let ids: Vec<&str> = b.definitions().iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, ["ua-417-2012", "ua-417-2021"]);
        for d in b.definitions() {
            assert_eq!(d.deadlines.len(), DeadlineKind::ALL.len());
            assert_eq!(d.content_hash.len(), 64);
        }
    }

    #[test]
    fn the_definition_in_force_follows_the_effective_date() {
        let b = book();
        let on = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
        let id = |d: Option<NaiveDate>| {
            d.and_then(|d| b.in_force_on(d))
                .map(|d| d.deciding_authority.clone())
        };
        assert_eq!(id(on("2012-05-23")), Some("UA-MSP".into()));
        assert_eq!(id(on("2021-05-31")), Some("UA-MSP".into()));
        assert_eq!(id(on("2021-06-01")), Some("UA-NSS".into()));
        assert_eq!(id(on("2011-01-01")), None);
    }

    #[test]
    fn a_definition_without_a_deadline_is_refused_by_name() {
        let text = BUILTIN[0]
            .1
            .replace("[deadlines.payment]", "[ignored_payment]");
        let err = ProcedureDefinition::from_toml("x.toml", &text).err();
        assert!(matches!(
            err,
            Some(ProcedureError::Invalid { .. }) | Some(ProcedureError::MissingDeadline { .. })
        ));
    }

    #[test]
    fn two_definitions_with_one_effective_date_are_refused() {
        let second = BUILTIN[1]
            .1
            .replace("2021-06-01", "2012-05-23")
            .replace("ua-417-2021", "ua-other");
        let files = vec![
            ("a.toml".to_string(), BUILTIN[0].1.to_string()),
            ("b.toml".to_string(), second),
        ];
        let cal = Calendar::builtin().unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            RuleBook::from_files(files, cal),
            Err(ProcedureError::Duplicate { .. })
        ));
    }
}
