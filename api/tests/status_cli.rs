//! `ptl status` through the real binary (issue 16, "Operator"): it reads the store directly and
//! prints each read model, the outbox, the legal clock, the store and the calendars; exit code 2
//! with the reason while a read model catches up (a catch-up held after its first batch, as
//! `ptl projections catch-up` running elsewhere) or the legal clock is late, 0 once it can serve,
//! and one sentence with exit code 1 when the store cannot be read.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{assert_refused, ptl, text};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ptl_status_reads_the_store_and_says_whether_an_instance_can_serve() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let db = format!("sqlite://{}", dir.path().join("ptl.db").display());
    let run = |args: &[&str]| ptl(dir.path(), &db, &data, args);

    let out = run(&["migrate"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(&["status"]);
    let s = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{s}{}", text(&out.stderr));
    assert!(s.starts_with("ready"), "{s}");
    for needle in [
        "work_queue  kept in the events' transaction",
        "registers   kept in the events' transaction",
        "outbox: 0 pending",
        "legal clock: last run never",
        "store: sqlite",
        "journal_mode=wal, synchronous=full",
        "calendars: the last year covered is 2027",
    ] {
        assert!(s.contains(needle), "`{needle}` not in:\n{s}");
    }
    // Every migration this build knows is applied.
    let line = s.lines().find(|l| l.starts_with("store:")).unwrap();
    let counts = line.split("migrations ").nth(1).unwrap();
    let mut words = counts.split_whitespace();
    let applied = words.next().unwrap();
    assert_eq!(words.next(), Some("of"));
    assert_eq!(Some(applied), words.next(), "{line}");

    // Events to catch up with: the demo's cases.
    let out = run(&["demo"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(&["deadlines", "run-once"]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    // A catch-up of the work queue held after its first event.
    let (first_tx, first_rx) = std::sync::mpsc::channel::<u64>();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let url = db.clone();
    let catch_up = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let db = ptl_engine::open::connect(&url).await.unwrap();
            ptl_projections::catch_up_in_batches(&db, Some("work_queue"), 1, |n| {
                if n == 1 {
                    let _ = first_tx.send(n);
                    let _ = release_rx.recv();
                }
            })
            .await
            .unwrap()
            .events
        })
    });
    first_rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .unwrap();
    let out = run(&["status"]);
    let s = text(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{s}{}", text(&out.stderr));
    assert!(s.starts_with("NOT READY"), "{s}");
    assert!(
        s.contains("reason: the read model work_queue is catching up (1 of "),
        "{s}"
    );
    let wq = s
        .lines()
        .find(|l| l.trim_start().starts_with("work_queue"))
        .unwrap();
    assert!(wq.contains("CATCHING UP, 1 of"), "{wq}");
    assert!(!wq.contains("lag 0 events"), "{wq}");
    let dl = s
        .lines()
        .find(|l| l.trim_start().starts_with("deadlines"))
        .unwrap();
    assert!(dl.contains("lag 0 events"), "{dl}");
    // The same as JSON.
    let out = run(&["status", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ready"], false);
    assert_eq!(v["read_models"][0]["name"], "work_queue");
    assert_eq!(v["read_models"][0]["kept"], "catching_up");
    assert!(v["read_models"][0]["lag_events"].as_u64().unwrap() > 0);
    assert!(v["legal_clock"]["last_run_at"].is_string(), "{v}");

    release_tx.send(()).unwrap();
    assert!(catch_up.join().unwrap() > 1);
    let out = run(&["status"]);
    let s = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{s}");
    assert!(
        s.contains("work_queue  kept in the events' transaction"),
        "{s}"
    );

    // A store that cannot be read: one sentence, exit 1.
    let not_a_dir = dir.path().join("file");
    std::fs::write(&not_a_dir, "x").unwrap();
    let bad = format!("sqlite://{}", not_a_dir.join("ptl.db").display());
    let out = ptl(dir.path(), &bad, &data, &["status"]);
    assert_eq!(out.status.code(), Some(1));
    assert_refused(&out, "store");
}
