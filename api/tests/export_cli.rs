//! `ptl export` through the real binary on a store filled by `ptl demo --scenario cherkasy`: the
//! HTCDS export as CSV (to a file) and JSON, the CTDC dataset with its counts on stderr; an
//! unknown office or a reversed period is one sentence on stderr and a non-zero exit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{assert_refused, ptl, text};

#[test]
fn ptl_export_writes_htcds_and_ctdc_from_the_cherkasy_demo() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let data = root.join("data");
    let db = format!("sqlite://{}", data.join("ptl.db").display());
    let out = ptl(root, &db, &data, &["demo", "--scenario", "cherkasy"]);
    assert!(out.status.success(), "demo: {}", text(&out.stderr));

    let file = root.join("htcds.csv");
    let range = [
        "--office",
        "UA71",
        "--from",
        "2020-01-01",
        "--to",
        "2020-12-31",
    ];
    let mut args = vec!["export", "htcds"];
    args.extend(range);
    args.extend(["--output", file.to_str().unwrap()]);
    let out = ptl(root, &db, &data, &args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr)
            .contains("HTCDS 2.0: 24 cases of UA71 registered 2020-01-01 to 2020-12-31"),
        "{}",
        text(&out.stderr)
    );
    let csv = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 25, "{csv}");
    assert!(
        lines[0].starts_with("ext_CasePseudonym,ext_Office,"),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains(",vic_TraffickingStatus,"));

    let mut args = vec!["export", "htcds"];
    args.extend(range);
    args.extend(["--format", "json"]);
    let out = ptl(root, &db, &data, &args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["cases"], 24);
    assert_eq!(doc["rows"].as_array().unwrap().len(), 24);

    let out = ptl(
        root,
        &db,
        &data,
        &["export", "ctdc", "--from", "2020", "--to", "2020"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("CTDC: 24 persons of UA registered 2020 to 2020; k = 11: "),
        "{err}"
    );
    assert!(
        err.contains(" generalised, ") && err.contains(" suppressed"),
        "{err}"
    );
    assert!(
        text(&out.stdout)
            .starts_with("yearOfRegistration,gender,ageBroad,citizenship,CountryOfExploitation,"),
        "{}",
        text(&out.stdout)
    );

    // Refusals.
    let out = ptl(
        root,
        &db,
        &data,
        &[
            "export",
            "htcds",
            "--office",
            "ZZ99",
            "--from",
            "2020-01-01",
            "--to",
            "2020-12-31",
        ],
    );
    assert_refused(&out, "ZZ99 is not an office");
    let out = ptl(
        root,
        &db,
        &data,
        &[
            "export",
            "htcds",
            "--office",
            "UA71",
            "--from",
            "2020-12-31",
            "--to",
            "2020-01-01",
        ],
    );
    assert_refused(&out, "must not be after");
}
