//! Demonstration data: fictitious cases moved through the real engine, so that a newcomer sees a
//! living system (work queue, deadlines, statistics, case histories) instead of an empty store.
//!
//! Everything goes THROUGH THE ENGINE: each case is registered with [`Engine::register`] and moved
//! on with [`Engine::execute`], by the role the procedure names (caseworker, supervisor, social
//! worker, the decision officer of the authority holding the file), so the domain rules, the hash
//! chain, the vault and the read models are exercised exactly as by the API. No SQL is written.
//!
//! Dates: the business dates (`occurred_on`) are spread over the 90 days ending on `today`
//! (registrations strictly increasing in case order, `Cherkasy` from `today - 88` to
//! `today - 1`, referrals up to 4 days before their registration); no date is
//! ever after `today`, and the engine's clock must read `today` or later in Kyiv (the rules refuse
//! a date in the future). Later steps of a case follow its registration by a few days each, drawn
//! from a seeded generator and capped at `today`.
//!
//! Determinism: names, birth dates, gaps between steps, countries and vault record ids come from a
//! SplitMix64 generator seeded per scenario, so two runs for the same `today` write the same facts
//! and the same figures (case ids are the engine's random UUIDs). The demo refuses a store that
//! already holds cases: the figures below are those of an empty store, and demonstration cases
//! have no place in a real register.
//!
//! Personal data is fictitious: names are drawn from lists of common Ukrainian first names,
//! patronymics and surnames (and a few foreign ones for foreign applicants), phone numbers use the
//! non-existent operator code `00`, identity document numbers start with `00`. It goes to the vault
//! through [`Personal`] (the person record, referral organisations, notes, reasons, references),
//! never into event payloads.
//!
//! # `Cherkasy` and `CherkasyToday`: the figures of the regional report
//!
//! 24 applications, 7 statuses granted, 3 files at the deciding authority, as in the Cherkasy
//! report. `CherkasyToday` spreads them over the 90 days to `today` in today's four districts, so
//! its files go to `UA-NSS` (the authority of `ua-417-2021`). `Cherkasy` puts them where the report
//! was written (`procedure.md`, "Reporting"): the 90 days to [`CHERKASY_PERIOD_END`] (30.06.2020),
//! under `ua-417-2012`, each case in one of the 20 districts that the 2020 reform later merged into
//! the row's district (in turn, so every old district has a case), the files at the Ministry of
//! Social Policy (`UA-MSP`); the legal clock hands the 3 pending files to the National Social
//! Service on 2021-06-01. The distribution (offsets are days before the period's last day; the
//! district is today's; `G` granted, `P` pending at the authority):
//!
//! | # | days ago | district | applicant | referral | where the case stands |
//! | --- | --- | --- | --- | --- | --- |
//! | 1 | 88 | UA7108 | woman | hotline | G, handed over; social services, needs, plan, shelter, payment paid |
//! | 2 | 85 | UA7106 | woman | ngo | G, handed over; social services, needs, plan, payment paid |
//! | 3 | 82 | UA7104 | man | police | withdrawn after the interview |
//! | 4 | 79 | UA7108 | girl, 16, legal representative | police | G, handed over; social services, needs, plan, shelter, payment requested |
//! | 5 | 76 | UA7102 | man | mdg | G after one return of the file, handed over; payment paid |
//! | 6 | 72 | UA7106 | foreign woman, interpreter, no identity document | ngo | refused (police did not confirm), handed over; shelter |
//! | 7 | 68 | UA7108 | woman | hotline | G, handed over; social services, needs, payment requested |
//! | 8 | 64 | UA7104 | woman | self | verification: police request unanswered (overdue) |
//! | 9 | 60 | UA7106 | man | police | G, handed over; social services, needs, plan |
//! | 10 | 55 | UA7102 | woman | hotline | G, not yet handed over; social services, needs |
//! | 11 | 50 | UA7108 | stateless man, speaks Russian | ngo | verification: police confirmed, migration service awaited |
//! | 12 | 45 | UA7104 | boy, 15, legal representative | mdg | verification: police inconclusive, medical request awaited |
//! | 13 | 40 | UA7106 | woman | ngo | P |
//! | 14 | 36 | UA7108 | man | police | P |
//! | 15 | 32 | UA7102 | foreign man, interpreter, no identity document | hotline | verification: police confirmed, migration service awaited; shelter |
//! | 16 | 28 | UA7108 | woman | mdg | P |
//! | 17 | 24 | UA7106 | girl, 10, person aware of the child | ngo | interview skipped (young age) |
//! | 18 | 20 | UA7104 | woman | hotline | verification: police request unanswered |
//! | 19 | 16 | UA7108 | man | self | interview skipped (already recognised in criminal proceedings) |
//! | 20 | 12 | UA7102 | woman | police | verification: police request awaited |
//! | 21 | 9 | UA7106 | woman | ngo | verification: police confirmed, registration card attached |
//! | 22 | 6 | UA7104 | man | hotline | interview done |
//! | 23 | 3 | UA7108 | woman | self | registered |
//! | 24 | 1 | UA7102 | girl, 17, legal representative | mdg | registered |
//!
//! Totals over `[today - 89, today]` for `UA71`: applications 24 (UA7108 8, UA7106 6, UA7104 5,
//! UA7102 5); children 4; foreigners 3 (2 foreign with an interpreter, 1 stateless); referral
//! sources hotline 6, ngo 6, police 5, mdg 4, self 3; interviews 20 (2 lawful skips); files
//! submitted 12 (11 files, one submitted twice) and returned 1; granted 7, refused 1; certificates
//! handed over 6; needs assessments 6; rehabilitation plans 4; shelter placements 4; payments 3;
//! pending at the authority 3; the other 14: verification 7, interview done 3, registered 2,
//! withdrawn 1, refused 1. Deadlines missed: 0 (the engine's scheduler records misses, not the
//! demo; the old cases still in verification show as overdue).
//!
//! # `Basic`: a smaller mix
//!
//! 8 cases over the same 90 days: 2 granted (one handed over with social services, plan, shelter
//! and payment; one child handed over with a needs assessment), 1 withdrawn, 1 pending at the
//! authority (a foreigner with an interpreter), 2 in verification, 1 interview done, 1 registered.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, Days, Months, NaiveDate};
use ptl_domain::command::{ApplicantInput, ReferralInput};
use ptl_domain::event::PlannedService;
use ptl_domain::types::{
    Citizenship, Conclusion, ConsentScope, DocumentKind, ExploitationForm, FiledBy, GivenBy, Need,
    ReferralSource, ReplyOutcome, Sex, SkipGround, VerificationTarget,
};
use ptl_domain::{Action, Actor, CaseState, RecordRef, Register, Role};
use ptl_engine::pipeline::{Engine, Personal};
use ptl_engine::vault::PersonalText;
use serde_json::{json, Value};
use uuid::Uuid;

