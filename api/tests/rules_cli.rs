//! `ptl procedures` and `ptl calendar show` through the real binary read the configured
//! directories (`PTL_PROCEDURES_DIR`, `PTL_CALENDARS_DIR`): an administrator's corrected file is
//! what they show, exactly as the server uses it; a definition naming a calendar that cannot
//! serve it is refused with one sentence.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::Output;

use common::text;

const DEF_2021: &str = include_str!("../../domain/procedures/ua-417-2021.toml");
const CAL_2019: &str = include_str!("../../domain/calendars/ua/2019.toml");

/// Runs `ptl` in `cwd` (no `ptl.toml` there) with only the given `PTL_*` variables.
fn ptl(cwd: &Path, env: &[(&str, &Path)], args: &[&str]) -> Output {
    let mut cmd = common::ptl_command(cwd);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.args(args).output().expect("run ptl")
}

#[test]
fn ptl_procedures_shows_the_administrators_corrected_definition_from_the_configured_directory() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("procedures");
    std::fs::create_dir_all(&dir).unwrap();
    let corrected = DEF_2021.replacen("length = 3\n", "length = 5\n", 1);
    std::fs::write(dir.join("ua-417-2021.toml"), &corrected).unwrap();

    // Built-in only: the 3-day interview.
    let out = ptl(root.path(), &[], &["procedures"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let builtin = text(&out.stdout);
    assert!(
        builtin
            .contains("3 calendar days from registration, moved to the next working day [default]"),
        "{builtin}"
    );
    assert!(builtin.contains("file ua-417-2021.toml"), "{builtin}");

    // With the directory: the corrected file, its path and its hash.
    let out = ptl(
        root.path(),
        &[("PTL_PROCEDURES_DIR", &dir)],
        &["procedures"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(
        shown.contains("5 calendar days from registration"),
        "{shown}"
    );
    let path = dir.join("ua-417-2021.toml");
    assert!(
        shown.contains(&format!("file {}", path.display())),
        "{shown}"
    );
    use sha2::Digest;
    let hash = hex::encode(sha2::Sha256::digest(corrected.as_bytes()));
    assert!(shown.contains(&hash), "{shown}");
    // The 2012 definition is still the built-in one.
    assert!(shown.contains("file ua-417-2012.toml"), "{shown}");
}

#[test]
fn ptl_calendar_show_reads_the_configured_calendars_directory() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("calendars");
    std::fs::create_dir_all(&dir).unwrap();
    let corrected =
        format!("{CAL_2019}\n[[holiday]]\ndate = \"2019-03-11\"\nname = \"Test holiday\"\n");
    std::fs::write(dir.join("2019.toml"), corrected).unwrap();

    let out = ptl(root.path(), &[], &["calendar", "show", "2019"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let builtin = text(&out.stdout);
    assert!(
        builtin.starts_with("# calendar ua 2019 from calendars/ua/2019.toml"),
        "{builtin}"
    );
    assert!(!builtin.contains("2019-03-11"), "{builtin}");
    assert!(builtin.contains("2019-04-30  working day transferred to Saturday 2019-05-11 (Cabinet order 7-р of 10.01.2019)"), "{builtin}");
    assert!(builtin.contains("2019-05-11  working day:"), "{builtin}");

    let out = ptl(
        root.path(),
        &[("PTL_CALENDARS_DIR", &dir)],
        &["calendar", "show", "2019"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    let path = dir.join("2019.toml");
    assert!(
        shown.starts_with(&format!("# calendar ua 2019 from {}", path.display())),
        "{shown}"
    );
    assert!(shown.contains("2019-03-11  Test holiday"), "{shown}");

    // A year without a file: one sentence, non-zero exit.
    let out = ptl(
        root.path(),
        &[("PTL_CALENDARS_DIR", &dir)],
        &["calendar", "show", "2031"],
    );
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("has no file for 2031"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_definition_naming_a_calendar_without_the_years_it_needs_is_refused_by_the_cli() {
    let root = tempfile::tempdir().unwrap();
    let procedures = root.path().join("procedures");
    let calendars = root.path().join("calendars");
    std::fs::create_dir_all(&procedures).unwrap();
    std::fs::create_dir_all(calendars.join("pl")).unwrap();
    // Calendar "pl" has 2027 only; the definition naming it takes effect in 2026.
    std::fs::write(
        calendars.join("pl").join("2027.toml"),
        "calendar = \"pl\"\nyear = 2027\n",
    )
    .unwrap();
    let def = DEF_2021
        .replace("id = \"ua-417-2021\"", "id = \"pl-2026\"")
        .replace(
            "effective_from = \"2021-06-01\"",
            "effective_from = \"2026-01-01\"",
        )
        .replace("calendar = \"ua\"", "calendar = \"pl\"");
    std::fs::write(procedures.join("pl-2026.toml"), def).unwrap();
    let out = ptl(
        root.path(),
        &[
            ("PTL_PROCEDURES_DIR", &procedures),
            ("PTL_CALENDARS_DIR", &calendars),
        ],
        &["procedures"],
    );
    assert!(!out.status.success(), "{}", text(&out.stdout));
    let err = text(&out.stderr);
    assert!(
        err.contains("counts on calendar `pl`, which has no file for 2026"),
        "{err}"
    );
    // With the 2026 file the calendar serves it, and `ptl calendar show --calendar pl` reads it.
    std::fs::write(
        calendars.join("pl").join("2026.toml"),
        "calendar = \"pl\"\nyear = 2026\n[[holiday]]\ndate = \"2026-05-01\"\nname = \"Święto Pracy\"\n",
    )
    .unwrap();
    let env = [
        ("PTL_PROCEDURES_DIR", procedures.as_path()),
        ("PTL_CALENDARS_DIR", calendars.as_path()),
    ];
    let out = ptl(root.path(), &env, &["procedures"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout)
            .contains("pl-2026  effective 2026-01-01 on  deciding authority UA-NSS  calendar pl"),
        "{}",
        text(&out.stdout)
    );
    let out = ptl(
        root.path(),
        &env,
        &["calendar", "show", "2026", "--calendar", "pl"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("2026-05-01  Święto Pracy"),
        "{}",
        text(&out.stdout)
    );
}
