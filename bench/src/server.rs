//! The `ptl` server process the `http` benchmark starts on a free port, and the tokens it mints
//! with `ptl token`.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::Res;

#[derive(Debug)]
pub struct Server {
    child: Child,
    pub base: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The last `lines` lines of a server's log, to print beside a failed run.
pub fn log_tail(log: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

impl Server {
    pub async fn start(ptl: &Path, url: &str, data_dir: &Path, log: &Path) -> Res<Self> {
        let port = free_port();
        let log = std::fs::File::create(log).map_err(|e| e.to_string())?;
        let child = Command::new(ptl)
            .arg("--database-url")
            .arg(url)
            .arg("--data-dir")
            .arg(data_dir)
            .arg("serve")
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            // PTL_BENCH_SERVER_LOG sets the server's log filter for a diagnosis run (for example
            // `warn,sqlx::query=debug` counts statements per request); the log stays "warn" else.
            .env(
                "RUST_LOG",
                std::env::var("PTL_BENCH_SERVER_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", ptl.display()))?;
        let base = format!("http://127.0.0.1:{port}");
        let mut s = Self { child, base };
        let http = reqwest::Client::new();
        for _ in 0..300 {
            if let Ok(r) = http.get(format!("{}/healthz", s.base)).send().await {
                if r.status().is_success() {
                    return Ok(s);
                }
            }
            if let Ok(Some(st)) = s.child.try_wait() {
                return Err(format!("ptl serve exited: {st}"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = s.child.kill();
        Err("ptl serve did not become healthy in 30 s".into())
    }

    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    }

    pub fn stop(mut self) {
        // SIGTERM first (graceful), then wait.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn mint(
    ptl: &Path,
    url: &str,
    data_dir: &Path,
    sub: &str,
    role: &str,
    office: &str,
) -> Res<String> {
    let out = Command::new(ptl)
        .arg("--database-url")
        .arg(url)
        .arg("--data-dir")
        .arg(data_dir)
        .args(["token", "--sub", sub, "--role", role, "--office", office])
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "ptl token failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}
