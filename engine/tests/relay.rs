//! The outbox relay against the local RabbitMQ (`PTL_TEST_AMQP_URL`, default
//! `amqp://guest:guest@127.0.0.1:5672/%2f`), each test written once and run on a SQLite file and
//! on a fresh PostgreSQL database (dropped at the end). Every test publishes to an exchange of its
//! own (`ptl.test.<uuid>`, deleted at the end) and reads it through an exclusive auto-delete queue
//! bound with `#`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use futures::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, ExchangeDeclareOptions, ExchangeDeleteOptions,
    QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Connection, ConnectionProperties, Consumer, ExchangeKind};
use ptl_domain::types::*;
use ptl_domain::{Action, Register, RuleBook};
use ptl_engine::clock::SettableClock;
use ptl_engine::db::Db;
use ptl_engine::keys::KeyRing;
use ptl_engine::on_both_stores;
use ptl_engine::pipeline::{Engine, EngineOptions, Personal};
use ptl_engine::relay::Relay;
use ptl_engine::testkit::{caseworker as cw, close, date as d, registration, Backend, TestStore};
use ptl_engine::vault::PersonalText;
use tokio::sync::oneshot;
use uuid::Uuid;

const NAME: &str = "Марʼяна Коваль";

fn amqp_url() -> String {
    std::env::var("PTL_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// One message as received.
#[derive(Debug, Clone)]
struct Received {
    message_id: String,
    routing_key: String,
    content_type: Option<String>,
    delivery_mode: Option<u8>,
    case_id: Option<String>,
    sequence: Option<i64>,
    body: Vec<u8>,
}

struct Fixture {
    engine: Arc<Engine>,
    db: Db,
    exchange: String,
    /// A consumer on the test's queue, bound with `#`.
    consumer: Consumer,
}

impl Fixture {
    fn relay(&self) -> Relay {
        Relay::new(self.db.clone(), amqp_url())
            .with_exchange(self.exchange.clone())
            .with_poll_interval(Duration::from_millis(200))
    }

    /// Receives until `want` distinct message ids have arrived (panics after 20 s), then keeps
    /// listening for `linger` to catch duplicates.
    async fn receive(&mut self, want: usize, linger: Duration) -> Vec<Received> {
        let mut got = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        let mut distinct = BTreeSet::new();
        while distinct.len() < want {
            let next = tokio::time::timeout_at(deadline, self.consumer.next())
                .await
                .unwrap_or_else(|_| {
                    panic!("timed out: {} of {want} distinct messages", distinct.len())
                })
                .expect("consumer open")
                .expect("delivery");
            let r = self.decode(next).await;
            distinct.insert(r.message_id.clone());
            got.push(r);
        }
        while let Ok(Some(next)) = tokio::time::timeout(linger, self.consumer.next()).await {
            got.push(self.decode(next.expect("delivery")).await);
        }
        got
    }

    async fn decode(&self, d: lapin::message::Delivery) -> Received {
        d.ack(BasicAckOptions::default()).await.expect("ack");
        let p = &d.properties;
        let headers = p.headers().clone().unwrap_or_default();
        let h = headers.inner();
        Received {
            message_id: p.message_id().as_ref().expect("message id").to_string(),
            routing_key: d.routing_key.to_string(),
            content_type: p.content_type().as_ref().map(ToString::to_string),
            delivery_mode: *p.delivery_mode(),
            case_id: match h.get("case_id") {
                Some(AMQPValue::LongString(s)) => Some(s.to_string()),
                _ => None,
            },
            sequence: match h.get("sequence") {
                Some(AMQPValue::LongLongInt(n)) => Some(*n),
                _ => None,
            },
            body: d.data.clone(),
        }
    }

    /// Every committed event: id -> (case, sequence, type).
    async fn committed(&self) -> HashMap<String, (String, i64, String)> {
        let mut all = HashMap::new();
        for case in self.engine.case_ids().await.unwrap() {
            for e in self.engine.history(case).await.unwrap() {
                all.insert(
                    e.id.to_string(),
                    (
                        case.to_string(),
                        i64::try_from(e.sequence).unwrap(),
                        e.event.body.type_name().to_owned(),
                    ),
                );
            }
        }
        all
    }

    async fn unpublished(&self) -> i64 {
        let sql = "SELECT COUNT(*) FROM outbox WHERE published_at IS NULL";
        match &self.db {
            Db::Sqlite(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
            Db::Postgres(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
        }
    }
}

async fn run<F, Fut>(backend: Backend, f: F)
where
    F: FnOnce(Fixture) -> Fut,
    Fut: Future<Output = ()>,
{
    let store = TestStore::create(backend).await;
    let db = store.open().await;
    let clock = Arc::new(SettableClock::new(
        Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap(),
    ));
    let engine = Engine::new(
        db.clone(),
        clock,
        Arc::new(RuleBook::builtin().unwrap()),
        Arc::new(KeyRing::generate()),
        None,
        EngineOptions {
            outbox: true,
            ..EngineOptions::default()
        },
    )
    .await
    .expect("engine");
    let exchange = format!("ptl.test.{}", Uuid::new_v4().simple());
    let amqp = Connection::connect(&amqp_url(), ConnectionProperties::default())
        .await
        .expect("RabbitMQ reachable");
    let channel = amqp.create_channel().await.expect("channel");
    // Same arguments as the relay's declaration (declaring is idempotent).
    channel
        .exchange_declare(
            &exchange,
            ExchangeKind::Topic,
            ExchangeDeclareOptions {
                durable: true,
                ..ExchangeDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .expect("exchange");
    let queue = channel
        .queue_declare(
            "",
            QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .expect("queue");
    channel
        .queue_bind(
            queue.name().as_str(),
            &exchange,
            "#",
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .expect("bind");
    let consumer = channel
        .basic_consume(
            queue.name().as_str(),
            "relay-test",
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .expect("consume");
    let fixture = Fixture {
        engine: Arc::new(engine),
        db: db.clone(),
        exchange: exchange.clone(),
        consumer,
    };
    f(fixture).await;
    let _ = channel
        .exchange_delete(&exchange, ExchangeDeleteOptions::default())
        .await;
    let _ = amqp.close(200, "done").await;
    close(&db).await;
}

/// Registers a case with a name in the vault and returns it.
async fn register(engine: &Engine) -> Uuid {
    let person = RecordRef("r-person".into());
    let reg = Register {
        person: Some(person.clone()),
        ..registration(d("2026-03-01"))
    };
    let cmd = engine.command(cw(), d("2026-03-02"), Action::Register(Box::new(reg)));
    let personal = Personal {
        texts: vec![PersonalText {
            record: person,
            value: serde_json::json!({"full_name": NAME, "birth_date": "1990-04-02"}),
        }],
        person_index: Some((NAME.into(), d("1990-04-02"))),
        erasure_reason: None,
    };
    engine
        .register(cmd, personal, None)
        .await
        .expect("recorded")
        .expect("lawful")
        .case_id
}

async fn consent(engine: &Engine, id: Uuid) {
    let cmd = engine.command(
        cw(),
        d("2026-03-02"),
        Action::RecordConsent {
            scope: ConsentScope::StatusProcedure,
            given_by: GivenBy::Person,
        },
    );
    engine
        .execute(id, None, cmd, Personal::default(), None)
        .await
        .unwrap()
        .unwrap();
}

async fn note(engine: &Engine, id: Uuid, n: usize) {
    let cmd = engine.command(
        cw(),
        d("2026-03-02"),
        Action::AddNote {
            note: RecordRef(format!("n{n}")),
        },
    );
    engine
        .execute(id, None, cmd, Personal::default(), None)
        .await
        .unwrap()
        .unwrap();
}

/// Two cases with a few events each: 2 registrations, 2 consents, 4 notes.
async fn commit_some(engine: &Engine) {
    for _ in 0..2 {
        let id = register(engine).await;
        consent(engine, id).await;
        note(engine, id, 1).await;
        note(engine, id, 2).await;
    }
}

fn ids(got: &[Received]) -> BTreeSet<String> {
    got.iter().map(|r| r.message_id.clone()).collect()
}

async fn every_committed_event_arrives_once(mut f: Fixture) {
    let relay = f.relay();
    let poke = relay.notifier();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(relay.run(async {
        let _ = stopped.await;
    }));
    // Commits while the relay runs: some caught by the notification, some by the poll.
    commit_some(&f.engine).await;
    poke.notify_one();
    let committed = f.committed().await;
    assert_eq!(committed.len(), 8);
    let got = f.receive(committed.len(), Duration::from_millis(700)).await;
    assert_eq!(got.len(), committed.len(), "no duplicates: {got:?}");
    assert_eq!(
        ids(&got),
        committed.keys().cloned().collect::<BTreeSet<_>>()
    );
    for r in &got {
        let (case, seq, kind) = &committed[&r.message_id];
        assert_eq!(&r.routing_key, kind);
        assert_eq!(r.case_id.as_ref(), Some(case));
        assert_eq!(r.sequence, Some(*seq));
        assert_eq!(r.content_type.as_deref(), Some("application/json"));
        assert_eq!(r.delivery_mode, Some(2));
        let body: serde_json::Value = serde_json::from_slice(&r.body).expect("JSON body");
        assert!(body.is_object());
    }
    // Within a case, events arrive in sequence order.
    let mut last: HashMap<String, i64> = HashMap::new();
    for r in &got {
        let case = r.case_id.clone().unwrap();
        let seq = r.sequence.unwrap();
        assert!(last.get(&case).is_none_or(|&prev| prev < seq), "{got:?}");
        last.insert(case, seq);
    }
    // The relay marks what it published (it marks right after the confirms: allow a moment).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while f.unpublished().await > 0 {
        assert!(tokio::time::Instant::now() < deadline, "rows left unmarked");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("relay stops on shutdown")
        .unwrap();
    // Nothing is pending any more: a pass publishes nothing.
    assert_eq!(f.relay().run_once().await.unwrap(), 0);
}
on_both_stores!(run, every_committed_event_arrives_once);

async fn a_relay_killed_between_publish_and_mark_loses_nothing(mut f: Fixture) {
    // Committed while no relay runs: all rows pending.
    commit_some(&f.engine).await;
    let committed = f.committed().await;
    let total = committed.len();
    assert_eq!(f.unpublished().await, i64::try_from(total).unwrap());
    // A relay that publishes 3 events and "crashes" before marking them; killed for good measure
    // as soon as the 3 are seen.
    let crashing = f.relay().with_batch_size(2).with_crash_after_publish(3);
    let task = tokio::spawn(crashing.run(std::future::pending()));
    let first = f.receive(3, Duration::from_millis(300)).await;
    task.abort();
    let _ = task.await;
    assert_eq!(first.len(), 3, "{first:?}");
    // Batches of 2: the first batch (2) was marked, the 3rd message was published and not marked.
    assert_eq!(f.unpublished().await, i64::try_from(total - 2).unwrap());

    // A fresh relay: every pending event goes out, including the one already sent.
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(f.relay().run(async {
        let _ = stopped.await;
    }));
    let rest = f.receive(total - 2, Duration::from_millis(700)).await;
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("relay stops on shutdown")
        .unwrap();
    let all: Vec<Received> = first.iter().chain(&rest).cloned().collect();
    assert_eq!(
        ids(&all),
        committed.keys().cloned().collect::<BTreeSet<_>>(),
        "the distinct message ids are exactly the committed events"
    );
    assert_eq!(all.len(), total + 1, "exactly the unmarked one again");
    assert!(ids(&rest).contains(&first[2].message_id));
    assert_eq!(f.unpublished().await, 0);

    // The same with a crash inside one batch (nothing of the batch marked), then run_once.
    commit_some(&f.engine).await;
    let committed = f.committed().await;
    let crash = f.relay().with_crash_after_publish(5).run_once().await;
    assert!(
        matches!(crash, Err(ptl_engine::relay::RelayError::SimulatedCrash(5))),
        "{crash:?}"
    );
    assert_eq!(f.unpublished().await, 8);
    assert_eq!(f.relay().run_once().await.unwrap(), 8);
    let again = f.receive(8, Duration::from_millis(700)).await;
    assert_eq!(again.len(), 5 + 8, "{again:?}");
    let all: Vec<Received> = all.into_iter().chain(again).collect();
    assert_eq!(
        ids(&all),
        committed.keys().cloned().collect::<BTreeSet<_>>()
    );
    assert_eq!(f.unpublished().await, 0);
}
on_both_stores!(run, a_relay_killed_between_publish_and_mark_loses_nothing);

async fn published_events_carry_no_personal_data(mut f: Fixture) {
    commit_some(&f.engine).await;
    let committed = f.committed().await;
    assert_eq!(f.relay().run_once().await.unwrap(), committed.len());
    let got = f.receive(committed.len(), Duration::from_millis(300)).await;
    assert_eq!(got.len(), committed.len());
    let needles = [
        NAME.to_owned(),
        NAME.to_lowercase(),
        "Коваль".to_owned(),
        "full_name".to_owned(),
    ];
    for r in &got {
        let text = String::from_utf8(r.body.clone()).expect("UTF-8");
        // Also the \u-escaped form, in case a serializer escapes non-ASCII.
        let escaped: String = NAME
            .chars()
            .map(|c| {
                if c.is_ascii() {
                    c.to_string()
                } else {
                    format!("\\u{:04x}", u32::from(c))
                }
            })
            .collect();
        for n in needles.iter().chain(std::iter::once(&escaped)) {
            assert!(!text.contains(n.as_str()), "{n} in {text}");
        }
    }
    // The name really was recorded: it is sealed in the vault, not absent.
    let sealed: i64 = match &f.db {
        Db::Sqlite(p) => sqlx::query_scalar("SELECT COUNT(*) FROM personal_records")
            .fetch_one(p)
            .await
            .unwrap(),
        Db::Postgres(p) => sqlx::query_scalar("SELECT COUNT(*) FROM personal_records")
            .fetch_one(p)
            .await
            .unwrap(),
    };
    assert_eq!(sealed, 2);
}
on_both_stores!(run, published_events_carry_no_personal_data);

async fn an_unreachable_broker_keeps_the_rows_and_shutdown_still_stops_the_relay(mut f: Fixture) {
    commit_some(&f.engine).await;
    // Nothing listens on port 1: the relay retries with backoff until shut down.
    let down = Relay::new(f.db.clone(), "amqp://guest:guest@127.0.0.1:1/%2f")
        .with_exchange(f.exchange.clone());
    assert!(down.run_once().await.is_err());
    let task = tokio::spawn(down.run(tokio::time::sleep(Duration::from_millis(1500))));
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("shutdown ends the retry loop")
        .unwrap();
    assert_eq!(f.unpublished().await, 8);
    // Once the broker is reachable everything goes out.
    assert_eq!(f.relay().run_once().await.unwrap(), 8);
    assert_eq!(f.receive(8, Duration::from_millis(300)).await.len(), 8);
}
on_both_stores!(
    run,
    an_unreachable_broker_keeps_the_rows_and_shutdown_still_stops_the_relay
);
