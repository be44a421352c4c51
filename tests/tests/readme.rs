//! The README's first lines, as a new user runs them, on a clean clone of the commit under test:
//! its first command (`cargo run --release -- serve`) builds and starts the server until
//! `/readyz` answers, then its token line mints a token and its registration `curl` gets a `201`,
//! and its account line prints a one-time password that signs in on the web application's
//! sign-in page.
//!
//! The lines are read from README.md and run with bash, unchanged but for one thing: the server
//! listens on a free port, given as `PTL_LISTEN` (the variable `ptl serve` reads), and the
//! `curl` line's `127.0.0.1:8080` (the default the README uses) is replaced by that address, so
//! the test does not collide with a server already on 8080.
//!
//! Cost: the clone builds into this workspace's target directory (`CARGO_TARGET_DIR`, else
//! `target/`), in the release profile the README asks for, but without optimisation (see
//! [`RELEASE_PROFILE_FOR_THE_TEST`]): CI's `cargo test --workspace` builds in debug, so the first
//! run on a target directory without release artifacts compiles the `ptl` dependency tree once
//! more; later runs reuse it and recompile only the four workspace crates of `ptl` (the clone is
//! new, so its sources are newer than their artifacts). The test prints the time it waited for
//! the server. The clone lives at `<target>/readme-clone` (a stable path keeps one set of
//! artifacts for it instead of one per run) and is removed at the end.
//!
//! Skipped, with a message, only when git is not installed; a source tree that is not a git
//! checkout (e.g. a tarball) fails, since there is no commit to clone.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long the first command may take to build and start the server (a cold release build on
/// a small shared machine takes tens of minutes).
const START_TIMEOUT: Duration = Duration::from_secs(60 * 60);

/// The release profile's settings while the README's first command builds in this test.
const RELEASE_PROFILE_FOR_THE_TEST: &[(&str, &str)] = &[
    ("CARGO_PROFILE_RELEASE_OPT_LEVEL", "0"),
    ("CARGO_PROFILE_RELEASE_DEBUG", "false"),
    ("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "256"),
    ("CARGO_PROFILE_RELEASE_INCREMENTAL", "false"),
];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate lives in the workspace")
        .to_path_buf()
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|t| if t.is_absolute() { t } else { root.join(t) })
        .unwrap_or_else(|| root.join("target"))
}

/// Runs git with `args` in `dir`; its trimmed stdout, or why it failed.
fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .output()
        .map_err(|e| format!("git {args:?}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(format!(
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// The fenced `sh` blocks of the README, in order.
fn sh_blocks(readme: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in readme.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sh") => current = Some(Vec::new()),
            (Some(lines), "```") => {
                blocks.push(lines.join("\n"));
                current = None;
            }
            (Some(lines), _) => lines.push(line),
            (None, _) => {}
        }
    }
    blocks
}

/// The server started by the README's first command, and the clone it runs in: dropping it
/// (also when an assertion fails) stops the whole process group (bash, cargo, ptl) and removes
/// the clone.
struct Started {
    child: std::process::Child,
    clone: PathBuf,
}

impl Started {
    /// Sends `signal` to the process group (`--` so that the negative id is not read as an
    /// option: without it procps' kill signals nothing).
    fn signal(&self, signal: &str) {
        let _ = Command::new("kill")
            .args(["-s", signal, "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
    }

    /// SIGTERM to the group (the server finishes in-flight requests), SIGKILL after 20 s.
    fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        self.signal("TERM");
        let until = Instant::now() + Duration::from_secs(20);
        while Instant::now() < until {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.signal("KILL");
        let _ = self.child.wait();
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.clone);
    }
}

fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readmes_first_commands_start_the_server_mint_a_token_and_register_a_case() {
    if !Command::new("git")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        eprintln!(
            "skipped: git is not installed, and the README test needs it to clone the commit"
        );
        return;
    }
    let root = workspace_root();
    let head = git(&root, &["rev-parse", "HEAD"]).unwrap_or_else(|e| {
        panic!(
            "{} is not a git checkout ({e}): the README test runs the README on a clean clone \
             of the commit under test; run the tests from a git clone, not from a tarball",
            root.display()
        )
    });
    if git(&root, &["status", "--porcelain"]).is_ok_and(|s| !s.is_empty()) {
        eprintln!("note: the README test checks commit {head}, not the uncommitted changes");
    }

