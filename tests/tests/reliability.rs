//! The reliability suite (`scripts/reliability.sh --quick`) as part of `cargo test --workspace`:
//! kill -9 of the server under write load (SQLite), the same-ETag race, hostile input, a private
//! PostgreSQL crashed (`pg_ctl stop -m immediate`) and stopped under load, a full disk and a
//! read-only store (root only: those two print "skipped: not root" otherwise).
//!
//! It builds the debug `ptl` and `ptl-bench` binaries first and runs the script against them; the
//! script prints a summary table and exits non-zero on any loss or failed scenario.
#![allow(clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate lives in the workspace")
        .to_path_buf()
}

#[test]
fn reliability_suite_quick_mode_loses_no_acknowledged_write() {
    let root = workspace_root();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|t| if t.is_absolute() { t } else { root.join(t) })
        .unwrap_or_else(|| root.join("target"));

    let started = Instant::now();
    let mut build = Command::new(env!("CARGO"));
    // The variables `cargo test` sets for this test (`CARGO_PKG_*`, `CARGO_MANIFEST_DIR`, ...)
    // would reach the nested build's build scripts and make some of them (ring's) run again, which
    // costs minutes and disk: the nested build sees the environment a shell would give it.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        if key.starts_with("CARGO_") && key != "CARGO_HOME" && key != "CARGO_TARGET_DIR" {
            build.env_remove(&key);
        }
    }
    let build = build
        .current_dir(&root)
        .args(["build", "-p", "ptl-api", "-p", "ptl-bench"])
        .status()
        .expect("cannot run cargo build");
    assert!(
        build.success(),
        "cargo build -p ptl-api -p ptl-bench failed"
    );
    eprintln!("built ptl and ptl-bench in {:.0?}", started.elapsed());

    let started = Instant::now();
    let status = Command::new("bash")
        .current_dir(&root)
        .arg(root.join("scripts/reliability.sh"))
        .arg("--quick")
        .env("PTL", target.join("debug/ptl"))
        .env("PTL_BENCH", target.join("debug/ptl-bench"))
        .status()
        .expect("cannot run scripts/reliability.sh");
    eprintln!(
        "scripts/reliability.sh --quick took {:.0?}",
        started.elapsed()
    );
    assert!(
        status.success(),
        "scripts/reliability.sh --quick failed ({status}): see the summary table above"
    );
}