/// Which set of demonstration cases to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// Eight cases: a small mix of every stage.
    Basic,
    /// The 24 cases of the Cherkasy regional report in its own period (90 days to
    /// [`CHERKASY_PERIOD_END`]), in the 20 districts of the time, under `ua-417-2012`: 7 granted,
    /// 3 files pending at the Ministry of Social Policy.
    Cherkasy,
    /// The same 24 cases over the 90 days to today, in today's four districts, the files at the
    /// National Social Service.
    CherkasyToday,
}

impl Scenario {
    /// Every scenario, in declaration order.
    pub const ALL: [Scenario; 3] = [Scenario::Basic, Scenario::Cherkasy, Scenario::CherkasyToday];

    /// The spelling used on the command line.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Basic => "basic",
            Self::Cherkasy => "cherkasy",
            Self::CherkasyToday => "cherkasy-today",
        }
    }

    const fn seed(self) -> u64 {
        match self {
            Self::Basic => 0x5EED_0000_0000_0008,
            Self::Cherkasy | Self::CherkasyToday => 0x5EED_0000_0000_0071,
        }
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scenario {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "`{}` is not a demo scenario; expected one of: basic, cherkasy, cherkasy-today",
                    s.chars().take(64).collect::<String>()
                )
            })
    }
}

/// What the demo wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoReport {
    /// Cases registered.
    pub cases: usize,
    /// Events recorded over all of them.
    pub events: usize,
}

/// Fills an empty store with the scenario's fictitious cases, through the engine, with business
/// dates in the 90 days ending on `today` (see the module docs for the distribution).
///
/// # Errors
/// A sentence naming the problem: the engine's clock reads a day before `today` in Kyiv, the
/// store already holds cases, or a command could not be recorded or was refused (naming the demo
/// case, the action and the date).
pub async fn demo(
    engine: &Engine,
    scenario: Scenario,
    today: NaiveDate,
) -> Result<DemoReport, String> {
    let clock_day = ptl_domain::kyiv_date(engine.clock().now());
    if clock_day < today {
        return Err(format!(
            "the engine's clock reads {clock_day} in Kyiv, before the demo's today {today}: the rules refuse business dates in the future"
        ));
    }
    let existing = engine
        .case_ids()
        .await
        .map_err(|e| format!("cannot read the store: {e}"))?;
    if !existing.is_empty() {
        return Err(format!(
            "the store already holds {} case(s); the demo fills an empty store only",
            existing.len()
        ));
    }
    let (specs, end) = match scenario {
        Scenario::Basic => (basic(), today),
        Scenario::Cherkasy => (
            in_the_districts_of_the_time(cherkasy()),
            CHERKASY_PERIOD_END,
        ),
        Scenario::CherkasyToday => (cherkasy(), today),
    };
    let mut w = Writer {
        engine,
        today: end,
        rng: Rng(scenario.seed()),
        events: 0,
        certificates: 0,
        names: HashSet::new(),
    };
    for (i, spec) in specs.iter().enumerate() {
        w.case(i + 1, spec).await?;
    }
    Ok(DemoReport {
        cases: specs.len(),
        events: w.events,
    })
}

// ---------------------------------------------------------------------------------------------
// The scenarios.

/// Who applies.
#[derive(Debug, Clone, Copy)]
enum Who {
    Woman,
    Man,
    /// A child of `age` years, filed by `filed_by`.
    Child {
        female: bool,
        age: i32,
        filed_by: FiledBy,
    },
    /// A foreign or stateless adult.
    Foreigner {
        female: bool,
        stateless: bool,
        /// Speaks neither Ukrainian nor Russian: an interpreter was used.
        interpreter: bool,
        /// Came without an identity document (the reason goes to the vault).
        no_id: bool,
    },
}

impl Who {
    fn female(self) -> bool {
        match self {
            Who::Woman => true,
            Who::Man => false,
            Who::Child { female, .. } | Who::Foreigner { female, .. } => female,
        }
    }
    fn child(self) -> bool {
        matches!(self, Who::Child { .. })
    }
    fn foreigner(self) -> bool {
        matches!(self, Who::Foreigner { .. })
    }
}

/// How far the verification went for a case left in verification.
#[derive(Debug, Clone, Copy)]
enum Verif {
    /// The police request awaits its reply.
    Awaiting,
    /// The police confirmed (a foreigner's migration-service request still awaits); the
    /// registration card is attached.
    Replied,
    /// The police reply was inconclusive; a request to a medical institution awaits.
    SecondRequest,
}