    // The README as committed, from a clean clone.
    let target = target_dir(&root);
    let clone = target.join("readme-clone");
    let _ = std::fs::remove_dir_all(&clone);
    std::fs::create_dir_all(&target).unwrap();
    let source = format!("file://{}", root.display());
    let clone_text = clone.display().to_string();
    git(
        &target,
        &["clone", "--quiet", "--depth", "1", &source, &clone_text],
    )
    .unwrap();
    if git(&clone, &["rev-parse", "HEAD"]).as_deref() != Ok(head.as_str()) {
        git(
            &clone,
            &["fetch", "--quiet", "--depth", "1", "origin", &head],
        )
        .unwrap();
        git(&clone, &["checkout", "--quiet", "--detach", &head]).unwrap();
    }
    let readme = std::fs::read_to_string(clone.join("README.md")).unwrap();
    let blocks = sh_blocks(&readme);
    assert!(blocks.len() >= 2, "README.md has its two first `sh` blocks");
    let first = blocks[0].lines().next().unwrap_or("").to_string();
    assert!(
        first.starts_with("cargo run") && first.contains(" serve"),
        "the README's first command starts the server: {first}"
    );
    let register = blocks[1].clone();
    assert!(
        register.contains("TOKEN=$(cargo run") && register.contains("curl "),
        "the README's second block mints a token and registers a case:\n{register}"
    );
    assert_eq!(
        register.matches("127.0.0.1:8080").count(),
        1,
        "the registration names the default address once:\n{register}"
    );

