//! `ptl offices` through the real binary: closing an office writes the tree with the closing date
//! and the successor and moves every open case, each with its own `transfer` event; running it
//! again moves nothing twice; refusals are one sentence and a non-zero exit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{assert_refused, ptl, text};

#[test]
fn closing_an_office_moves_its_open_cases_to_the_successor_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let data = root.join("data");
    let db = format!("sqlite://{}", data.join("ptl.db").display());
    let out = ptl(root, &db, &data, &["demo", "--scenario", "basic"]);
    assert!(out.status.success(), "demo: {}", text(&out.stderr));
    let today = ptl_domain::kyiv_date(chrono::Utc::now()).to_string();

    // The basic scenario has two cases at UA7106: one withdrawn (closed), one open.
    let args = [
        "offices",
        "close",
        "UA7106",
        "--on",
        &today,
        "--successor",
        "UA7108",
        "--by",
        "sv-7108",
    ];
    let out = ptl(root, &db, &data, &args);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("1 open cases transferred to UA7108"),
        "{stdout}"
    );
    assert!(stdout.contains("  UA7106-"), "{stdout}");

    let tree = std::fs::read_to_string(data.join("offices.toml")).expect("tree written");
    let closed = tree
        .split("[[office]]")
        .find(|o| o.contains("code = \"UA7106\""))
        .expect("UA7106 in the tree");
    assert!(
        closed.contains(&format!("closed_on = \"{today}\"")),
        "{closed}"
    );
    assert!(closed.contains("successor = \"UA7108\""), "{closed}");

    let show = text(&ptl(root, &db, &data, &["offices", "show"]).stdout);
    assert!(show.contains(&format!("closed_on = \"{today}\"")), "{show}");

    // Again: nothing left to move.
    let out = ptl(root, &db, &data, &args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("0 open cases transferred"));

    // Every chain still verifies, the transfer included.
    let out = ptl(root, &db, &data, &["verify"]);
    assert!(out.status.success(), "{}", text(&out.stdout));

    // Refusals.
    assert_refused(
        &ptl(
            root,
            &db,
            &data,
            &[
                "offices",
                "close",
                "UA7104",
                "--on",
                &today,
                "--successor",
                "UA99",
                "--by",
                "x",
            ],
        ),
        "cannot close UA7104 with successor UA99",
    );
    assert_refused(
        &ptl(
            root,
            &db,
            &data,
            &[
                "offices",
                "close",
                "UA7104",
                "--on",
                "2999-01-01",
                "--successor",
                "UA7108",
                "--by",
                "x",
            ],
        ),
        "in the future",
    );
    // The closed office cannot be closed into, nor closed again with another successor.
    assert_refused(
        &ptl(
            root,
            &db,
            &data,
            &[
                "offices",
                "close",
                "UA7104",
                "--on",
                &today,
                "--successor",
                "UA7106",
                "--by",
                "x",
            ],
        ),
        "cannot close",
    );
}
