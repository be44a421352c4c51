//! The missed-deadline webhook: the outbox written with each recorded miss is delivered once per
//! row, signed, after the receiver comes up (SQLite; the fixture is the scheduler tests').
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    dead_code,
    unused_imports
)]

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use ptl_domain::command::{ApplicantInput, ReferralInput};
use ptl_domain::event::Responsible;
use ptl_domain::types::*;
use ptl_domain::{Action, Calendar, EventBody, Register, RuleBook};
use ptl_engine::clock::{Clock, SettableClock};
use ptl_engine::db::Db;
use ptl_engine::keys::KeyRing;
use ptl_engine::pipeline::{Engine, EngineOptions, Personal, RecordedEvent};
use ptl_projections::scheduler::{RunReport, Scheduler, SchedulerOptions};
use ptl_projections::webhook::{DeliveryReport, WebhookOptions, WebhookSender};
use ptl_projections::{due_deadlines, ReadModels};
use sqlx::{Connection, Executor, PgConnection};
use uuid::Uuid;

#[macro_use]
mod common;
#[allow(unused_imports)]
use common::*;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// `hh:mm` on `day` in Kyiv (winter time, UTC+2, until 29 March 2026; summer time after).
fn kyiv(day: &str, hh: u32, mm: u32) -> DateTime<Utc> {
    let offset = if d(day) >= d("2026-03-29") { 3 } else { 2 };
    let local = d(day).and_hms_opt(hh, mm, 0).unwrap();
    Utc.from_utc_datetime(&(local - chrono::Duration::hours(offset)))
}

fn cw() -> Actor {
    Actor::user("cw-1", Role::Caseworker, "UA7102")
}

fn supervisor() -> Actor {
    Actor::user("sv-1", Role::Supervisor, "UA7102")
}

fn officer() -> Actor {
    Actor::user("do-1", Role::DecisionOfficer, "UA-NSS")
}

fn registration(on: &str) -> Register {
    Register {
        register_no: String::new(),
        office: "UA7102".parse().unwrap(),
        filed_by: FiledBy::SelfFiled,
        applicant: ApplicantInput {
            sex: Sex::Female,
            birth_date: d("1990-04-02"),
            citizenship: Citizenship::Ukrainian,
            citizenship_country: None,
            speaks_ukrainian_or_russian: true,
            interpreter_used: false,
        },
        referral: Some(ReferralInput {
            source: ReferralSource::Hotline,
            organisation: None,
            referred_on: d(on),
        }),
        exploitation_forms: vec![ExploitationForm::Labour],
        exploitation_country: "PL".into(),
        documents: vec![(DocumentKind::IdentityDocument, None)],
        id_document_missing_reason: None,
        rights_explained: true,
        person: None,
    }
}

fn consent() -> Action {
    Action::RecordConsent {
        scope: ConsentScope::StatusProcedure,
        given_by: GivenBy::Person,
    }
}

fn interview() -> Action {
    Action::RecordInterview {
        consent_signed_by: GivenBy::Person,
        non_disclosure_receipt_signed: true,
    }
}

/// One received request: headers (lower-case names) and body.
type Received = Arc<std::sync::Mutex<Vec<(Vec<(String, String)>, Vec<u8>)>>>;

/// A minimal HTTP/1.1 receiver on `listener`: records each request and answers 200.
async fn receiver(listener: tokio::net::TcpListener, got: Received) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    loop {
        let Ok((mut sock, _)) = listener.accept().await else {
            return;
        };
        let got = got.clone();
        tokio::spawn(async move {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let (head_end, len) = loop {
                let n = sock.read(&mut chunk).await.unwrap();
                assert!(n > 0, "connection closed early");
                buf.extend_from_slice(&chunk[..n]);
                if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&buf[..p]).to_lowercase();
                    let len = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .map_or(0, |v| v.trim().parse::<usize>().unwrap());
                    break (p + 4, len);
                }
            };
            while buf.len() < head_end + len {
                let n = sock.read(&mut chunk).await.unwrap();
                assert!(n > 0);
                buf.extend_from_slice(&chunk[..n]);
            }
            let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
            let headers = head
                .lines()
                .skip(1)
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_string()))
                .collect();
            got.lock()
                .unwrap()
                .push((headers, buf[head_end..head_end + len].to_vec()));
            sock.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .await
                .unwrap();
        });
    }
}