/// Assistance and hand-over for a granted case.
#[derive(Debug, Clone, Copy)]
struct Help {
    handed_over: bool,
    returned_once: bool,
    social: bool,
    plan: bool,
    payment: Pay,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pay {
    No,
    Requested,
    Paid,
}

/// Where the case stops.
#[derive(Debug, Clone, Copy)]
enum Stop {
    Registered,
    /// Interview done; `Some(ground)` for a lawful skip.
    Interviewed(Option<SkipGround>),
    Withdrawn,
    Verification(Verif),
    Pending,
    Refused,
    Granted(Help),
}

#[derive(Debug, Clone, Copy)]
struct Spec {
    days_ago: u64,
    office: &'static str,
    who: Who,
    source: ReferralSource,
    shelter: bool,
    stop: Stop,
}

const fn spec(
    days_ago: u64,
    office: &'static str,
    who: Who,
    source: ReferralSource,
    stop: Stop,
) -> Spec {
    Spec {
        days_ago,
        office,
        who,
        source,
        shelter: false,
        stop,
    }
}

const fn sheltered(mut s: Spec) -> Spec {
    s.shelter = true;
    s
}

const fn granted(handed_over: bool, social: bool, plan: bool, payment: Pay) -> Stop {
    Stop::Granted(Help {
        handed_over,
        returned_once: false,
        social,
        plan,
        payment,
    })
}

const fn child(female: bool, age: i32, filed_by: FiledBy) -> Who {
    Who::Child {
        female,
        age,
        filed_by,
    }
}

const fn foreigner(female: bool, stateless: bool, interpreter: bool, no_id: bool) -> Who {
    Who::Foreigner {
        female,
        stateless,
        interpreter,
        no_id,
    }
}

/// The last day of the period of the Cherkasy report in the `cherkasy` scenario: before the 2020
/// reform of the districts and before the 2021 definition, so its files went to the Ministry of
/// Social Policy in the 20 districts of the time.
pub const CHERKASY_PERIOD_END: NaiveDate = match NaiveDate::from_ymd_opt(2020, 6, 30) {
    Some(d) => d,
    None => panic!("a valid date"),
};

/// The same cases in the districts that existed before the 2020 reform: each case of a current
/// district goes to one of the districts it succeeded, in turn, so every one of the 20 has a case
/// and the figures by today's successor are those of the table.
fn in_the_districts_of_the_time(mut specs: Vec<Spec>) -> Vec<Spec> {
    let mut turn: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for s in &mut specs {
        let old: Vec<&'static str> = crate::offices::CHERKASY_OLD_DISTRICTS
            .iter()
            .filter(|d| d.3 == s.office)
            .map(|d| d.0)
            .collect();
        if old.is_empty() {
            continue;
        }
        let k = turn.entry(s.office).or_default();
        s.office = old[*k % old.len()];
        *k += 1;
    }
    specs
}

/// The district that holds an office's cases today (itself for the current four).
fn today_district(office: &str) -> &str {
    crate::offices::CHERKASY_OLD_DISTRICTS
        .iter()
        .find(|d| d.0 == office)
        .map_or(office, |d| d.3)
}

/// The distribution of the module docs' table, row by row.
fn cherkasy() -> Vec<Spec> {
    use ReferralSource as S;
    use Who::{Man, Woman};
    const LR: FiledBy = FiledBy::LegalRepresentative;
    vec![
        sheltered(spec(
            88,
            "UA7108",
            Woman,
            S::Hotline,
            granted(true, true, true, Pay::Paid),
        )),
        spec(
            85,
            "UA7106",
            Woman,
            S::Ngo,
            granted(true, true, true, Pay::Paid),
        ),
        spec(82, "UA7104", Man, S::Police, Stop::Withdrawn),
        sheltered(spec(
            79,
            "UA7108",
            child(true, 16, LR),
            S::Police,
            granted(true, true, true, Pay::Requested),
        )),
        spec(
            76,
            "UA7102",
            Man,
            S::Mdg,
            Stop::Granted(Help {
                handed_over: true,
                returned_once: true,
                social: false,
                plan: false,
                payment: Pay::Paid,
            }),
        ),
        sheltered(spec(
            72,
            "UA7106",
            foreigner(true, false, true, true),
            S::Ngo,
            Stop::Refused,
        )),
        spec(
            68,
            "UA7108",
            Woman,
            S::Hotline,
            granted(true, true, false, Pay::Requested),
        ),
        spec(
            64,
            "UA7104",
            Woman,
            S::SelfReferral,
            Stop::Verification(Verif::Awaiting),
        ),
        spec(
            60,
            "UA7106",
            Man,
            S::Police,
            granted(true, true, true, Pay::No),
        ),
        spec(
            55,
            "UA7102",
            Woman,
            S::Hotline,
            granted(false, true, false, Pay::No),
        ),
        spec(
            50,
            "UA7108",
            foreigner(false, true, false, false),
            S::Ngo,
            Stop::Verification(Verif::Replied),
        ),
        spec(
            45,
            "UA7104",
            child(false, 15, LR),
            S::Mdg,
            Stop::Verification(Verif::SecondRequest),
        ),
        spec(40, "UA7106", Woman, S::Ngo, Stop::Pending),
        spec(36, "UA7108", Man, S::Police, Stop::Pending),
        sheltered(spec(
            32,
            "UA7102",
            foreigner(false, false, true, true),
            S::Hotline,
            Stop::Verification(Verif::Replied),
        )),
        spec(28, "UA7108", Woman, S::Mdg, Stop::Pending),
        spec(
            24,
            "UA7106",
            child(true, 10, FiledBy::PersonAwareOfChild),
            S::Ngo,
            Stop::Interviewed(Some(SkipGround::ImpossibleYoungAge)),
        ),
        spec(
            20,
            "UA7104",
            Woman,
            S::Hotline,
            Stop::Verification(Verif::Awaiting),
        ),
        spec(
            16,
            "UA7108",
            Man,
            S::SelfReferral,
            Stop::Interviewed(Some(SkipGround::AlreadyRecognised)),
        ),
        spec(
            12,
            "UA7102",
            Woman,
            S::Police,
            Stop::Verification(Verif::Awaiting),
        ),
        spec(
            9,
            "UA7106",
            Woman,
            S::Ngo,
            Stop::Verification(Verif::Replied),
        ),
        spec(6, "UA7104", Man, S::Hotline, Stop::Interviewed(None)),
        spec(3, "UA7108", Woman, S::SelfReferral, Stop::Registered),
        spec(1, "UA7102", child(true, 17, LR), S::Mdg, Stop::Registered),
    ]
}

/// Eight cases, one or two at each stage.
fn basic() -> Vec<Spec> {
    use ReferralSource as S;
    use Who::{Man, Woman};
    vec![
        sheltered(spec(
            80,
            "UA7108",
            Woman,
            S::Hotline,
            granted(true, true, true, Pay::Paid),
        )),
        spec(
            66,
            "UA7102",
            child(true, 15, FiledBy::LegalRepresentative),
            S::Police,
            granted(true, true, false, Pay::No),
        ),
        spec(52, "UA7106", Man, S::Ngo, Stop::Withdrawn),
        spec(
            38,
            "UA7104",
            foreigner(true, false, true, false),
            S::Ngo,
            Stop::Pending,
        ),
        spec(
            25,
            "UA7108",
            Man,
            S::Mdg,
            Stop::Verification(Verif::Replied),
        ),
        spec(
            14,
            "UA7106",
            Woman,
            S::Police,
            Stop::Verification(Verif::Awaiting),
        ),
        spec(7, "UA7102", Woman, S::SelfReferral, Stop::Interviewed(None)),
        spec(2, "UA7104", Man, S::Hotline, Stop::Registered),
    ]
}

// ---------------------------------------------------------------------------------------------
// Fictitious personal data.

const FEMALE: &[&str] = &[
    "Олена",
    "Ірина",
    "Наталія",
    "Оксана",
    "Тетяна",
    "Світлана",
    "Марія",
    "Юлія",
    "Вікторія",
    "Галина",
    "Людмила",
    "Ганна",
    "Катерина",
    "Христина",
    "Дарина",
    "Софія",
    "Анастасія",
    "Зоряна",
    "Леся",
    "Надія",
];
const MALE: &[&str] = &[
    "Андрій",
    "Олександр",
    "Сергій",
    "Віталій",
    "Богдан",
    "Тарас",
    "Микола",
    "Роман",
    "Дмитро",
    "Василь",
    "Ігор",
    "Петро",
    "Юрій",
    "Олег",
    "Максим",
    "Степан",
];
const SURNAMES: &[&str] = &[
    "Коваленко",
    "Бондаренко",
    "Ткаченко",
    "Кравченко",
    "Шевчук",
    "Бойко",
    "Мельник",
    "Лисенко",
    "Гнатюк",
    "Савчук",
    "Марченко",
    "Руденко",
    "Остапчук",
    "Кушнір",
    "Дорошенко",
    "Гаврилюк",
    "Яковенко",
    "Приходько",
    "Зінченко",
    "Данильчук",
    "Поліщук",
    "Левченко",
    "Сидорчук",
    "Головко",
];
const FATHERS: &[(&str, &str)] = &[
    ("Іванівна", "Іванович"),
    ("Петрівна", "Петрович"),
    ("Миколаївна", "Миколайович"),
    ("Василівна", "Васильович"),
    ("Олександрівна", "Олександрович"),
    ("Сергіївна", "Сергійович"),
    ("Андріївна", "Андрійович"),
    ("Володимирівна", "Володимирович"),
    ("Григорівна", "Григорович"),
    ("Степанівна", "Степанович"),
];
const FOREIGN_FEMALE: &[&str] = &[
    "Нгуєн Тхі Лан",
    "Ніна Чебану",
    "Айгуль Турсунова",
    "Маріанна Попеску",
];
const FOREIGN_MALE: &[&str] = &["Азіз Каримов", "Іон Русу", "Фарід Алієв", "Бахтієр Юсупов"];
/// The country of citizenship (`applicant.citizenship_country`) that goes with each foreign name.
const FOREIGN_CITIZENSHIP: &[(&str, &str)] = &[
    ("Нгуєн Тхі Лан", "VN"),
    ("Ніна Чебану", "MD"),
    ("Айгуль Турсунова", "UZ"),
    ("Маріанна Попеску", "MD"),
    ("Азіз Каримов", "UZ"),
    ("Іон Русу", "MD"),
    ("Фарід Алієв", "AZ"),
    ("Бахтієр Юсупов", "UZ"),
];
const STREETS: &[&str] = &[
    "Садова",
    "Соборна",
    "Незалежності",
    "Лесі Українки",
    "Польова",
    "Вишнева",
    "Героїв Майдану",
    "Шкільна",
];
const COUNTRIES: &[&str] = &[
    "PL", "RU", "DE", "CZ", "IL", "TR", "AE", "IT", "UA", "PL", "CZ",
];
const ADULT_FORMS: &[ExploitationForm] = &[
    ExploitationForm::Labour,
    ExploitationForm::Labour,
    ExploitationForm::Labour,
    ExploitationForm::Sexual,
    ExploitationForm::Sexual,
    ExploitationForm::Servitude,
    ExploitationForm::CriminalActivity,
];

fn town(office: &str) -> &'static str {
    match today_district(office) {
        "UA7102" => "м. Звенигородка",
        "UA7104" => "м. Золотоноша",
        "UA7106" => "м. Умань",
        _ => "м. Черкаси",
    }
}

