//! `ptl users` through the real binary (`web.md`, "Signing in"): a one-time password that must be
//! changed, `--password-stdin` for scripts, the password policy, a role that must fit its office,
//! list, disable, enable, reset-password and set-role, every change in the security log; and
//! `ptl demo` printing one account per role. Bad input is one sentence and writes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Write;
use std::process::Stdio;

use common::{assert_refused, ptl, ptl_command, text};

fn with_stdin(dir: &std::path::Path, db: &str, args: &[&str], input: &str) -> std::process::Output {
    let mut child = ptl_command(dir)
        .arg("--database-url")
        .arg(db)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

async fn open(db: &str, data: &std::path::Path) -> std::sync::Arc<ptl_engine::pipeline::Engine> {
    let opts = ptl_api::startup::StartOptions::new(db, data);
    let started =
        ptl_api::startup::start(&opts, std::sync::Arc::new(ptl_engine::clock::SystemClock))
            .await
            .unwrap();
    started.state.app.engine.clone()
}

#[tokio::test]
async fn users_are_managed_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let db = format!("sqlite://{}", dir.path().join("ptl.db").display());
    let run = |args: &[&str]| ptl(dir.path(), &db, &data, args);

    let out = run(&[
        "users",
        "add",
        "olena",
        "--role",
        "caseworker",
        "--office",
        "UA7102",
        "--name",
        "Олена Коваль",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    let otp = said
        .split("one-time password: ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(otp.len(), 19, "{said}");

    // Refusals: one sentence each, nothing written.
    assert_refused(
        &run(&[
            "users",
            "add",
            "olena",
            "--role",
            "caseworker",
            "--office",
            "UA7102",
            "--name",
            "x",
        ]),
        "taken",
    );
    assert_refused(
        &run(&[
            "users", "add", "ivan", "--role", "judge", "--office", "UA7102", "--name", "x",
        ]),
        "not a role",
    );
    assert_refused(
        &run(&[
            "users",
            "add",
            "ivan",
            "--role",
            "caseworker",
            "--office",
            "UA-NSS",
            "--name",
            "x",
        ]),
        "does not belong",
    );
    assert_refused(
        &run(&[
            "users",
            "add",
            "ivan",
            "--role",
            "caseworker",
            "--office",
            "UA9999",
            "--name",
            "x",
        ]),
        "no office",
    );
    assert_refused(
        &run(&[
            "users",
            "add",
            "a b",
            "--role",
            "caseworker",
            "--office",
            "UA7102",
            "--name",
            "x",
        ]),
        "login",
    );
    assert_refused(
        &with_stdin(
            dir.path(),
            &db,
            &[
                "users",
                "add",
                "ivan",
                "--role",
                "caseworker",
                "--office",
                "UA7102",
                "--name",
                "Іван",
                "--password-stdin",
            ],
            "short\n",
        ),
        "12 characters",
    );
    assert_refused(
        &with_stdin(
            dir.path(),
            &db,
            &[
                "users",
                "add",
                "ivan",
                "--role",
                "caseworker",
                "--office",
                "UA7102",
                "--name",
                "Іван",
                "--password-stdin",
            ],
            "password1234\n",
        ),
        "common",
    );
    assert_refused(&run(&["users", "disable", "nobody"]), "no account");
    assert_refused(
        &run(&["users", "set-role", "olena", "--role", "decision_officer"]),
        "does not belong",
    );

    let out = with_stdin(
        dir.path(),
        &db,
        &[
            "users",
            "add",
            "Ivan",
            "--role",
            "caseworker",
            "--office",
            "UA7104",
            "--name",
            "Іван",
            "--password-stdin",
        ],
        "рушник-над-Россю-7\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!text(&out.stdout).contains("one-time"));

    assert!(run(&[
        "users",
        "set-role",
        "ivan",
        "--role",
        "supervisor",
        "--office",
        "UA71"
    ])
    .status
    .success());
    assert!(run(&["users", "disable", "olena"]).status.success());
    let out = run(&["users", "reset-password", "olena"]);
    assert!(text(&out.stdout).contains("new one-time password"));
    let list = text(&run(&["users", "list"]).stdout);
    assert!(
        list.lines().any(|l| l.starts_with("ivan ")
            && l.contains("supervisor")
            && l.contains("UA71 ")
            && l.contains("active")),
        "{list}"
    );
    assert!(
        list.lines()
            .any(|l| l.starts_with("olena ") && l.contains("disabled")),
        "{list}"
    );
    assert_eq!(list.lines().count(), 3, "{list}");
    assert!(run(&["users", "enable", "olena"]).status.success());
    let out = run(&["verify", "--security-log"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("security log  ok       6 entries"),
        "{}",
        text(&out.stdout)
    );

    // What the store holds: hashes, not passwords; every change in the verified security log.
    let engine = open(&db, &data).await;
    let ivan = engine.user_by_login("ivan").await.unwrap().unwrap();
    assert!(ivan
        .password_hash
        .as_deref()
        .unwrap()
        .starts_with("$argon2id$"));
    assert!(!ivan.must_change_password);
    assert!(ptl_api::web::password::verify(
        "рушник-над-Россю-7",
        ivan.password_hash.as_deref().unwrap()
    ));
    let olena = engine.user_by_login("olena").await.unwrap().unwrap();
    assert!(olena.must_change_password);
    assert!(
        !ptl_api::web::password::verify(&otp, olena.password_hash.as_deref().unwrap()),
        "reset replaced it"
    );
    let log = engine.security_log(0, 100).await.unwrap();
    let kinds: Vec<_> = log.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "user_added",
            "user_added",
            "user_role_changed",
            "user_disabled",
            "password_reset",
            "user_enabled"
        ]
    );
    assert!(log
        .iter()
        .all(|e| e.actor.as_deref().is_some_and(|a| a.starts_with("cli:"))));
    assert!(!serde_json::to_string(&log).unwrap().contains("рушник"));
    assert_eq!(engine.verify_security_log().await.unwrap(), None);
}

#[test]
fn demo_prints_one_account_per_role() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let db = format!("sqlite://{}", dir.path().join("ptl.db").display());
    let out = ptl(dir.path(), &db, &data, &["demo"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    for role in [
        "caseworker",
        "supervisor",
        "social_worker",
        "decision_officer",
        "auditor",
        "admin",
    ] {
        assert!(
            said.lines()
                .any(|l| l.split_whitespace().nth(1) == Some(role)
                    && l.split_whitespace().nth(3).is_some_and(|p| p.len() == 19)),
            "{role} in {said}"
        );
    }
    let list = text(&ptl(dir.path(), &db, &data, &["users", "list"]).stdout);
    assert_eq!(
        list.lines().filter(|l| l.contains("one-time")).count(),
        ptl_api::accounts::DEMO_ACCOUNTS.len()
    );
}