    // A free port for the server.
    let address = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().to_string()
    };
    // The same cargo as the one running the tests, first on PATH for the README's `cargo`.
    let path = match (std::env::var_os("CARGO"), std::env::var_os("PATH")) {
        (Some(cargo), Some(path)) => {
            let mut dirs: Vec<PathBuf> = Path::new(&cargo)
                .parent()
                .into_iter()
                .map(Path::to_path_buf)
                .collect();
            dirs.extend(std::env::split_paths(&path));
            std::env::join_paths(dirs).unwrap()
        }
        (_, Some(path)) => path,
        (_, None) => std::ffi::OsString::from("/usr/local/bin:/usr/bin:/bin"),
    };
    let shell = |line: &str| {
        let mut c = Command::new("bash");
        // The environment a shell would give the README's lines: not the `CARGO_*` variables
        // `cargo test` sets for this test (they would reach the build scripts of the nested build
        // and make some of them run again).
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy().into_owned();
            if key.starts_with("CARGO_") && key != "CARGO_HOME" {
                c.env_remove(&key);
            }
        }
        // What this test checks is that the line picks the `ptl` binary, builds and serves, not
        // the optimiser: the release profile is built without optimisation here (as the dev
        // profile is), which takes a few minutes on a 2-core machine instead of tens. The line
        // itself runs as written; a user's `--release` build stays optimised.
        for (key, value) in RELEASE_PROFILE_FOR_THE_TEST {
            c.env(key, value);
        }
        c.arg("-c")
            .arg(line)
            .current_dir(&clone)
            .env("PATH", &path)
            .env("CARGO_TARGET_DIR", &target)
            .env("PTL_LISTEN", &address)
            // The README's defaults: ./ptl-data in the clone, no settings file.
            .env_remove("PTL_DATABASE_URL")
            .env_remove("PTL_DATA_DIR")
            .env_remove("PTL_CONFIG");
        c
    };

    // The first command, in a process group of its own so that stopping it stops cargo and ptl.
    let log = target.join("readme-server.log");
    let server_log = std::fs::File::create(&log).unwrap();
    let child = {
        use std::os::unix::process::CommandExt as _;
        shell(&first)
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(server_log.try_clone().unwrap())
            .stderr(server_log)
            .spawn()
            .unwrap()
    };
    let mut started = Started {
        child,
        clone: clone.clone(),
    };
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let waited = Instant::now();
    loop {
        if let Ok(Some(status)) = started.child.try_wait() {
            panic!(
                "`{first}` ended ({status}) before /readyz answered:\n{}",
                log_tail(&log)
            );
        }
        assert!(
            waited.elapsed() < START_TIMEOUT,
            "/readyz did not answer within {START_TIMEOUT:?}:\n{}",
            log_tail(&log)
        );
        let ready = http.get(format!("http://{address}/readyz")).send().await;
        if ready.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    eprintln!(
        "`{first}` built and started the server in {:.0?}",
        waited.elapsed()
    );
    assert!(
        clone.join("ptl-data/ptl.db").exists(),
        "the first start created ./ptl-data with the SQLite file"
    );

    // The token and registration lines as written, the address aside; `curl` also prints the
    // status code on a last line of its own, and the token is kept for the assertions.
    let script = format!(
        "set -eo pipefail\ncurl() {{ command curl -w '\\n%{{http_code}}' \"$@\"; }}\n{}\nprintf '%s' \"$TOKEN\" > readme-token.txt\n",
        register.replace("127.0.0.1:8080", &address)
    );
    let run = tokio::time::timeout(
        Duration::from_secs(600),
        tokio::process::Command::from(shell(&script)).output(),
    )
    .await
    .expect("the token and registration lines finish")
    .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout).to_string();
    assert!(
        run.status.success(),
        "the token and registration lines failed ({}):\n{stdout}\n{}",
        run.status,
        String::from_utf8_lossy(&run.stderr)
    );
    let token = std::fs::read_to_string(clone.join("readme-token.txt")).unwrap();
    assert_eq!(
        token.split('.').filter(|part| !part.is_empty()).count(),
        3,
        "`ptl token` printed a JWT: {token:?}"
    );
    let (body, status) = stdout
        .trim_end()
        .rsplit_once('\n')
        .unwrap_or(("", stdout.trim_end()));
    assert_eq!(status, "201", "{body}");
    let case: serde_json::Value = serde_json::from_str(body).unwrap();
    assert!(
        case["id"].as_str().is_some_and(|id| !id.is_empty()),
        "{case}"
    );
    assert_eq!(case["office"], "UA7102", "{case}");

    // The web application: the account line as written prints a one-time password, which signs
    // in on the sign-in page and asks for a new password first.
    let users = blocks
        .get(2)
        .expect("the README's third `sh` block adds an account")
        .clone();
    assert!(users.contains("-- users add "), "{users}");
    let run = tokio::time::timeout(
        Duration::from_secs(600),
        tokio::process::Command::from(shell(&users)).output(),
    )
    .await
    .expect("the account line finishes")
    .unwrap();
    let said = String::from_utf8_lossy(&run.stdout).to_string();
    assert!(
        run.status.success(),
        "{said}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let one_time = said
        .split("one-time password: ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no one-time password in {said:?}"))
        .to_string();
    let login = users
        .split("users add ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .to_string();
    let web = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let page = web
        .get(format!("http://{address}/sign-in"))
        .send()
        .await
        .unwrap();
    let cookie = page
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap()
        .to_string();
    let html = page.text().await.unwrap();
    let csrf = html
        .split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_string();
    let signed = web
        .post(format!("http://{address}/sign-in"))
        .header("cookie", cookie)
        .form(&[
            ("login", login.as_str()),
            ("password", one_time.as_str()),
            ("csrf_token", csrf.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status().as_u16(), 303);
    assert_eq!(
        signed
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok()),
        Some("/password"),
        "a one-time password must be changed first"
    );

    started.stop();
    drop(started);
    assert!(!clone.exists(), "the clone is removed");
}
