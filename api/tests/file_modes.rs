//! Issue 13, item 7: the data directory is created 0700, and the database, its WAL and shared
//! memory files and every backup are 0600, whatever the umask (here 000, under which anything
//! created with the usual modes would be world-readable).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// `ptl` with `args` under `umask 000`, isolated from the caller's settings.
fn ptl_with_umask_000(cwd: &Path, db: &str, data: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("sh");
    for (k, _) in std::env::vars() {
        if k.starts_with("PTL_") {
            cmd.env_remove(k);
        }
    }
    cmd.current_dir(cwd)
        .env("RUST_LOG", "warn")
        .arg("-c")
        .arg("umask 000 && exec \"$@\"")
        .arg("sh")
        .arg(env!("CARGO_BIN_EXE_ptl"))
        .arg("--database-url")
        .arg(db)
        .arg("--data-dir")
        .arg(data)
        .args(args);
    cmd
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn healthy(port: u16) -> bool {
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    if s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.1 200")
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_data_directory_is_0700_and_the_database_its_wal_and_shm_and_backups_0600_under_umask_000() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let data = root.join("data");
    let db_path = data.join("ptl.db");
    let db = format!("sqlite://{}", db_path.display());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let server = Server(
        ptl_with_umask_000(
            root,
            &db,
            &data,
            &["serve", "--listen", &listen, "--allow-non-durable"],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap(),
    );
    let mut up = false;
    for _ in 0..600 {
        if healthy(port) {
            up = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(up, "ptl serve did not come up");

    assert_eq!(mode(&data), 0o700, "data directory");
    for name in ["ptl.db", "ptl.db-wal", "ptl.db-shm"] {
        assert_eq!(mode(&data.join(name)), 0o600, "{name}");
    }

    let copy = root.join("backup.db");
    let out = ptl_with_umask_000(
        root,
        &db,
        &data,
        &["backup", "--output", copy.to_str().unwrap()],
    )
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "backup: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(mode(&copy), 0o600, "backup");
    // nothing left of the private staging directory
    let leftovers: Vec<_> = std::fs::read_dir(root)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".ptl-backup-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    drop(server);
}
