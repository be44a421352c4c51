//! Deadlines ending on a non-working day (`procedure.md`, "Deadlines": the shipped definitions
//! move them to the next working day, [default]) and the definition's `calendar` field (the
//! calendar a case counts on, refused at load when it lacks a year the definition needs).

use std::sync::Arc;

use super::{caseworker, d, registration, Case};
use crate::command::Action;
use crate::event::EventBody;
use crate::procedure::{DeadlineKind, ProcedureError, RuleBook};
use crate::types::{Actor, ConsentScope, GivenBy};
use crate::{decide, evolve, Calendar, DomainError, Unavailable};

const DEF_2012: &str = include_str!("../../procedures/ua-417-2012.toml");
const DEF_2021: &str = include_str!("../../procedures/ua-417-2021.toml");
const CAL_2012: &str = include_str!("../../calendars/ua/2012.toml");
const CAL_2013: &str = include_str!("../../calendars/ua/2013.toml");
const CAL_2014: &str = include_str!("../../calendars/ua/2014.toml");
const CAL_2026: &str = include_str!("../../calendars/ua/2026.toml");

/// Registered on Thursday 5 March 2026 (martial law: weekends are the only rest days).
fn registered_on_a_thursday() -> Case {
    Case::new("2026-03-05").given(
        caseworker(),
        "2026-03-05",
        Action::Register(Box::new(registration("2026-03-05"))),
    )
}

#[test]
fn a_deadline_ending_on_a_sunday_falls_due_on_the_monday_after() {
    let c = registered_on_a_thursday();
    // 3 days from Thursday 5 March is Sunday 8 March: due Monday 9 March.
    assert_eq!(c.state.deadlines["interview"].due_on, d("2026-03-09"));
    // 10 days: Sunday 15 March -> Monday 16 March.
    assert_eq!(c.state.deadlines["file_submission"].due_on, d("2026-03-16"));
    // 1 month: Sunday 5 April -> Monday 6 April.
    assert_eq!(c.state.deadlines["overall"].due_on, d("2026-04-06"));
}

#[test]
fn an_interview_on_the_monday_after_a_sunday_due_date_is_met_and_no_miss_is_recorded() {
    use crate::deadlines::{deadline_state, DeadlineState};
    let c = registered_on_a_thursday().at("2026-03-09");
    // given the Sunday has passed, when the engine looks for misses on Monday, then none.
    let r = c.when(
        Actor::system(),
        "2026-03-09",
        Action::RecordMissedDeadline {
            name: DeadlineKind::Interview.into(),
        },
    );
    match r {
        Err(DomainError::ActionNotAllowed {
            reason: Unavailable::NotAnUnrecordedMiss { name },
            ..
        }) => assert_eq!(name.as_str(), "interview"),
        other => panic!("expected NotAnUnrecordedMiss, got {other:?}"),
    }
    // when the interview is recorded that Monday, then the deadline is met.
    let c = c
        .given(
            caseworker(),
            "2026-03-09",
            Action::RecordConsent {
                scope: ConsentScope::StatusProcedure,
                given_by: GivenBy::Person,
            },
        )
        .given(
            caseworker(),
            "2026-03-09",
            Action::RecordInterview {
                consent_signed_by: GivenBy::Person,
                non_disclosure_receipt_signed: true,
            },
        );
    assert_eq!(
        deadline_state(&c.state.deadlines["interview"], d("2026-03-20")),
        DeadlineState::Met
    );
}

