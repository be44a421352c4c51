//! What the tests that run the real `ptl` binary share: the command isolated from the caller's
//! settings, and the shape of a refusal (one `ptl: ...` sentence on stderr, a non-zero exit).
// Each test crate uses part of this module.
#![allow(dead_code, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

/// `ptl` in `cwd` (no `ptl.toml` there), without the caller's `PTL_*` variables, logging warnings
/// only.
pub fn ptl_command(cwd: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ptl"));
    for (k, _) in std::env::vars() {
        if k.starts_with("PTL_") {
            cmd.env_remove(k);
        }
    }
    cmd.current_dir(cwd).env("RUST_LOG", "warn");
    cmd
}

/// Runs `ptl` on the store `db` with the data directory `data`, isolated as [`ptl_command`].
pub fn ptl(cwd: &Path, db: &str, data: &Path, args: &[&str]) -> Output {
    ptl_command(cwd)
        .arg("--database-url")
        .arg(db)
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .output()
        .expect("run ptl")
}

/// Output bytes as text.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A refusal: non-zero exit, a single `ptl: ...` sentence on stderr containing `needle`, no panic.
pub fn assert_refused(out: &Output, needle: &str) {
    let err = text(&out.stderr);
    assert!(!out.status.success(), "succeeded: {err}");
    assert!(!err.contains("panicked"), "{err}");
    let lines: Vec<_> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].starts_with("ptl: "), "{err}");
    assert!(lines[0].contains(needle), "`{needle}` not in {err}");
}
