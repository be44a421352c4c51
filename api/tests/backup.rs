//! `ptl backup` through the real binary: a copy of a demo store that, restored into a fresh data
//! directory with the key files, passes `ptl verify`; refusals (existing output, PostgreSQL, no
//! database, missing argument) are one sentence on stderr and a non-zero exit, never a panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{assert_refused, ptl, text};

#[test]
fn a_backup_of_a_demo_store_restores_into_a_fresh_directory_and_verifies() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let data = root.join("data");
    let db = format!("sqlite://{}", data.join("ptl.db").display());
    let out = ptl(root, &db, &data, &["demo"]);
    assert!(out.status.success(), "demo: {}", text(&out.stderr));

    let copy = root.join("backup one.db");
    let out = ptl(
        root,
        &db,
        &data,
        &["backup", "--output", copy.to_str().unwrap()],
    );
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "backup: {stderr}");
    // One summary line: path, size, events, cases.
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.contains(&copy.display().to_string()), "{stdout}");
    assert!(stdout.contains(" 8 cases, integrity ok"), "{stdout}");
    let size = std::fs::metadata(&copy).expect("copy exists").len();
    assert!(stdout.contains(&format!(": {size} bytes")), "{stdout}");
    // The reminder names the key files and the erasure ledger.
    for f in [
        "master.key",
        "hash.key",
        "search.key",
        "jwt.secret",
        "erasures.log",
    ] {
        assert!(stderr.contains(f), "{f} not in {stderr}");
    }

    // Restore: the copy as the database of a fresh data directory, with the key files.
    let restored = root.join("restored");
    std::fs::create_dir(&restored).expect("mkdir");
    std::fs::copy(&copy, restored.join("ptl.db")).expect("copy db");
    for f in ["master.key", "hash.key", "search.key", "jwt.secret"] {
        std::fs::copy(data.join(f), restored.join(f)).expect("copy key");
    }
    let rdb = format!("sqlite://{}", restored.join("ptl.db").display());
    let out = ptl(root, &rdb, &restored, &["verify"]);
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "verify: {stdout}{}",
        text(&out.stderr)
    );
    assert!(stdout.contains("8 case(s) verified, 0 invalid"), "{stdout}");
    let out = ptl(root, &rdb, &restored, &["projections", "rebuild"]);
    assert!(out.status.success(), "rebuild: {}", text(&out.stderr));

    // With a different hash key the restored history does not verify: the keys matter.
    let other = root.join("other");
    std::fs::create_dir(&other).expect("mkdir");
    std::fs::copy(&copy, other.join("ptl.db")).expect("copy db");
    let odb = format!("sqlite://{}", other.join("ptl.db").display());
    let out = ptl(root, &odb, &other, &["verify"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
}

#[test]
fn a_backup_refuses_an_existing_output_and_leaves_it_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let data = root.join("data");
    let db = format!("sqlite://{}", data.join("ptl.db").display());
    let out = ptl(root, &db, &data, &["migrate"]);
    assert!(out.status.success(), "migrate: {}", text(&out.stderr));

    let taken = root.join("taken.db");
    std::fs::write(&taken, b"an older backup").expect("write");
    let out = ptl(root, &db, &data, &["backup", "--output", "taken.db"]);
    assert_refused(&out, "already exists");
    assert_eq!(std::fs::read(&taken).expect("read"), b"an older backup");

    // A relative output goes to the working directory; the second run is refused.
    let out = ptl(root, &db, &data, &["backup", "-o", "fresh.db"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("0 events, 0 cases"));
    let out = ptl(root, &db, &data, &["backup", "-o", "fresh.db"]);
    assert_refused(&out, "already exists");

    let out = ptl(root, &db, &data, &["backup", "-o", "no/such/dir/b.db"]);
    assert_refused(&out, "does not exist");
}

#[test]
fn a_backup_of_postgresql_or_of_no_database_is_refused_with_a_sentence() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let data = root.join("data");
    let out = ptl(
        root,
        "postgres://postgres@127.0.0.1:5432/whatever",
        &data,
        &["backup", "-o", "b.db"],
    );
    assert_refused(&out, "pg_dump");
    assert!(!root.join("b.db").exists());

    let missing = format!("sqlite://{}", root.join("none.db").display());
    let out = ptl(root, &missing, &data, &["backup", "-o", "b.db"]);
    assert_refused(&out, "nothing to back up");
    assert!(!root.join("none.db").exists(), "no database was created");

    // Without --output clap explains the usage (exit 2), no panic.
    let out = ptl(root, &missing, &data, &["backup"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--output"));
}