#[test]
fn the_miss_is_recorded_on_the_tuesday_with_the_monday_due_date() {
    let c = registered_on_a_thursday().at("2026-03-10").given(
        Actor::system(),
        "2026-03-10",
        Action::RecordMissedDeadline {
            name: DeadlineKind::Interview.into(),
        },
    );
    match c.events.last().map(|e| &e.body) {
        Some(EventBody::DeadlineMissed { due_on, .. }) => assert_eq!(*due_on, d("2026-03-09")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn before_martial_law_a_deadline_ending_on_a_transferred_day_off_rolls_past_it() {
    // Friday 31 December 2021 + 3 days = Monday 3 January 2022, the day off for New Year on a
    // Saturday: due Tuesday 4 January. 10 days = Monday 10 January, a working day: stays.
    let c = Case::new("2021-12-31").given(
        caseworker(),
        "2021-12-31",
        Action::Register(Box::new(registration("2021-12-31"))),
    );
    assert_eq!(c.state.deadlines["interview"].due_on, d("2022-01-04"));
    assert_eq!(c.state.deadlines["file_submission"].due_on, d("2022-01-10"));
}

/// The built-in files with `replace` applied to the 2021 definition.
fn book_with_2021(
    replace: &[(&str, &str)],
    calendars: Vec<Calendar>,
) -> Result<RuleBook, ProcedureError> {
    let mut def = DEF_2021.to_string();
    for (from, to) in replace {
        def = def.replacen(from, to, 1);
    }
    RuleBook::from_files_with_calendars(
        vec![
            ("ua-417-2012.toml".into(), DEF_2012.into()),
            ("ua-417-2021.toml".into(), def),
        ],
        calendars,
    )
}

/// `case` registered on `on` under `book`.
fn register_with(book: &Arc<RuleBook>, on: &str) -> Case {
    let mut c = Case::new(on);
    let mut cmd = c.cmd(
        caseworker(),
        on,
        Action::Register(Box::new(registration(on))),
    );
    cmd.rules = book.clone();
    for e in decide(&c.state, cmd).expect("registered") {
        c.events.push(e.clone());
        c.state = evolve(c.state, e);
    }
    c
}

#[test]
fn a_definition_can_switch_the_rolling_off_for_one_deadline() {
    let book = book_with_2021(
        &[(
            "starts_at = \"registration\"\nroll_to_working_day = true",
            "starts_at = \"registration\"\nroll_to_working_day = false",
        )],
        vec![Calendar::builtin().expect("calendar")],
    )
    .expect("book");
    let c = register_with(&Arc::new(book), "2026-03-05");
    // The interview's due date stays on Sunday 8 March; the others still roll.
    assert_eq!(c.state.deadlines["interview"].due_on, d("2026-03-08"));
    assert_eq!(c.state.deadlines["file_submission"].due_on, d("2026-03-16"));
}

#[test]
fn the_shipped_definitions_roll_every_deadline_and_mark_the_rule_default() {
    let book = RuleBook::builtin().expect("rules");
    for def in book.definitions() {
        for (kind, rule) in &def.deadlines {
            assert!(rule.roll_to_working_day, "{} {kind}", def.id);
        }
        let rolling = def.rolling.as_ref().expect("rolling rule documented");
        assert_eq!(rolling.mark, crate::procedure::Mark::Default);
        assert!(rolling.source.contains("254(5)"), "{}", rolling.source);
    }
}

#[test]
fn the_calendar_the_definition_names_is_the_one_its_cases_count_on() {
    // Calendar "xx" makes Monday 9 March 2026 a holiday; the 2021 definition names it.
    let xx = Calendar::from_files(&[(
        "xx/2026.toml".into(),
        format!(
            "{}\n[[holiday]]\ndate = \"2026-03-09\"\nname = \"Test holiday\"\n",
            CAL_2026.replace("calendar = \"ua\"", "calendar = \"xx\"")
        ),
    )])
    .expect("xx");
    let book = book_with_2021(
        &[
            ("calendar = \"ua\"", "calendar = \"xx\""),
            (
                "effective_from = \"2021-06-01\"",
                "effective_from = \"2026-01-01\"",
            ),
        ],
        vec![Calendar::builtin().expect("ua"), xx],
    )
    .expect("book");
    let book = Arc::new(book);
    let c = register_with(&book, "2026-03-05");
    // Sunday 8 March rolls past the xx holiday on Monday 9 March to Tuesday 10 March.
    assert_eq!(c.state.deadlines["interview"].due_on, d("2026-03-10"));
    assert_eq!(book.calendar_for_case(&c.state).id(), "xx");
    // A 2025 case under the 2012 definition still counts on "ua".
    let c = register_with(&book, "2025-03-06");
    assert_eq!(book.calendar_for_case(&c.state).id(), "ua");
}

#[test]
fn a_definition_naming_a_calendar_that_is_not_loaded_is_refused_at_load() {
    let err = book_with_2021(
        &[("calendar = \"ua\"", "calendar = \"pl\"")],
        vec![Calendar::builtin().expect("ua")],
    )
    .err();
    assert_eq!(
        err,
        Some(ProcedureError::UnknownCalendar {
            file: "ua-417-2021.toml".into(),
            calendar: "pl".into(),
            loaded: "ua".into(),
        })
    );
}

#[test]
fn a_definition_whose_calendar_lacks_a_year_it_needs_is_refused_at_load() {
    // Only 2012 and 2014: the 2012 definition needs 2013 as well.
    let files = |years: &[(&str, &str)]| {
        years
            .iter()
            .map(|(n, t)| ((*n).to_string(), (*t).to_string()))
            .collect::<Vec<_>>()
    };
    let holed = Calendar::from_files(&files(&[("2012.toml", CAL_2012), ("2014.toml", CAL_2014)]))
        .expect("calendar");
    let err = book_with_2021(&[], vec![holed]).err();
    assert_eq!(
        err,
        Some(ProcedureError::CalendarYearMissing {
            file: "ua-417-2012.toml".into(),
            calendar: "ua".into(),
            year: 2013,
        })
    );
    // 2012..2014 without a hole: the 2021 definition's first year is missing.
    let short = Calendar::from_files(&files(&[
        ("2012.toml", CAL_2012),
        ("2013.toml", CAL_2013),
        ("2014.toml", CAL_2014),
    ]))
    .expect("calendar");
    let err = book_with_2021(&[], vec![short]).expect_err("refused");
    assert_eq!(
        err,
        ProcedureError::CalendarYearMissing {
            file: "ua-417-2021.toml".into(),
            calendar: "ua".into(),
            year: 2021,
        }
    );
    assert_eq!(
        err.to_string(),
        "procedure definition ua-417-2021.toml counts on calendar `ua`, which has no file for 2021: add ua/2021.toml to the calendars"
    );
}