async fn pending(db: &Db) -> Vec<(String, i64, i64, Option<i64>)> {
    let mut tx = db.read().await.unwrap();
    ptl_engine::fetch_all!(
        tx.conn(),
        (String, i64, i64, Option<i64>),
        "SELECT case_id, sequence, attempts, delivered_at FROM webhook_outbox ORDER BY case_id"
    )
    .unwrap()
}

fn opts() -> WebhookOptions {
    WebhookOptions {
        base_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_millis(400),
        poll: Duration::from_millis(20),
        request_timeout: Duration::from_secs(2),
        ..WebhookOptions::default()
    }
}

async fn each_miss_is_delivered_once_signed_after_the_receiver_comes_up(f: Fixture) {
    let secret = b"s3cret-shared-with-the-receiver".to_vec();
    let a = f.register("2026-03-02").await;
    let b = f.register("2026-03-02").await;
    f.set_now("2026-03-06", 9, 0);
    assert_eq!(f.scheduler().run_once().await.unwrap().missed_recorded, 2);

    // A port with nothing listening.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/hooks/ptl");
    let sender =
        WebhookSender::with_options(f.db.clone(), url.clone(), secret.clone(), opts()).unwrap();
    assert_eq!(
        sender.run_once().await.unwrap(),
        DeliveryReport {
            delivered: 0,
            failed: 2
        }
    );
    // Backing off: an immediate pass sends nothing.
    assert_eq!(sender.run_once().await.unwrap(), DeliveryReport::default());
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(
        sender.run_once().await.unwrap(),
        DeliveryReport {
            delivered: 0,
            failed: 2
        }
    );
    let rows = pending(&f.db).await;
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r.2 == 2 && r.3.is_none()), "{rows:?}");

    // "Restart": a new sender over the same store, then the receiver comes up.
    drop(sender);
    let got: Received = Arc::default();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let server = tokio::spawn(receiver(listener, got.clone()));
    let sender = WebhookSender::with_options(f.db.clone(), url, secret.clone(), opts()).unwrap();
    let runner = {
        let sender = sender.clone();
        tokio::spawn(async move { sender.run(std::future::pending()).await })
    };
    assert!(
        eventually(10, || async {
            pending(&f.db).await.iter().all(|r| r.3.is_some())
        })
        .await,
        "not delivered: {:?}",
        pending(&f.db).await
    );
    // Give a duplicate a chance to show up, then stop.
    tokio::time::sleep(Duration::from_millis(300)).await;
    runner.abort();
    assert_eq!(sender.run_once().await.unwrap(), DeliveryReport::default());
    server.abort();

    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), 2, "one request per row");
    let mut cases = Vec::new();
    for (headers, body) in &got {
        let h = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        use hmac::Mac;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&secret).unwrap();
        mac.update(body);
        let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        assert_eq!(h("x-ptl-signature"), expected);
        let json: serde_json::Value = serde_json::from_slice(body).unwrap();
        assert_eq!(json["type"], "deadline_missed");
        assert_eq!(json["deadline"], "interview");
        assert_eq!(json["due_on"], "2026-03-05");
        assert_eq!(json["missed_on"], "2026-03-06");
        assert_eq!(json["office"], "UA7102");
        assert_eq!(json["escalation_level"], 1);
        assert!(json["event_id"]
            .as_str()
            .is_some_and(|s| Uuid::parse_str(s).is_ok()));
        assert_eq!(
            h("x-ptl-delivery"),
            format!("{}:{}", json["case_id"].as_str().unwrap(), json["sequence"])
        );
        // No personal data: only these keys.
        let mut keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            vec![
                "case_id",
                "deadline",
                "due_on",
                "escalation_level",
                "event_id",
                "missed_on",
                "office",
                "sequence",
                "type"
            ]
        );
        cases.push(Uuid::parse_str(json["case_id"].as_str().unwrap()).unwrap());
    }
    cases.sort();
    assert_eq!(cases, sorted(vec![a, b]));
    assert!(pending(&f.db).await.iter().all(|r| r.2 == 3));
}

fn sorted(mut v: Vec<Uuid>) -> Vec<Uuid> {
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_miss_is_delivered_once_signed_after_the_receiver_comes_up_sqlite() {
    run(
        Backend::Sqlite,
        each_miss_is_delivered_once_signed_after_the_receiver_comes_up,
    )
    .await;
}

/// Polls `check` every 20 ms for up to `secs` seconds.
async fn eventually<F, Fut>(secs: u64, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let until = tokio::time::Instant::now() + Duration::from_secs(secs);
    while tokio::time::Instant::now() < until {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}