fn centre(office: &str) -> String {
    let name = match today_district(office) {
        "UA7102" => "Звенигородський",
        "UA7104" => "Золотоніський",
        "UA7106" => "Уманський",
        _ => "Черкаський",
    };
    format!("{name} районний центр соціальних служб")
}

fn organisation(source: ReferralSource, office: &str) -> Option<String> {
    Some(match source {
        ReferralSource::Hotline => "Національна гаряча лінія з протидії торгівлі людьми 527".into(),
        ReferralSource::Police => {
            "Головне управління Національної поліції в Черкаській області".into()
        }
        ReferralSource::Ngo => "Благодійна організація «Від серця до серця»".into(),
        ReferralSource::Mdg => format!("Мультидисциплінарна група ({})", town(office)),
        _ => return None,
    })
}

/// SplitMix64: small, fast, and the same sequence on every platform.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi.saturating_sub(lo) + 1)
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> Option<T> {
        if items.is_empty() {
            return None;
        }
        let i = usize::try_from(self.next() % items.len() as u64).unwrap_or(0);
        items.get(i).copied()
    }

    fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + (self.next() % 10) as u8))
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Writing the cases.

/// One case being written.
#[derive(Debug)]
struct Case {
    n: usize,
    id: Uuid,
    register_no: String,
    office: &'static str,
    child: bool,
    state: std::sync::Arc<CaseState>,
}

