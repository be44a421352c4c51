//! The CTDC dataset on a generated population of a few thousand cases registered through the
//! engine (`ptl_api::population`: a skewed, realistic mix, mostly Ukrainian women and men
//! exploited for labour in a few countries, a tail of rare citizenships, countries and referral
//! sources): every combination
//! of quasi-identifiers in the output occurs at least k = 11 times, the export's counts add up,
//! and the counts by year and gender lose at most k - 1 rows each (`docs/ctdc.md`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::Datelike;
use ptl_api::app::exports::{ctdc, CtdcRow, CTDC_K};
use ptl_domain::types::Sex;
use ptl_tests::{Store, TestApp};

const CASES: usize = 3000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctdc_is_k_anonymous_on_a_generated_population_and_keeps_the_counts_by_year_and_gender() {
    let app = TestApp::spawn(Store::Sqlite).await;
    let engine = Arc::clone(&app.state.app.engine);
    let people = ptl_api::population::population(CASES, 17);
    assert_eq!(people.len(), CASES);
    // The truth the export is checked against: year and gender of each registration.
    let truth_of: Vec<(i32, Sex)> = people
        .iter()
        .map(|(on, reg)| (on.year(), reg.applicant.sex))
        .collect();
    ptl_api::population::register_all(&engine, people, 16)
        .await
        .unwrap();

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
    for (year, sex) in &truth_of {
        *truth.entry((*year, gender(*sex))).or_default() += 1;
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
