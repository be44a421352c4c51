//! The CTDC dataset on a generated population of a few thousand cases registered through the
//! engine (a skewed, realistic mix: mostly Ukrainian women and men exploited for labour in a few
//! countries, a tail of rare citizenships, countries and referral sources): every combination
//! of quasi-identifiers in the output occurs at least k = 11 times, the export's counts add up,
//! and the counts by year and gender lose at most k - 1 rows each (`docs/ctdc.md`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{Datelike, Days, Months, NaiveDate};
use ptl_api::app::exports::{ctdc, CtdcRow, CTDC_K};
use ptl_domain::types::{Citizenship, ExploitationForm, FiledBy, ReferralSource, Sex};
use ptl_domain::{Action, Actor, ApplicantInput, ReferralInput, Register, Role};
use ptl_engine::pipeline::Personal;
use ptl_tests::{Store, TestApp};

const CASES: usize = 3000;

/// A small deterministic generator (the same population on every run).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    /// An item by weight.
    fn weighted<T: Copy>(&mut self, items: &[(T, u64)]) -> T {
        let total: u64 = items.iter().map(|(_, w)| w).sum();
        let mut r = self.next() % total;
        for (item, w) in items {
            if r < *w {
                return *item;
            }
            r -= w;
        }
        items[0].0
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

/// What the generator decided for one person (the truth the export is checked against).
#[derive(Debug, Clone)]
struct Person {
    received_on: NaiveDate,
    office: &'static str,
    sex: Sex,
    age: u32,
    citizenship: Citizenship,
    citizenship_country: Option<&'static str>,
    forms: Vec<ExploitationForm>,
    country: &'static str,
    referral: ReferralSource,
}

fn person(rng: &mut Rng) -> Person {
    let year = rng.weighted(&[(2023, 30), (2024, 35), (2025, 35)]);
    let received_on = NaiveDate::from_ymd_opt(year, 1, 1)
        .unwrap()
        .checked_add_days(Days::new(rng.range(0, 364)))
        .unwrap();
    let sex = rng.weighted(&[(Sex::Female, 55), (Sex::Male, 43), (Sex::Unknown, 2)]);
    let age = rng.weighted(&[
        (rng_age(9, 17), 8),
        (rng_age(18, 29), 35),
        (rng_age(30, 47), 45),
        (rng_age(48, 70), 12),
    ]);
    let age = age.pick(rng);
    let (citizenship, citizenship_country) = rng.weighted(&[
        ((Citizenship::Ukrainian, None), 860),
        ((Citizenship::Foreign, Some("MD")), 40),
        ((Citizenship::Foreign, Some("UZ")), 30),
        ((Citizenship::Foreign, Some("VN")), 20),
        ((Citizenship::Foreign, Some("AZ")), 10),
        ((Citizenship::Foreign, Some("NG")), 5),
        ((Citizenship::Foreign, Some("LK")), 3),
        ((Citizenship::Foreign, None), 12),
        ((Citizenship::Stateless, None), 20),
    ]);
    let form = rng.weighted(&[
        (ExploitationForm::Labour, 60),
        (ExploitationForm::Sexual, 28),
        (ExploitationForm::Begging, 5),
        (ExploitationForm::CriminalActivity, 3),
        (ExploitationForm::Servitude, 2),
        (ExploitationForm::OrganRemoval, 1),
        (ExploitationForm::Other, 1),
    ]);
    let mut forms = vec![form];
    if rng.next() % 20 == 0 && form != ExploitationForm::Sexual {
        forms.push(ExploitationForm::Sexual);
    }
    let country = if citizenship == Citizenship::Ukrainian {
        rng.weighted(&[
            ("PL", 30),
            ("RU", 15),
            ("UA", 20),
            ("DE", 10),
            ("CZ", 10),
            ("TR", 4),
            ("IL", 3),
            ("AE", 3),
            ("IT", 2),
            ("PT", 1),
            ("FI", 1),
            ("XX", 1),
        ])
    } else {
        rng.weighted(&[("UA", 85), ("PL", 10), ("RU", 5)])
    };
    let referral = rng.weighted(&[
        (ReferralSource::Hotline, 30),
        (ReferralSource::Police, 25),
        (ReferralSource::Ngo, 20),
        (ReferralSource::SelfReferral, 10),
        (ReferralSource::Mdg, 5),
        (ReferralSource::BorderGuard, 4),
        (ReferralSource::Consulate, 2),
        (ReferralSource::School, 2),
        (ReferralSource::Other, 2),
    ]);
    let office = rng.weighted(&[("UA7102", 1), ("UA7104", 1), ("UA7106", 1), ("UA7108", 1)]);
    Person {
        received_on,
        office,
        sex,
        age,
        citizenship,
        citizenship_country,
        forms,
        country,
        referral,
    }
}

/// An age range to draw from.
#[derive(Debug, Clone, Copy)]
struct AgeRange(u32, u32);

fn rng_age(lo: u32, hi: u32) -> AgeRange {
    AgeRange(lo, hi)
}

impl AgeRange {
    fn pick(self, rng: &mut Rng) -> u32 {
        u32::try_from(rng.range(u64::from(self.0), u64::from(self.1))).unwrap()
    }
}

fn register(p: &Person, rng: &mut Rng) -> Register {
    let birth_date = p
        .received_on
        .checked_sub_months(Months::new(12 * p.age))
        .and_then(|d| d.checked_sub_days(Days::new(rng.range(1, 360))))
        .unwrap();
    Register {
        register_no: String::new(),
        office: p.office.parse().unwrap(),
        filed_by: if p.age < 18 {
            FiledBy::LegalRepresentative
        } else {
            FiledBy::SelfFiled
        },
        applicant: ApplicantInput {
            sex: p.sex,
            birth_date,
            citizenship: p.citizenship,
            citizenship_country: p.citizenship_country.map(str::to_string),
            speaks_ukrainian_or_russian: true,
            interpreter_used: false,
        },
        referral: Some(ReferralInput {
            source: p.referral,
            organisation: None,
            referred_on: p.received_on,
        }),
        exploitation_forms: p.forms.clone(),
        exploitation_country: p.country.into(),
        documents: vec![(ptl_domain::types::DocumentKind::IdentityDocument, None)],
        id_document_missing_reason: None,
        rights_explained: true,
        person: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctdc_is_k_anonymous_on_a_generated_population_and_keeps_the_counts_by_year_and_gender() {
    let app = TestApp::spawn(Store::Sqlite).await;
    let engine = Arc::clone(&app.state.app.engine);
    let mut rng = Rng(17);
    let people: Vec<Person> = (0..CASES).map(|_| person(&mut rng)).collect();
    let commands: Vec<(NaiveDate, &'static str, Register)> = people
        .iter()
        .map(|p| (p.received_on, p.office, register(p, &mut rng)))
        .collect();

    // Registered through the engine, several at a time (its committer groups them).
    let mut tasks = tokio::task::JoinSet::new();
    let mut pending = commands.into_iter();
    loop {
        while tasks.len() < 16 {
            let Some((on, office, reg)) = pending.next() else {
                break;
            };
            let engine = Arc::clone(&engine);
            tasks.spawn(async move {
                let actor = Actor::user("cw-gen", Role::Caseworker, office);
                let cmd = engine.command(actor, on, Action::Register(Box::new(reg)));
                engine
                    .register(cmd, Personal::default(), None)
                    .await
                    .expect("recorded")
                    .expect("lawful");
            });
        }
        match tasks.join_next().await {
            Some(done) => done.unwrap(),
            None => break,
        }
    }

    let export = ctdc(&engine, &app.state.app.offices, "test", "UA", 2023, 2025)
        .await
        .unwrap();
    let r = &export.report;
    assert_eq!(r.k, CTDC_K);
    assert_eq!(r.persons, CASES);
    assert_eq!(r.published + r.suppressed, CASES);
    assert_eq!(export.rows.len(), r.published);
    assert_eq!(r.by_level.iter().sum::<usize>(), r.published);
    assert_eq!(r.generalised, r.published - r.by_level[0]);
    // A few thousand persons over nine variables: most rows need some generalisation.
    assert!(r.generalised > 0, "{r:?}");

    // Every combination of quasi-identifiers occurs at least k times.
    let mut groups: BTreeMap<&CtdcRow, usize> = BTreeMap::new();
    for row in &export.rows {
        *groups.entry(row).or_default() += 1;
    }
    for (row, n) in &groups {
        assert!(*n >= CTDC_K, "{n} x {row:?}");
    }

    // Counts by year and gender: never more than the population, at most k - 1 fewer.
    let gender = |s: Sex| match s {
        Sex::Female => "Woman",
        Sex::Male => "Man",
        Sex::Unknown => "",
    };
    let mut truth: BTreeMap<(i32, &str), usize> = BTreeMap::new();
    for p in &people {
        *truth
            .entry((p.received_on.year(), gender(p.sex)))
            .or_default() += 1;
    }
    let mut published: BTreeMap<(i32, &str), usize> = BTreeMap::new();
    for row in &export.rows {
        *published
            .entry((row.year, row.gender.as_str()))
            .or_default() += 1;
    }
    for (cell, n) in &truth {
        let got = published.get(cell).copied().unwrap_or(0);
        assert!(got <= *n, "{cell:?}: {got} of {n}");
        assert!(
            n - got < CTDC_K,
            "{cell:?}: {got} of {n} published, more than k - 1 lost"
        );
    }
    assert!(published.keys().all(|c| truth.contains_key(c)));

    // Values are the codebook's or a documented generalisation of them.
    for row in &export.rows {
        assert!(
            [
                "0-8", "9-17", "18-20", "21-23", "24-26", "27-29", "30-38", "39-47", "48+", "0-17",
                "18-29", "30-47", "18+", "*"
            ]
            .contains(&row.age.as_str()),
            "{row:?}"
        );
        assert!(
            row.citizenship.len() == 3
                || row.citizenship == "*"
                || row.citizenship.is_empty()
                || row.citizenship == "Stateless"
                || ptl_domain::countries::ISO_3166_1
                    .iter()
                    .any(|(_, _, region)| *region == row.citizenship),
            "{row:?}"
        );
    }
    println!("CTDC on {CASES} generated cases: {r:?}");
    app.stop().await;
}