impl Case {
    fn caseworker(&self) -> Actor {
        Actor::user(
            format!("cw-{}", &self.office[2..]),
            Role::Caseworker,
            self.office,
        )
    }
    fn supervisor(&self) -> Actor {
        Actor::user(
            format!("sv-{}", &self.office[2..]),
            Role::Supervisor,
            self.office,
        )
    }
    fn social_worker(&self) -> Actor {
        Actor::user(
            format!("sw-{}", &self.office[2..]),
            Role::SocialWorker,
            self.office,
        )
    }
    fn officer(&self) -> Actor {
        let authority = self
            .state
            .submitted_to
            .clone()
            .unwrap_or_else(|| "UA-NSS".into());
        let officer = if authority == "UA-MSP" {
            "msp-1"
        } else {
            "nss-wg-1"
        };
        Actor::user(officer, Role::DecisionOfficer, authority)
    }
    /// Who signs for the person: the legal representative for a child.
    fn by(&self) -> GivenBy {
        if self.child {
            GivenBy::LegalRepresentative
        } else {
            GivenBy::Person
        }
    }
}

struct Writer<'a> {
    engine: &'a Engine,
    today: NaiveDate,
    rng: Rng,
    events: usize,
    certificates: u32,
    names: HashSet<String>,
}

impl Writer<'_> {
    /// `d` plus `lo..=hi` days, never after today.
    fn after(&mut self, d: NaiveDate, lo: u64, hi: u64) -> NaiveDate {
        let n = self.rng.range(lo, hi);
        d.checked_add_days(Days::new(n))
            .unwrap_or(d)
            .min(self.today)
    }

    /// A vault record with a deterministic id.
    fn record(&mut self, texts: &mut Vec<PersonalText>, value: Value) -> RecordRef {
        let record = RecordRef(format!(
            "r-{:016x}{:016x}",
            self.rng.next(),
            self.rng.next()
        ));
        texts.push(PersonalText {
            record: record.clone(),
            value,
        });
        record
    }

    fn text(&mut self, text: &str) -> (RecordRef, Vec<PersonalText>) {
        let mut texts = Vec::new();
        let r = self.record(&mut texts, Value::String(text.into()));
        (r, texts)
    }

    /// A fresh fictitious name (unique within the run).
    fn name(&mut self, who: Who) -> String {
        for _ in 0..64 {
            let name = match who {
                Who::Foreigner { female, .. } => {
                    let list = if female { FOREIGN_FEMALE } else { FOREIGN_MALE };
                    self.rng.pick(list).unwrap_or("Іон Русу").to_string()
                }
                _ => {
                    let female = who.female();
                    let first = self
                        .rng
                        .pick(if female { FEMALE } else { MALE })
                        .unwrap_or("Олена");
                    let surname = self.rng.pick(SURNAMES).unwrap_or("Коваленко");
                    let father = self.rng.pick(FATHERS).unwrap_or(("Іванівна", "Іванович"));
                    let patronymic = if female { father.0 } else { father.1 };
                    format!("{surname} {first} {patronymic}")
                }
            };
            if self.names.insert(name.clone()) {
                return name;
            }
        }
        format!("Коваленко Олена Іванівна {}", self.names.len())
    }

    async fn act(
        &mut self,
        case: &mut Case,
        actor: Actor,
        on: NaiveDate,
        action: Action,
        texts: Vec<PersonalText>,
    ) -> Result<(), String> {
        let name = action.name();
        let cmd = self.engine.command(actor, on, action);
        let personal = Personal {
            texts,
            person_index: None,
            erasure_reason: None,
        };
        let done = self
            .engine
            .execute(case.id, None, cmd, personal, None)
            .await
            .map_err(|e| {
                format!(
                    "demo case {} ({}): {name} on {on}: {e}",
                    case.n, case.register_no
                )
            })?
            .map_err(|e| {
                format!(
                    "demo case {} ({}): {name} on {on} refused: {e}",
                    case.n, case.register_no
                )
            })?;
        self.events += done.events.len();
        case.state = done.state;
        Ok(())
    }

    async fn register(&mut self, n: usize, spec: &Spec, on: NaiveDate) -> Result<Case, String> {
        let who = spec.who;
        let age = match who {
            Who::Child { age, .. } => age,
            _ => i32::try_from(self.rng.range(19, 52)).unwrap_or(30),
        };
        let birth_date = on
            .checked_sub_months(Months::new(12 * age.unsigned_abs()))
            .and_then(|d| d.checked_sub_days(Days::new(self.rng.range(1, 360))))
            .unwrap_or(on);
        let full_name = self.name(who);
        let mut texts = Vec::new();
        let id_document = match who {
            Who::Foreigner { no_id: true, .. } => None,
            Who::Foreigner { .. } => Some(format!("паспорт іноземця № 00{}", self.rng.digits(7))),
            Who::Child { age, .. } if age < 14 => Some(format!(
                "свідоцтво про народження І-СР № 00{}",
                self.rng.digits(4)
            )),
            _ => Some(format!(
                "паспорт громадянина України (ID-картка) № 00{}",
                self.rng.digits(7)
            )),
        };
        let phone = format!(
            "+380 00 {} {} {}",
            self.rng.digits(3),
            self.rng.digits(2),
            self.rng.digits(2)
        );
        let street = self.rng.pick(STREETS).unwrap_or("Садова");
        let house = self.rng.range(1, 60);
        let contacts = if who.child() {
            format!(
                "законний представник, тел. {phone}; {}, вул. {street}, {house}",
                town(spec.office)
            )
        } else {
            format!(
                "тел. {phone}; {}, вул. {street}, {house}",
                town(spec.office)
            )
        };
        let mut person = json!({
            "full_name": full_name,
            "birth_date": birth_date.format("%Y-%m-%d").to_string(),
            "contacts": contacts,
        });
        if let (Some(doc), Some(obj)) = (&id_document, person.as_object_mut()) {
            obj.insert("id_document".into(), Value::String(doc.clone()));
        }
        let person_ref = self.record(&mut texts, person);

        let mut documents = vec![(DocumentKind::Application, None)];
        let mut id_missing = None;
        if id_document.is_some() {
            documents.push((DocumentKind::IdentityDocument, None));
        } else {
            id_missing = Some(self.record(
                &mut texts,
                Value::String(
                    "Паспорт утримували роботодавці; особа звернулася без документів".into(),
                ),
            ));
        }
        let referral = match organisation(spec.source, spec.office) {
            Some(org) => {
                let organisation = Some(self.record(&mut texts, Value::String(org)));
                let before = self.rng.range(0, 4);
                ReferralInput {
                    source: spec.source,
                    organisation,
                    referred_on: on.checked_sub_days(Days::new(before)).unwrap_or(on),
                }
            }
            None => ReferralInput {
                source: spec.source,
                organisation: None,
                referred_on: on,
            },
        };
        // A foreign citizen's country goes with the name (no draw from the generator, so the
        // scenario's other facts stay as they were); a stateless person has none.
        let citizenship_country = match who {
            Who::Foreigner {
                stateless: false, ..
            } => FOREIGN_CITIZENSHIP
                .iter()
                .find(|(name, _)| *name == full_name)
                .map(|(_, c)| (*c).to_string()),
            _ => None,
        };
        let (citizenship, speaks, interpreter) = match who {
            Who::Foreigner {
                stateless,
                interpreter,
                ..
            } => (
                if stateless {
                    Citizenship::Stateless
                } else {
                    Citizenship::Foreign
                },
                !interpreter,
                interpreter,
            ),
            _ => (Citizenship::Ukrainian, true, false),
        };
        let (forms, country) = match who {
            Who::Child { age, .. } if age < 12 => {
                (vec![ExploitationForm::Begging], "UA".to_string())
            }
            Who::Child { .. } => (
                vec![self
                    .rng
                    .pick(&[ExploitationForm::Sexual, ExploitationForm::Labour])
                    .unwrap_or(ExploitationForm::Labour)],
                self.rng
                    .pick(&["UA", "PL", "RU"])
                    .unwrap_or("UA")
                    .to_string(),
            ),
            Who::Foreigner { .. } => (
                vec![self
                    .rng
                    .pick(ADULT_FORMS)
                    .unwrap_or(ExploitationForm::Labour)],
                "UA".to_string(),
            ),
            _ => (
                vec![self
                    .rng
                    .pick(ADULT_FORMS)
                    .unwrap_or(ExploitationForm::Labour)],
                self.rng.pick(COUNTRIES).unwrap_or("PL").to_string(),
            ),
        };
        let filed_by = match who {
            Who::Child { filed_by, .. } => filed_by,
            _ => FiledBy::SelfFiled,
        };
        let register = Register {
            register_no: String::new(),
            office: ptl_domain::types::OfficeCode::parse(spec.office)
                .map_err(|e| format!("{}: {e}", spec.office))?,
            filed_by,
            applicant: ApplicantInput {
                sex: if who.female() { Sex::Female } else { Sex::Male },
                birth_date,
                citizenship,
                citizenship_country,
                speaks_ukrainian_or_russian: speaks,
                interpreter_used: interpreter,
            },
            referral: Some(referral),
            exploitation_forms: forms,
            exploitation_country: country,
            documents,
            id_document_missing_reason: id_missing,
            rights_explained: true,
            person: Some(person_ref),
        };
        let actor = Actor::user(
            format!("cw-{}", &spec.office[2..]),
            Role::Caseworker,
            spec.office,
        );
        let cmd = self
            .engine
            .command(actor, on, Action::Register(Box::new(register)));
        let personal = Personal {
            texts,
            person_index: Some((full_name, birth_date)),
            erasure_reason: None,
        };
        let done = self
            .engine
            .register(cmd, personal, None)
            .await
            .map_err(|e| format!("demo case {n}: register on {on}: {e}"))?
            .map_err(|e| format!("demo case {n}: register on {on} refused: {e}"))?;
        self.events += done.events.len();
        let register_no = done
            .state
            .registration
            .as_ref()
            .map(|r| r.register_no.clone())
            .unwrap_or_default();
        Ok(Case {
            n,
            id: done.case_id,
            register_no,
            office: spec.office,
            child: who.child(),
            state: done.state,
        })
    }

    /// Registers one case and moves it to where its spec stops.
    #[allow(clippy::too_many_lines)]
    async fn case(&mut self, n: usize, spec: &Spec) -> Result<(), String> {
        let reg_on = self
            .today
            .checked_sub_days(Days::new(spec.days_ago))
            .unwrap_or(self.today);
        let mut c = self.register(n, spec, reg_on).await?;
        let (cw, sv, sw, by) = (c.caseworker(), c.supervisor(), c.social_worker(), c.by());
        let assignee = cw.sub.clone();
        self.act(&mut c, sv, reg_on, Action::Assign { assignee }, Vec::new())
            .await?;
        let consent = |scope| Action::RecordConsent {
            scope,
            given_by: by,
        };
        self.act(
            &mut c,
            cw.clone(),
            reg_on,
            consent(ConsentScope::StatusProcedure),
            Vec::new(),
        )
        .await?;
        if spec.shelter {
            let on = self.after(reg_on, 0, 1);
            let (shelter, texts) =
                self.text("Центр соціально-психологічної допомоги (притулок), м. Черкаси");
            self.act(
                &mut c,
                sw.clone(),
                on,
                Action::PlaceInShelter { shelter },
                texts,
            )
            .await?;
        }
        if matches!(spec.stop, Stop::Registered) {
            return Ok(());
        }

        // The interview, or its lawful skip.
        let interview_on = self.after(reg_on, 1, 2);
        match spec.stop {
            Stop::Interviewed(Some(ground)) => {
                let text = match ground {
                    SkipGround::AlreadyRecognised => format!(
                        "Визнаний потерпілим у кримінальному провадженні № 1202{}",
                        self.rng.digits(10)
                    ),
                    _ => {
                        "Висновок психолога: співбесіда неможлива з огляду на малолітній вік".into()
                    }
                };
                let (reference, texts) = self.text(&text);
                let action = Action::SkipInterview {
                    ground,
                    reference: Some(reference),
                };
                self.act(&mut c, cw.clone(), interview_on, action, texts)
                    .await?;
                return Ok(());
            }
            _ => {
                let action = Action::RecordInterview {
                    consent_signed_by: by,
                    non_disclosure_receipt_signed: true,
                };
                self.act(&mut c, cw.clone(), interview_on, action, Vec::new())
                    .await?;
            }
        }
        if n % 4 == 1 {
            let (note, texts) =
                self.text("Потребує супроводу психолога під час подальших зустрічей");
            self.act(
                &mut c,
                cw.clone(),
                interview_on,
                Action::AddNote { note },
                texts,
            )
            .await?;
        }
        match spec.stop {
            Stop::Interviewed(_) => return Ok(()),
            Stop::Withdrawn => {
                let on = self.after(interview_on, 2, 6);
                let (reason, texts) =
                    self.text("Заявник відкликав заяву: повертається до родини за кордон");
                let action = Action::Withdraw {
                    reason: Some(reason),
                };
                return self.act(&mut c, cw.clone(), on, action, texts).await;
            }
            _ => {}
        }
        let help = match spec.stop {
            Stop::Granted(h) => Some(h),
            _ => None,
        };

        // Social services, while the status track goes on.
        if help.is_some_and(|h| h.social) {
            let on = self.after(interview_on, 0, 1);
            self.act(
                &mut c,
                cw.clone(),
                on,
                consent(ConsentScope::ShareWithSocialServices),
                Vec::new(),
            )
            .await?;
            let centre = centre(c.office);
            let (centre_record, texts) = self.text(&centre);
            self.act(
                &mut c,
                cw.clone(),
                on,
                Action::ReferToSocialServices {
                    centre: centre_record,
                },
                texts,
            )
            .await?;
            let assessed = self.after(on, 1, 4);
            let mut needs = vec![Need::Psychological, Need::Social];
            if spec.shelter {
                needs.push(Need::Shelter);
            }
            if help.is_some_and(|h| h.payment != Pay::No) {
                needs.push(Need::Payment);
            }
            if self.rng.range(0, 1) == 1 {
                needs.push(Need::Employment);
            } else {
                needs.push(Need::Medical);
            }
            self.act(
                &mut c,
                sw.clone(),
                assessed,
                Action::RecordNeedsAssessment { needs },
                Vec::new(),
            )
            .await?;
            let served = self.after(assessed, 1, 3);
            let (provider, texts) = self.text(&centre);
            let action = Action::RecordService {
                service: Need::Psychological,
                provider,
                to: None,
            };
            self.act(&mut c, sw.clone(), served, action, texts).await?;
        }

        // Verification.
        let sent = self.after(interview_on, 0, 1);
        self.act(
            &mut c,
            cw.clone(),
            sent,
            consent(ConsentScope::ShareWithPolice),
            Vec::new(),
        )
        .await?;
        let request = |to| Action::RequestVerification { to };
        self.act(
            &mut c,
            cw.clone(),
            sent,
            request(VerificationTarget::NationalPolice),
            Vec::new(),
        )
        .await?;
        let foreign = spec.who.foreigner();
        if foreign {
            self.act(
                &mut c,
                cw.clone(),
                sent,
                request(VerificationTarget::MigrationService),
                Vec::new(),
            )
            .await?;
        }
        let reply = |request_id: &str, outcome| Action::RecordVerificationReply {
            request_id: request_id.into(),
            outcome,
        };
        let police_reply = self.after(sent, 3, 8);
        match spec.stop {
            Stop::Verification(Verif::Awaiting) => return Ok(()),
            Stop::Verification(Verif::Replied) => {
                self.act(
                    &mut c,
                    cw.clone(),
                    police_reply,
                    reply("vr-1", ReplyOutcome::Confirms),
                    Vec::new(),
                )
                .await?;
                let action = Action::AttachDocument {
                    kind: DocumentKind::RegistrationCard,
                    note: None,
                };
                return self
                    .act(&mut c, cw.clone(), police_reply, action, Vec::new())
                    .await;
            }
            Stop::Verification(Verif::SecondRequest) => {
                self.act(
                    &mut c,
                    cw.clone(),
                    police_reply,
                    reply("vr-1", ReplyOutcome::Inconclusive),
                    Vec::new(),
                )
                .await?;
                let on = self.after(police_reply, 0, 2);
                return self
                    .act(
                        &mut c,
                        cw.clone(),
                        on,
                        request(VerificationTarget::Medical),
                        Vec::new(),
                    )
                    .await;
            }
            _ => {}
        }
        let refused = matches!(spec.stop, Stop::Refused);
        let outcome = if refused {
            ReplyOutcome::DoesNotConfirm
        } else {
            ReplyOutcome::Confirms
        };
        self.act(
            &mut c,
            cw.clone(),
            police_reply,
            reply("vr-1", outcome),
            Vec::new(),
        )
        .await?;
        let mut last_reply = police_reply;
        if foreign {
            let on = self.after(sent, 4, 9);
            let outcome = if refused {
                ReplyOutcome::Inconclusive
            } else {
                ReplyOutcome::Confirms
            };
            self.act(&mut c, cw.clone(), on, reply("vr-2", outcome), Vec::new())
                .await?;
            last_reply = last_reply.max(on);
        }

        // The file.
        let mut submitted = self.after(last_reply, 1, 3);
        let card = Action::AttachDocument {
            kind: DocumentKind::RegistrationCard,
            note: None,
        };
        self.act(&mut c, cw.clone(), submitted, card, Vec::new())
            .await?;
        let conclusion = if refused {
            Conclusion::RecommendRefuse
        } else {
            Conclusion::RecommendGrant
        };
        self.act(
            &mut c,
            cw.clone(),
            submitted,
            Action::SubmitFile { conclusion },
            Vec::new(),
        )
        .await?;
        if matches!(spec.stop, Stop::Pending) {
            return Ok(());
        }
        if help.is_some_and(|h| h.returned_once) {
            let returned = self.after(submitted, 3, 6);
            let mut texts = Vec::new();
            let missing = self.record(&mut texts, json!(["копія медичного висновку"]));
            let action = Action::ReturnFile {
                missing: Some(missing),
                missing_count: 1,
            };
            let officer = c.officer();
            self.act(&mut c, officer, returned, action, texts).await?;
            submitted = self.after(returned, 2, 4);
            let action = Action::AttachDocument {
                kind: DocumentKind::MedicalConclusion,
                note: None,
            };
            self.act(&mut c, cw.clone(), submitted, action, Vec::new())
                .await?;
            self.act(
                &mut c,
                cw.clone(),
                submitted,
                Action::SubmitFile { conclusion },
                Vec::new(),
            )
            .await?;
        }

        // The decision.
        let decided = self.after(submitted, 3, 8);
        let Some(help) = help else {
            let mut texts = Vec::new();
            let grounds = self.record(
                &mut texts,
                json!([
                    "відсутні підстави, визначені статтею 1 Закону «Про протидію торгівлі людьми»"
                ]),
            );
            let action = Action::RecordDecisionRefused {
                grounds: Some(grounds),
                grounds_count: 1,
            };
            let officer = c.officer();
            self.act(&mut c, officer, decided, action, texts).await?;
            let on = self.after(decided, 2, 5);
            return self
                .act(&mut c, cw.clone(), on, Action::HandOverDecision, Vec::new())
                .await;
        };
        self.certificates += 1;
        let certificate_no = format!("NSS-{}-{:04}", decided.year(), self.certificates);
        let action = Action::RecordDecisionGranted {
            certificate_no,
            valid_until: None,
        };
        let officer = c.officer();
        self.act(&mut c, officer, decided, action, Vec::new())
            .await?;
        let mut last = decided;
        if help.handed_over {
            last = self.after(decided, 1, 4);
            self.act(
                &mut c,
                cw.clone(),
                last,
                Action::HandOverDecision,
                Vec::new(),
            )
            .await?;
        }
        if help.plan {
            let on = self.after(decided, 3, 8);
            let mut texts = Vec::new();
            let css = self.record(&mut texts, Value::String(centre(c.office)));
            let employment = self.record(
                &mut texts,
                Value::String("Черкаський обласний центр зайнятості".into()),
            );
            let services = vec![
                PlannedService {
                    service: Need::Psychological,
                    provider: Some(css),
                    from: Some(on),
                    to: on.checked_add_days(Days::new(90)),
                },
                PlannedService {
                    service: Need::Employment,
                    provider: Some(employment),
                    from: Some(on),
                    to: None,
                },
            ];
            let action = Action::ApproveRehabilitationPlan {
                written_consent: true,
                services,
            };
            self.act(&mut c, sw.clone(), on, action, texts).await?;
        }
        if help.payment != Pay::No {
            let requested = self.after(last, 1, 4);
            self.act(
                &mut c,
                cw.clone(),
                requested,
                Action::RequestPayment,
                Vec::new(),
            )
            .await?;
            if help.payment == Pay::Paid {
                let paid = self.after(requested, 10, 20);
                // Three subsistence minimums for able-bodied persons (3 x 3,028 UAH), in kopiyky.
                let action = Action::RecordPayment {
                    amount_kopiyky: 908_400,
                };
                self.act(&mut c, cw.clone(), paid, action, Vec::new())
                    .await?;
            }
        }
        Ok(())
    }
}
