//! The Debian package's files (`ops/debian/`, `[package.metadata.deb]` in `api/Cargo.toml`): the
//! systemd unit carries the sandbox it promises and passes `systemd-analyze verify` (when the
//! tool is on the machine; nothing here needs systemd running), the default configuration is one
//! `ptl` accepts and fits the unit's writable paths, and the package lists files that exist.
//! The installation itself is `ops/debian/test-install.sh` (the release check, README
//! "Production").
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn ops() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../ops/debian")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The `[Service]` section's directives: name -> every value given (a directive may repeat).
fn service_directives(unit: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut section = String::new();
    for line in unit.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if line.starts_with('[') {
            section = line.to_string();
            continue;
        }
        if section == "[Service]" {
            let (k, v) = line.split_once('=').expect("a directive is name=value");
            out.entry(k.trim().to_string())
                .or_default()
                .push(v.trim().to_string());
        }
    }
    out
}

fn unit() -> String {
    read(&ops().join("ptl.service"))
}

#[test]
fn the_unit_carries_the_sandbox() {
    let d = service_directives(&unit());
    let one = |k: &str| -> &str {
        match d.get(k).map(Vec::as_slice) {
            Some([v]) => v,
            other => panic!("{k}: expected one value, found {other:?}"),
        }
    };
    // Who and what runs.
    assert_eq!(one("User"), "ptl");
    assert_eq!(one("Group"), "ptl");
    assert_eq!(one("EnvironmentFile"), "/etc/ptl/ptl.env");
    assert!(
        one("ExecStart").starts_with("/usr/bin/ptl --config /etc/ptl/ptl.toml serve"),
        "{}",
        one("ExecStart")
    );
    // Everything read-only but the data directory.
    assert_eq!(one("ProtectSystem"), "strict");
    assert_eq!(one("ReadWritePaths"), "/var/lib/ptl");
    assert_eq!(one("StateDirectory"), "ptl");
    assert_eq!(one("StateDirectoryMode"), "0700");
    assert_eq!(one("UMask"), "0077");
    // No capability, nothing to gain.
    assert_eq!(one("CapabilityBoundingSet"), "");
    assert_eq!(one("AmbientCapabilities"), "");
    for yes in [
        "NoNewPrivileges",
        "PrivateTmp",
        "PrivateDevices",
        "PrivateMounts",
        "PrivateUsers",
        "ProtectHome",
        "ProtectKernelTunables",
        "ProtectKernelModules",
        "ProtectKernelLogs",
        "ProtectControlGroups",
        "ProtectClock",
        "ProtectHostname",
        "RestrictSUIDSGID",
        "RestrictRealtime",
        "RestrictNamespaces",
        "LockPersonality",
        "MemoryDenyWriteExecute",
        "RemoveIPC",
    ] {
        assert_eq!(one(yes), "yes", "{yes}");
    }
    // TCP for the clients, PostgreSQL and RabbitMQ; a Unix socket for PostgreSQL's local socket.
    let mut families: Vec<&str> = one("RestrictAddressFamilies").split(' ').collect();
    families.sort_unstable();
    assert_eq!(families, ["AF_INET", "AF_INET6", "AF_UNIX"]);
    assert_eq!(
        d["SystemCallFilter"],
        ["@system-service", "~@privileged @resources"]
    );
    assert_eq!(one("SystemCallArchitectures"), "native");
    // The legal clock and the outbox relay live in the server: it must come back.
    assert_eq!(one("Restart"), "on-failure");
}

#[test]
fn systemd_analyze_verifies_the_unit() {
    let tool = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"]
        .into_iter()
        .map(Path::new)
        .find(|p| p.exists());
    let Some(tool) = tool else {
        eprintln!("systemd-analyze is not installed: the unit is not verified on this machine");
        return;
    };
    // `verify` checks that the command exists: point it at the binary this build made.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ptl.service");
    let text = unit().replace(
        "ExecStart=/usr/bin/ptl ",
        &format!("ExecStart={} ", env!("CARGO_BIN_EXE_ptl")),
    );
    std::fs::write(&file, text).unwrap();
    let out = Command::new(tool)
        .args(["verify", "--man=no"])
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // A misspelt directive or a bad value is only a warning: any output fails the test.
    assert!(
        out.status.success() && stderr.trim().is_empty() && out.stdout.is_empty(),
        "systemd-analyze verify: {}\n{stderr}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout)
    );
    // systemd's own exposure score of the sandbox (0 best, 10 worst): "OK" and better than 1.5.
    let out = Command::new(tool)
        .args(["security", "--offline=true", "--threshold=15", "--no-pager"])
        .arg(&file)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "systemd-analyze security: {}\n{report}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_default_configuration_loads_and_fits_the_unit() {
    let path = ops().join("ptl.toml");
    let s = ptl_api::config::load(Some(&path), &|_| None)
        .unwrap_or_else(|e| panic!("ops/debian/ptl.toml: {e}"));
    let d = service_directives(&unit());
    let writable = Path::new(&d["ReadWritePaths"][0]);
    assert_eq!(s.data_dir, writable);
    let url = secrecy::ExposeSecret::expose_secret(&s.database_url).to_string();
    let db = url
        .strip_prefix("sqlite://")
        .unwrap_or_else(|| panic!("the default store is SQLite: {url}"));
    assert!(
        Path::new(db).parent() == Some(writable),
        "{db} is not in {}",
        writable.display()
    );
    // Behind the proxy on the same machine, and the journal gets JSON.
    assert!(s.listen.ip().is_loopback(), "{}", s.listen);
    assert_eq!(s.log_format, ptl_api::config::LogFormat::Json);
    // The keys are not settings: none in the file.
    assert!(!read(&path).contains("PTL_MASTER_KEY="));
}

#[test]
fn the_package_metadata_names_the_files_the_unit_uses() {
    let manifest: toml::Table = read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
        .parse()
        .unwrap();
    let deb = &manifest["package"]["metadata"]["deb"];
    assert_eq!(deb["name"].as_str(), Some("ptl"));
    let scripts =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(deb["maintainer-scripts"].as_str().unwrap());
    assert_eq!(
        scripts.canonicalize().unwrap(),
        ops().canonicalize().unwrap()
    );
    let mut dests = Vec::new();
    for asset in deb["assets"].as_array().unwrap() {
        let a = asset.as_array().unwrap();
        let (src, dest) = (a[0].as_str().unwrap(), a[1].as_str().unwrap());
        if src != "target/release/ptl" {
            let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(src);
            assert!(p.is_file(), "asset {src} is missing");
        }
        dests.push(dest.to_string());
    }
    // The binary the unit starts, and the configuration it names (a conffile under /etc).
    assert!(dests.iter().any(|d| d == "usr/bin/"));
    assert!(dests.iter().any(|d| d == "etc/ptl/ptl.toml"));
    let units = deb["systemd-units"].as_table().unwrap();
    assert_eq!(units["enable"].as_bool(), Some(true));
    // The maintainer scripts and the helpers are valid shell.
    for script in ["postinst", "postrm", "ptl-admin", "test-install.sh"] {
        let out = Command::new("sh")
            .arg("-n")
            .arg(ops().join(script))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{script}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // postinst creates what the unit needs: the user, the data directory 0700, the key file.
    let postinst = read(&ops().join("postinst"));
    for needed in [
        "adduser --system",
        "chmod 0700 /var/lib/ptl",
        "/etc/ptl/ptl.env",
        "#DEBHELPER#",
    ] {
        assert!(postinst.contains(needed), "postinst lacks {needed}");
    }
}
