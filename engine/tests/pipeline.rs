//! The command pipeline on both stores: every test is written once and run against a SQLite file
//! and a fresh PostgreSQL database (dropped at the end).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use ptl_domain::types::*;
use ptl_domain::{Action, ActionName, DomainError, RuleBook};
use ptl_engine::clock::SettableClock;
use ptl_engine::db::Db;
use ptl_engine::keys::KeyRing;
use ptl_engine::on_both_stores;
use ptl_engine::pipeline::{Engine, EngineError, EngineOptions, Executed, Idempotency, Personal};
use ptl_engine::testkit::{self, close, Backend, TestStore};
use ptl_engine::vault::{PersonalText, Reader};
use uuid::Uuid;

mod common;
use common::{cw, d, registration};

struct Fixture {
    engine: Arc<Engine>,
    clock: Arc<SettableClock>,
    db: Db,
}

/// Runs `f` on a fresh store of `backend` (a durable SQLite file, or a PostgreSQL database the
/// kit drops also when `f` panics).
async fn run<F, Fut>(backend: Backend, f: F)
where
    F: FnOnce(Fixture) -> Fut,
    Fut: Future<Output = ()>,
{
    let store = TestStore::create(backend).await;
    let db = store.open().await;
    if backend == Backend::Sqlite {
        ptl_engine::open::check_durability(&db)
            .await
            .expect("durable");
    }
    let clock = Arc::new(SettableClock::new(
        Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap(),
    ));
    let engine = Engine::new(
        db.clone(),
        clock.clone(),
        Arc::new(RuleBook::builtin().unwrap()),
        Arc::new(KeyRing::generate()),
        None,
        EngineOptions::default(),
    )
    .await
    .expect("engine");
    f(Fixture {
        engine: Arc::new(engine),
        clock,
        db: db.clone(),
    })
    .await;
    close(&db).await;
}

async fn register(f: &Fixture) -> Uuid {
    register_person(f).await.case_id
}

/// Registers an application of Марʼяна Коваль (born 1990-04-02), with her person record.
async fn register_person(f: &Fixture) -> Executed {
    let person = RecordRef("r-person".into());
    let mut reg = registration();
    reg.person = Some(person.clone());
    let cmd = f
        .engine
        .command(cw(), d("2026-03-02"), Action::Register(Box::new(reg)));
    let personal = Personal {
        texts: vec![PersonalText {
            record: person,
            value: serde_json::json!({"full_name": "Марʼяна Коваль", "birth_date": "1990-04-02"}),
        }],
        person_index: Some(("Марʼяна Коваль".into(), d("1990-04-02"))),
        erasure_reason: None,
    };
    let done = f
        .engine
        .register(cmd, personal, None)
        .await
        .expect("recorded")
        .expect("lawful");
    assert_eq!(done.version, 1);
    done
}

fn consent() -> Action {
    Action::RecordConsent {
        scope: ConsentScope::StatusProcedure,
        given_by: GivenBy::Person,
    }
}

async fn a_registered_case_gets_a_register_number_and_reads_back(f: Fixture) {
    let id = register(&f).await;
    let (state, version) = f.engine.load(id).await.unwrap().expect("exists");
    assert_eq!(version, 1);
    assert_eq!(
        state.registration.as_ref().unwrap().register_no,
        "UA7102-2026-000001"
    );
    let id2 = register(&f).await;
    let (state2, _) = f.engine.load(id2).await.unwrap().unwrap();
    assert_eq!(
        state2.registration.as_ref().unwrap().register_no,
        "UA7102-2026-000002"
    );
    // A fresh engine (no cache) replays the same state from the store.
    f.engine.clear_cache();
    let (replayed, _) = f.engine.load(id).await.unwrap().unwrap();
    assert_eq!(*replayed, *state);
}
on_both_stores!(run, a_registered_case_gets_a_register_number_and_reads_back);

async fn a_stale_expected_version_is_a_conflict_and_writes_nothing(f: Fixture) {
    let id = register(&f).await;
    let cmd = f.engine.command(cw(), d("2026-03-02"), consent());
    let r = f
        .engine
        .execute(id, Some(0), cmd, Personal::default(), None)
        .await;
    assert!(
        matches!(
            r,
            Err(EngineError::Conflict {
                expected: 0,
                current: 1
            })
        ),
        "{r:?}"
    );
    assert_eq!(f.engine.load(id).await.unwrap().unwrap().1, 1);
}
on_both_stores!(
    run,
    a_stale_expected_version_is_a_conflict_and_writes_nothing
);

async fn a_refused_command_is_a_domain_error_and_writes_nothing(f: Fixture) {
    let id = register(&f).await;
    let cmd = f.engine.command(
        cw(),
        d("2026-03-02"),
        Action::SubmitFile {
            conclusion: Conclusion::RecommendGrant,
        },
    );
    let r = f
        .engine
        .execute(id, Some(1), cmd, Personal::default(), None)
        .await
        .unwrap();
    assert!(matches!(
        r,
        Err(DomainError::ActionNotAllowed {
            action: ActionName::SubmitFile,
            ..
        })
    ));
    assert_eq!(f.engine.history(id).await.unwrap().len(), 1);
}
on_both_stores!(run, a_refused_command_is_a_domain_error_and_writes_nothing);

async fn an_idempotent_retry_returns_the_first_outcome_and_writes_nothing(f: Fixture) {
    let id = register(&f).await;
    let idem = Idempotency {
        scope: "cw-1".into(),
        key: "k-1".into(),
        fingerprint: "fp".into(),
        status: 200,
    };
    let cmd = f.engine.command(cw(), d("2026-03-02"), consent());
    let first = f
        .engine
        .execute(
            id,
            Some(1),
            cmd.clone(),
            Personal::default(),
            Some(idem.clone()),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.version, 2);
    // The retry's If-Match is now stale, yet it gets the first outcome.
    let again = f
        .engine
        .execute(
            id,
            Some(1),
            cmd.clone(),
            Personal::default(),
            Some(idem.clone()),
        )
        .await
        .unwrap()
        .unwrap();
    assert!(again.replayed);
    assert_eq!(again.version, 2);
    assert_eq!(f.engine.history(id).await.unwrap().len(), 2);
    let other = Idempotency {
        fingerprint: "other".into(),
        ..idem
    };
    let r = f
        .engine
        .execute(id, Some(2), cmd, Personal::default(), Some(other))
        .await;
    assert!(matches!(r, Err(EngineError::IdempotencyKeyReused)));
}
on_both_stores!(
    run,
    an_idempotent_retry_returns_the_first_outcome_and_writes_nothing
);

async fn many_concurrent_writers_on_one_case_each_win_exactly_one_version(f: Fixture) {
    let id = register(&f).await;
    // 32 writers (twice the PostgreSQL pool) all expecting version 1: exactly one wins.
    let mut tasks = Vec::new();
    for i in 0..32 {
        let engine = f.engine.clone();
        tasks.push(tokio::spawn(async move {
            let cmd = engine.command(
                cw(),
                d("2026-03-02"),
                Action::AddNote {
                    note: RecordRef(format!("n{i}")),
                },
            );
            engine
                .execute(id, Some(1), cmd, Personal::default(), None)
                .await
        }));
    }
    let mut wins = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(Ok(_)) => wins += 1,
            Err(EngineError::Conflict { .. }) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(wins, 1);
    // Without an expected version every writer commits, serialised: no stall, no gap.
    let mut tasks = Vec::new();
    for i in 0..48 {
        let engine = f.engine.clone();
        tasks.push(tokio::spawn(async move {
            let cmd = engine.command(
                cw(),
                d("2026-03-02"),
                Action::AddNote {
                    note: RecordRef(format!("m{i}")),
                },
            );
            engine
                .execute(id, None, cmd, Personal::default(), None)
                .await
        }));
    }
    for t in tasks {
        let r = t.await.unwrap();
        assert!(matches!(r, Ok(Ok(_))), "{r:?}");
    }
    let history = f.engine.history(id).await.unwrap();
    assert_eq!(history.len(), 1 + 1 + 48);
    assert!(history
        .iter()
        .enumerate()
        .all(|(i, e)| e.sequence == i as u64 + 1));
    assert!(f.engine.verify(id).await.unwrap().valid);
}
on_both_stores!(
    run,
    many_concurrent_writers_on_one_case_each_win_exactly_one_version
);

async fn an_edited_event_row_is_detected_by_verify(f: Fixture) {
    let id = register(&f).await;
    for _ in 0..3 {
        let cmd = f.engine.command(
            cw(),
            d("2026-03-02"),
            Action::AddNote {
                note: RecordRef("n".into()),
            },
        );
        f.engine
            .execute(id, None, cmd, Personal::default(), None)
            .await
            .unwrap()
            .unwrap();
    }
    assert_eq!(
        f.engine.verify(id).await.unwrap().first_invalid_sequence,
        None
    );
    // Someone with write access to the database rewrites the third event's business date.
    match &f.db {
        Db::Sqlite(p) => {
            sqlx::query("UPDATE case_events SET payload = json_set(payload, '$.occurred_on', '2026-03-01') WHERE aggregate_id = $1 AND sequence_number = 3")
                .bind(id.to_string())
                .execute(p)
                .await
                .unwrap();
        }
        Db::Postgres(p) => {
            sqlx::query("UPDATE case_events SET payload = jsonb_set(payload, '{occurred_on}', '\"2026-03-01\"') WHERE aggregate_id = $1 AND sequence_number = 3")
                .bind(id)
                .execute(p)
                .await
                .unwrap();
        }
    }
    let v = f.engine.verify(id).await.unwrap();
    assert_eq!(
        (v.valid, v.first_invalid_sequence, v.events),
        (false, Some(3), 4)
    );
}
on_both_stores!(run, an_edited_event_row_is_detected_by_verify);

/// A person who applied many times: each registration names every earlier case of the person in
/// id order (the API shows what the caller's scope allows), each check is written to the access
/// log of every case it found, and register numbers stay consecutive (one counter statement per
/// registration).
async fn repeated_registrations_of_one_person_name_every_earlier_case_and_log_each_check(
    f: Fixture,
) {
    let limit = ptl_engine::pipeline::SAME_PERSON_LISTED;
    let mut ids = Vec::new();
    for _ in 0..=limit + 1 {
        ids.push(register(&f).await);
    }
    let last = register_person(&f).await;
    let first = ids[0];
    ids.sort();
    assert_eq!(last.same_person, ids);
    let (state, _) = f.engine.load(last.case_id).await.unwrap().unwrap();
    assert_eq!(
        state.registration.as_ref().unwrap().register_no,
        format!("UA7102-2026-{:06}", limit + 3)
    );
    // The first case was found by each of the later registrations.
    let mut tx = f.engine.db().read().await.unwrap();
    let log = f.engine.vault().access_log(tx.conn(), first).await.unwrap();
    assert_eq!(log.len(), limit + 2);
    assert!(log
        .iter()
        .all(|e| e.what == ptl_engine::vault::LOOKUP_DUPLICATE_CHECK
            && e.reason.as_deref() == Some(ptl_engine::pipeline::DUPLICATE_CHECK_REASON)
            && e.office.as_deref() == Some("UA7102")));
    assert_eq!(
        f.engine
            .vault()
            .verify_access_log(tx.conn(), first)
            .await
            .unwrap(),
        None
    );
}
on_both_stores!(
    run,
    repeated_registrations_of_one_person_name_every_earlier_case_and_log_each_check
);

/// An index built with another normalisation (here: an older version, whose entries are gone)
/// is rebuilt from the person records: afterwards a spelling that only the current normalisation
/// folds (a zero-width space, a Latin `a`) finds the case, the read is in the case's access log,
/// and a second start finds the index current.
async fn the_person_index_is_rebuilt_when_the_normalisation_version_changes(f: Fixture) {
    // A fresh store's index is current: nothing to rebuild.
    assert_eq!(f.engine.ensure_person_index().await.unwrap(), None);
    let id = register(&f).await;
    let variant = "Мар\u{200B}ʼянa Коваль";
    let mut tx = f.engine.begin_write().await.unwrap();
    ptl_engine::run!(tx.conn(), "DELETE FROM person_index").unwrap();
    ptl_engine::run!(
        tx.conn(),
        "UPDATE vault_meta SET value = 1 WHERE name = 'person_index_normalisation'"
    )
    .unwrap();
    tx.commit().await.unwrap();
    let mut tx = f.engine.db().read().await.unwrap();
    let before = f
        .engine
        .vault()
        .find_person(tx.conn(), variant, d("1990-04-02"))
        .await
        .unwrap();
    drop(tx);
    assert!(before.is_empty());
    assert_eq!(f.engine.ensure_person_index().await.unwrap(), Some(1));
    let mut tx = f.engine.db().read().await.unwrap();
    let after = f
        .engine
        .vault()
        .find_person(tx.conn(), variant, d("1990-04-02"))
        .await
        .unwrap();
    assert_eq!(after, vec![id]);
    let log = f.engine.vault().access_log(tx.conn(), id).await.unwrap();
    assert_eq!(
        log.last().map(|e| (e.sub.as_str(), e.what.as_str())),
        Some(("system", ptl_engine::vault::LOOKUP_INDEX_REBUILD))
    );
    drop(tx);
    assert_eq!(f.engine.ensure_person_index().await.unwrap(), None);
}
on_both_stores!(
    run,
    the_person_index_is_rebuilt_when_the_normalisation_version_changes
);

async fn personal_data_is_in_the_vault_not_in_events_and_erasure_keeps_history_verifiable(
    f: Fixture,
) {
    let id = register(&f).await;
    let history = f.engine.history(id).await.unwrap();
    let json = serde_json::to_string(&history[0].event).unwrap();
    assert!(!json.contains("Коваль") && !json.contains("1990-04-02"));
    let reader = Reader {
        sub: "cw-1".into(),
        role: "caseworker".into(),
        office: Some("UA7102".into()),
        reason: Some("interview".into()),
    };
    let mut tx = f.engine.db().read().await.unwrap();
    let recs = f
        .engine
        .vault()
        .read_records(tx.conn(), id, &[RecordRef("r-person".into())], &reader)
        .await
        .unwrap();
    assert!(recs[0].1.as_ref().unwrap().to_string().contains("Коваль"));
    drop(tx);
    let mut tx = f.engine.db().read().await.unwrap();
    let found = f
        .engine
        .vault()
        .find_person(tx.conn(), "марʼяна   коваль", d("1990-04-02"))
        .await
        .unwrap();
    assert_eq!(found, vec![id]);
    drop(tx);
    // Erase: one command, the event and the key's destruction together.
    f.clock.advance(chrono::Duration::hours(1));
    testkit::erase_case(&f.engine, id, d("2026-03-02"), None).await;
    let mut tx = f.engine.db().read().await.unwrap();
    let recs = f
        .engine
        .vault()
        .read_records(tx.conn(), id, &[RecordRef("r-person".into())], &reader)
        .await
        .unwrap();
    assert!(recs[0].1.is_none());
    drop(tx);
    assert!(f.engine.verify(id).await.unwrap().valid);
}
on_both_stores!(
    run,
    personal_data_is_in_the_vault_not_in_events_and_erasure_keeps_history_verifiable
);

/// The rows of a command on an existing case that seals personal data need the case's key,
/// read in the command's own transaction: the note is sealed with the event, and once the key is
/// destroyed the next such command fails whole (no event without its sealed record).
async fn personal_text_on_an_existing_case_is_sealed_in_the_commands_transaction(f: Fixture) {
    let id = register(&f).await;
    let reader = Reader {
        sub: "cw-1".into(),
        role: "caseworker".into(),
        office: Some("UA7102".into()),
        reason: Some("follow-up".into()),
    };
    let note_with_text = |n: &str| {
        let note = RecordRef(n.into());
        let cmd = f.engine.command(
            cw(),
            d("2026-03-02"),
            Action::AddNote { note: note.clone() },
        );
        let personal = Personal {
            texts: vec![PersonalText {
                record: note,
                value: serde_json::json!("met her at the shelter"),
            }],
            person_index: None,
            erasure_reason: None,
        };
        (cmd, personal)
    };
    let (cmd, personal) = note_with_text("r-note-1");
    let done = f
        .engine
        .execute(id, Some(1), cmd, personal, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done.version, 2);
    let mut tx = f.engine.db().begin().await.unwrap();
    let recs = f
        .engine
        .vault()
        .read_records(tx.conn(), id, &[RecordRef("r-note-1".into())], &reader)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        recs[0].1.as_ref().map(ToString::to_string).as_deref(),
        Some("\"met her at the shelter\"")
    );
    assert!(f.engine.verify(id).await.unwrap().valid);

    let mut tx = f.engine.db().begin().await.unwrap();
    f.engine
        .vault()
        .erase(tx.conn(), id, "sv-1", f.clock_now(), None)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let (cmd, personal) = note_with_text("r-note-2");
    let refused = f.engine.execute(id, Some(2), cmd, personal, None).await;
    assert!(
        matches!(refused, Err(EngineError::Internal(_))),
        "{refused:?}"
    );
    f.engine.clear_cache();
    let (_, version) = f.engine.load(id).await.unwrap().unwrap();
    assert_eq!(version, 2, "the refused command wrote no event");
    assert_eq!(f.engine.history(id).await.unwrap().len(), 2);
    assert!(f.engine.verify(id).await.unwrap().valid);
}
on_both_stores!(
    run,
    personal_text_on_an_existing_case_is_sealed_in_the_commands_transaction
);

/// The person record of [`register_person`]'s case, read (and logged) as caseworker `cw-1`.
async fn person_of(f: &Fixture, id: Uuid) -> Option<serde_json::Value> {
    let reader = Reader {
        sub: "cw-1".into(),
        role: "caseworker".into(),
        office: Some("UA7102".into()),
        reason: Some("follow-up".into()),
    };
    let mut tx = f.engine.db().begin().await.unwrap();
    let recs = f
        .engine
        .vault()
        .read_records(tx.conn(), id, &[RecordRef("r-person".into())], &reader)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    recs.into_iter().next().and_then(|(_, v)| v)
}

async fn ledger_of(f: &Fixture, id: Uuid) -> Option<ptl_engine::vault::LedgerEntry> {
    let mut tx = f.engine.db().read().await.unwrap();
    f.engine.vault().ledger_entry(tx.conn(), id).await.unwrap()
}

async fn people_named(f: &Fixture) -> Vec<Uuid> {
    let mut tx = f.engine.db().read().await.unwrap();
    f.engine
        .vault()
        .find_person(tx.conn(), "Марʼяна Коваль", d("1990-04-02"))
        .await
        .unwrap()
}

/// The erasure command writes its event, destroys the case's key, deletes its person-index entry
/// and writes its ledger row (category, author, reason sealed under the master key) in ONE
/// transaction: nothing is left for a caller to do after it.
async fn an_erasure_destroys_the_key_and_writes_its_ledger_row_with_its_event(f: Fixture) {
    let id = register_person(&f).await.case_id;
    assert!(person_of(&f, id).await.is_some());
    let version =
        testkit::erase_case(&f.engine, id, d("2026-03-02"), Some("request of 1 March")).await;
    assert_eq!(version, 2);
    assert_eq!(person_of(&f, id).await, None);
    assert_eq!(testkit::stored_key(f.engine.db(), id).await, None);
    assert!(people_named(&f).await.is_empty());
    let entry = ledger_of(&f, id).await.expect("a ledger row");
    assert_eq!(entry.by_sub, "sv-1");
    assert_eq!(entry.category.as_deref(), Some("person_request"));
    assert_eq!(entry.reason.as_deref(), Some("request of 1 March"));
    assert_eq!(entry.repaired_at, None);
    let history = f.engine.history(id).await.unwrap();
    assert_eq!(
        history.last().map(|e| &e.event.body),
        Some(&ptl_domain::EventBody::PersonalDataErased {
            category: Some(ErasureCategory::PersonRequest)
        })
    );
    assert!(f.engine.verify(id).await.unwrap().valid);
    // Nothing is left to repair.
    assert!(f.engine.repair_erasures().await.unwrap().is_empty());
}
on_both_stores!(
    run,
    an_erasure_destroys_the_key_and_writes_its_ledger_row_with_its_event
);

/// Makes every insert into the erasure ledger fail (an injected fault in the erasure's rows).
async fn break_the_ledger(db: &Db, broken: bool) {
    let statements: &[&str] = match (db, broken) {
        (Db::Sqlite(_), true) => &[
            "CREATE TRIGGER ledger_fails BEFORE INSERT ON erasure_ledger \
             BEGIN SELECT RAISE(ABORT, 'injected ledger failure'); END",
        ],
        (Db::Sqlite(_), false) => &["DROP TRIGGER ledger_fails"],
        (Db::Postgres(_), true) => &[
            "CREATE FUNCTION ledger_fails() RETURNS trigger LANGUAGE plpgsql AS \
             'BEGIN RAISE EXCEPTION ''injected ledger failure''; END'",
            "CREATE TRIGGER ledger_fails BEFORE INSERT ON erasure_ledger \
             FOR EACH ROW EXECUTE FUNCTION ledger_fails()",
        ],
        (Db::Postgres(_), false) => &[
            "DROP TRIGGER ledger_fails ON erasure_ledger",
            "DROP FUNCTION ledger_fails()",
        ],
    };
    for sql in statements {
        match db {
            Db::Sqlite(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
            Db::Postgres(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
        }
        .unwrap();
    }
}

/// When one of the erasure's rows fails, its event does not commit either and the key is left
/// alone: the case is not erased, the data still reads, and the supervisor can simply try again.
async fn an_erasure_whose_ledger_row_fails_writes_no_event_and_keeps_the_key(f: Fixture) {
    let id = register_person(&f).await.case_id;
    break_the_ledger(&f.db, true).await;
    let cmd = f.engine.command(
        testkit::supervisor(),
        d("2026-03-02"),
        Action::ErasePersonalData {
            category: ErasureCategory::RetentionEnded,
        },
    );
    let failed = f
        .engine
        .execute(id, Some(1), cmd, Personal::default(), None)
        .await;
    assert!(
        matches!(failed, Err(EngineError::Internal(_))),
        "{failed:?}"
    );
    f.engine.clear_cache();
    let (state, version) = f.engine.load(id).await.unwrap().unwrap();
    assert_eq!(version, 1, "no erasure event");
    assert!(!state.erased);
    assert!(testkit::stored_key(f.engine.db(), id).await.is_some());
    assert!(person_of(&f, id).await.is_some());
    assert_eq!(people_named(&f).await, vec![id]);
    assert!(ledger_of(&f, id).await.is_none());

    break_the_ledger(&f.db, false).await;
    assert_eq!(
        testkit::erase_case(&f.engine, id, d("2026-03-02"), None).await,
        2
    );
    assert_eq!(person_of(&f, id).await, None);
    assert!(ledger_of(&f, id).await.is_some());
    assert!(f.engine.verify(id).await.unwrap().valid);
}
on_both_stores!(
    run,
    an_erasure_whose_ledger_row_fails_writes_no_event_and_keeps_the_key
);

/// What the earlier two-step erasure left when the process died between its event and its key's
/// transaction (the event committed, the key live, no ledger row) is found and repaired: the key
/// is destroyed, the repair is logged in `erasures.log` and the ledger, and the person can no
/// longer be read. A second run finds nothing.
async fn an_erased_case_whose_key_survived_is_repaired_and_its_person_no_longer_reads(f: Fixture) {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::new(
        f.db.clone(),
        f.clock.clone(),
        Arc::new(RuleBook::builtin().unwrap()),
        f.engine.keys().clone(),
        None,
        EngineOptions {
            data_dir: Some(dir.path().to_path_buf()),
            ..EngineOptions::default()
        },
    )
    .await
    .unwrap();
    let id = register_person(&f).await.case_id;
    let untouched = register_person(&f).await.case_id;
    let key = testkit::stored_key(f.engine.db(), id)
        .await
        .expect("a live key");
    testkit::erase_case(&engine, id, d("2026-03-02"), Some("request of 1 March")).await;
    let log = dir.path().join(ptl_engine::vault::ERASURE_LOG_FILE);
    let line = std::fs::read_to_string(&log).unwrap();
    assert!(line.contains(&id.to_string()), "{line}");
    // The crash of the earlier code: event committed, key and ledger row not.
    testkit::undo_key_destruction(f.engine.db(), id, key).await;
    std::fs::remove_file(&log).unwrap();
    assert!(person_of(&f, id).await.is_some(), "the broken state reads");

    assert_eq!(engine.repair_erasures().await.unwrap(), vec![id]);
    assert_eq!(person_of(&f, id).await, None);
    assert_eq!(testkit::stored_key(f.engine.db(), id).await, None);
    assert!(person_of(&f, untouched).await.is_some());
    let entry = ledger_of(&f, id).await.expect("a ledger row");
    assert_eq!(entry.by_sub, "sv-1");
    assert_eq!(entry.category.as_deref(), Some("person_request"));
    assert!(entry.repaired_at.is_some());
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains(&id.to_string()) && logged.contains("\"repair\":true"),
        "{logged}"
    );
    assert!(engine.repair_erasures().await.unwrap().is_empty());
    assert_eq!(people_named(&f).await, vec![untouched]);
    assert!(f.engine.verify(id).await.unwrap().valid);
}
on_both_stores!(
    run,
    an_erased_case_whose_key_survived_is_repaired_and_its_person_no_longer_reads
);

impl Fixture {
    fn clock_now(&self) -> chrono::DateTime<Utc> {
        use ptl_engine::clock::Clock;
        self.clock.now()
    }
}

async fn two_engines_on_one_store_neither_lose_nor_duplicate_writes(f: Fixture) {
    // A second engine over the same database stands for a second API instance (or `ptl demo`
    // writing while the server runs): its cache and its in-process locks are its own.
    let other = Engine::new(
        f.db.clone(),
        f.clock.clone(),
        Arc::new(RuleBook::builtin().unwrap()),
        f.engine.keys().clone(),
        None,
        EngineOptions::default(),
    )
    .await
    .unwrap();
    let id = register(&f).await;
    assert_eq!(other.load(id).await.unwrap().unwrap().1, 1);
    // The first engine moves the case on; the second still caches version 1.
    let cmd = f.engine.command(cw(), d("2026-03-02"), consent());
    f.engine
        .execute(id, Some(1), cmd, Personal::default(), None)
        .await
        .unwrap()
        .unwrap();
    // A client that read version 2 from the first engine acts through the second: accepted.
    let note = || Action::AddNote {
        note: RecordRef("n".into()),
    };
    let done = other
        .execute(
            id,
            Some(2),
            other.command(cw(), d("2026-03-02"), note()),
            Personal::default(),
            None,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done.version, 3);
    // A client still at version 2 gets a conflict naming the true current version.
    let r = f
        .engine
        .execute(
            id,
            Some(2),
            f.engine.command(cw(), d("2026-03-02"), note()),
            Personal::default(),
            None,
        )
        .await;
    assert!(
        matches!(
            r,
            Err(EngineError::Conflict {
                expected: 2,
                current: 3
            })
        ),
        "{r:?}"
    );
    // Writers without an expected version interleave through both engines: nothing lost.
    let engines = [f.engine.clone(), Arc::new(other)];
    let mut tasks = Vec::new();
    for i in 0..40 {
        let e = engines[i % 2].clone();
        tasks.push(tokio::spawn(async move {
            let cmd = e.command(
                cw(),
                d("2026-03-02"),
                Action::AddNote {
                    note: RecordRef(format!("x{i}")),
                },
            );
            e.execute(id, None, cmd, Personal::default(), None).await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(Ok(_)) => ok += 1,
            Err(EngineError::Conflict { .. }) => {}
            other => panic!("{other:?}"),
        }
    }
    let history = f.engine.history(id).await.unwrap();
    assert_eq!(history.len(), 3 + ok);
    assert!(ok >= 30, "most writers commit: {ok}");
    assert!(history
        .iter()
        .enumerate()
        .all(|(i, e)| e.sequence == i as u64 + 1));
    assert!(f.engine.verify(id).await.unwrap().valid);
}
on_both_stores!(
    run,
    two_engines_on_one_store_neither_lose_nor_duplicate_writes
);

async fn add_notes(f: &Fixture, id: Uuid, n: usize) {
    for _ in 0..n {
        let cmd = f.engine.command(
            cw(),
            d("2026-03-02"),
            Action::AddNote {
                note: RecordRef("n".into()),
            },
        );
        f.engine
            .execute(id, None, cmd, Personal::default(), None)
            .await
            .unwrap()
            .unwrap();
    }
}

fn fold(history: &[ptl_engine::pipeline::RecordedEvent], upto: usize) -> ptl_domain::CaseState {
    history[..upto]
        .iter()
        .map(|e| e.event.clone())
        .fold(ptl_domain::CaseState::default(), ptl_domain::evolve)
}

async fn a_cold_load_resumes_from_a_verified_snapshot_and_ignores_a_forged_one(f: Fixture) {
    let id = register(&f).await;
    add_notes(&f, id, 249).await;
    let history = f.engine.history(id).await.unwrap();
    assert_eq!(history.len(), 250);
    let keys = f.engine.keys().clone();
    // Written with event 200 (every 100 events by default), the state after event 200.
    let snap = {
        let mut tx = f.db.read().await.unwrap();
        ptl_engine::snapshot::read(tx.conn(), &keys, id, 250)
            .await
            .unwrap()
            .expect("a snapshot")
    };
    assert_eq!(snap.version, 200);
    assert_eq!(snap.state, fold(&history, 200));
    assert_eq!(Some(&snap.hash), history[199].hash.as_ref());
    // A cold load (no cache) equals the full fold.
    f.engine.clear_cache();
    let (state, version) = f.engine.load(id).await.unwrap().unwrap();
    assert_eq!((version, &*state), (250, &fold(&history, 250)));

    // The cold load really starts from the snapshot: a state written with the right key (as only
    // the engine can) shows through, plus the 50 events after it.
    let mut planted = snap.state.clone();
    planted.notes = 10_000;
    let mut tx = f.engine.begin_write().await.unwrap();
    let mut batch = ptl_engine::db::Batch::new();
    ptl_engine::snapshot::write(&mut batch, &keys, id, 200, &snap.hash, &planted, Utc::now())
        .unwrap();
    batch.execute(tx.conn()).await.unwrap();
    tx.commit().await.unwrap();
    f.engine.clear_cache();
    assert_eq!(f.engine.load(id).await.unwrap().unwrap().0.notes, 10_050);

    // Someone with write access to the database but without the key edits the snapshot: the
    // MAC no longer verifies, the snapshot is ignored and the stream replayed in full.
    let sql = "UPDATE case_snapshots SET state = replace(state, '\"notes\":10000', '\"notes\":7') WHERE case_id = $1";
    let edited = match &f.db {
        Db::Sqlite(p) => sqlx::query(sql)
            .bind(id.to_string())
            .execute(p)
            .await
            .unwrap()
            .rows_affected(),
        Db::Postgres(p) => sqlx::query(sql)
            .bind(id.to_string())
            .execute(p)
            .await
            .unwrap()
            .rows_affected(),
    };
    assert_eq!(edited, 1);
    f.engine.clear_cache();
    let (state, version) = f.engine.load(id).await.unwrap().unwrap();
    assert_eq!((version, &*state), (250, &fold(&history, 250)));
    // The events alone still verify.
    assert!(f.engine.verify(id).await.unwrap().valid);
}
on_both_stores!(
    run,
    a_cold_load_resumes_from_a_verified_snapshot_and_ignores_a_forged_one
);

async fn cancelled_commands_leave_a_whole_verifiable_history(f: Fixture) {
    // Callers that give up at any point (an HTTP client disconnecting) while other writers of
    // the same case carry on: whatever was written is whole (every event with its hash-chain
    // link) and the case keeps accepting commands.
    let id = register(&f).await;
    for round in 0..6u64 {
        let mut tasks = Vec::new();
        for i in 0..16u64 {
            let engine = f.engine.clone();
            tasks.push(tokio::spawn(async move {
                let cmd = engine.command(
                    cw(),
                    d("2026-03-02"),
                    Action::AddNote {
                        note: RecordRef(format!("c{round}-{i}")),
                    },
                );
                // Every other caller gives up after a few hundred microseconds.
                let patience = if i % 2 == 0 {
                    std::time::Duration::from_micros(100 + 150 * (i % 7))
                } else {
                    std::time::Duration::from_secs(30)
                };
                tokio::time::timeout(
                    patience,
                    engine.execute(id, None, cmd, Personal::default(), None),
                )
                .await
            }));
        }
        for t in tasks {
            match t.await.unwrap() {
                Err(_elapsed) => {}
                Ok(Ok(Ok(_)) | Err(EngineError::Unavailable(_) | EngineError::Conflict { .. })) => {
                }
                Ok(other) => panic!("unexpected {other:?}"),
            }
        }
    }
    // The case still takes commands, from a cold cache too.
    f.engine.clear_cache();
    add_notes(&f, id, 3).await;
    let history = f.engine.history(id).await.unwrap();
    assert!(history
        .iter()
        .enumerate()
        .all(|(i, e)| e.sequence == i as u64 + 1));
    let v = f.engine.verify(id).await.unwrap();
    assert!(v.valid, "{v:?}");
    assert_eq!(v.events, history.len() as u64);
}
on_both_stores!(run, cancelled_commands_leave_a_whole_verifiable_history);

/// A batch runs its statements in order with each statement's own values (on SQLite as one
/// statement text with renumbered placeholders), and a failing statement fails the batch so that
/// the transaction around it leaves nothing.
async fn a_batch_writes_every_statement_or_its_transaction_leaves_nothing(f: Fixture) {
    use ptl_engine::db::{Batch, Value};
    use ptl_engine::{fetch_all, run};
    let mut tx = f.db.begin().await.unwrap();
    run!(
        tx.conn(),
        "CREATE TABLE batch_test (k TEXT PRIMARY KEY, n BIGINT, b BOOLEAN, t TEXT)"
    )
    .unwrap();
    tx.commit().await.unwrap();

    let mut batch = Batch::new();
    batch.push(
        "INSERT INTO batch_test (k, n, b, t) VALUES ($1, $2, $3, $4)",
        vec!["a".into(), 1_i64.into(), true.into(), Value::Text(None)],
    );
    batch.push(
        "INSERT INTO batch_test (k, n, b, t) VALUES ($1, $2, $3, $4), ($5, $6, $7, $8)",
        vec![
            "b".into(),
            Value::Int(None),
            false.into(),
            "second".into(),
            "c".into(),
            3_i64.into(),
            Value::Bool(None),
            "third".into(),
        ],
    );
    batch.push(
        "UPDATE batch_test SET n = $1 WHERE k = $2",
        vec![10_i64.into(), "a".into()],
    );
    assert_eq!(batch.len(), 3);
    let mut tx = f.db.begin().await.unwrap();
    batch.execute(tx.conn()).await.unwrap();
    tx.commit().await.unwrap();

    type Row = (String, Option<i64>, Option<bool>, Option<String>);
    let read = || async {
        let mut tx = f.db.read().await.unwrap();
        fetch_all!(
            tx.conn(),
            Row,
            "SELECT k, n, b, t FROM batch_test ORDER BY k"
        )
        .unwrap()
    };
    let expected: Vec<Row> = vec![
        ("a".into(), Some(10), Some(true), None),
        ("b".into(), None, Some(false), Some("second".into())),
        ("c".into(), Some(3), None, Some("third".into())),
    ];
    assert_eq!(read().await, expected);

    // The second statement breaks the primary key after the first has run.
    let mut failing = Batch::new();
    failing.push("INSERT INTO batch_test (k) VALUES ($1)", vec!["d".into()]);
    failing.push("INSERT INTO batch_test (k) VALUES ($1)", vec!["a".into()]);
    failing.push("DELETE FROM batch_test WHERE k = $1", vec!["b".into()]);
    let mut tx = f.db.begin().await.unwrap();
    assert!(failing.execute(tx.conn()).await.is_err());
    drop(tx);
    assert_eq!(read().await, expected);
}
on_both_stores!(
    run,
    a_batch_writes_every_statement_or_its_transaction_leaves_nothing
);

/// Rewrites event `sequence` of `case` as an older build would have stored it (`payload`), with
/// the chain hash that build would have computed over it: the store then holds a history written
/// before the event's type changed shape.
async fn store_as_written_by_an_older_build(
    f: &Fixture,
    case: Uuid,
    sequence: u64,
    payload: &serde_json::Value,
) {
    use ptl_engine::integrity::{canonical_json, canonical_timestamp, chain_hash};
    let history = f.engine.history(case).await.unwrap();
    let e = &history[usize::try_from(sequence - 1).unwrap()];
    let canonical = canonical_json(&serde_json::json!({
        "case_id": case.to_string(),
        "sequence": sequence,
        "event_id": e.id.to_string(),
        "stored_at": canonical_timestamp(e.stored_at),
        "payload": payload,
    }))
    .unwrap();
    let hash = chain_hash(
        f.engine.keys().hash_key(),
        e.prev_hash.as_deref(),
        &canonical,
    );
    let text = payload.to_string();
    let seq = i64::try_from(sequence).unwrap();
    match &f.db {
        Db::Sqlite(p) => {
            sqlx::query("UPDATE case_events SET payload = ?1 WHERE id = ?2")
                .bind(&text)
                .bind(e.id.to_string())
                .execute(p)
                .await
                .unwrap();
            sqlx::query(
                "UPDATE event_integrity SET hash = ?1 WHERE case_id = ?2 AND sequence = ?3",
            )
            .bind(&hash)
            .bind(case.to_string())
            .bind(seq)
            .execute(p)
            .await
            .unwrap();
        }
        Db::Postgres(p) => {
            sqlx::query("UPDATE case_events SET payload = CAST($1 AS jsonb) WHERE id = $2")
                .bind(&text)
                .bind(e.id)
                .execute(p)
                .await
                .unwrap();
            sqlx::query(
                "UPDATE event_integrity SET hash = $1 WHERE case_id = $2 AND sequence = $3",
            )
            .bind(&hash)
            .bind(case.to_string())
            .bind(seq)
            .execute(p)
            .await
            .unwrap();
        }
    }
    f.engine.clear_cache();
}

async fn an_event_stored_in_its_old_shape_still_replays_and_still_verifies(f: Fixture) {
    let id = register(&f).await;
    let sw = Actor::user("sw-1", Role::SocialWorker, "UA7102");
    let shelter = RecordRef("r-shelter".into());
    let cmd = f.engine.command(
        sw.clone(),
        d("2026-03-02"),
        Action::PlaceInShelter {
            shelter: shelter.clone(),
        },
    );
    let personal = Personal {
        texts: vec![PersonalText {
            record: shelter,
            value: serde_json::json!("Shelter Sonechko"),
        }],
        ..Personal::default()
    };
    f.engine
        .execute(id, Some(1), cmd, personal, None)
        .await
        .unwrap()
        .expect("lawful");
    // Version 1 of `placed_in_shelter`: the shelter in clear, no `version` beside the body.
    let history = f.engine.history(id).await.unwrap();
    let mut old = serde_json::to_value(&history[1].event).unwrap();
    assert_eq!(old["version"], 2, "written as version 2 now");
    old.as_object_mut().unwrap().remove("version");
    old["body"]["data"]["shelter"] = "Shelter Sonechko, 5 Shevchenko St".into();
    store_as_written_by_an_older_build(&f, id, 2, &old).await;

    // It replays (upcast: no name, the stay and its deadline as they were) ...
    let (state, version) = f.engine.load(id).await.unwrap().expect("exists");
    assert_eq!(version, 2);
    assert!(state.in_shelter());
    let stay = state.assistance.shelter.as_ref().unwrap();
    assert_eq!((stay.shelter.clone(), stay.since), (None, d("2026-03-02")));
    assert_eq!(state.deadlines["shelter"].due_on, d("2026-06-02"));
    // ... it verifies (the hash covers the stored text, which nothing rewrote) ...
    let v = f.engine.verify(id).await.unwrap();
    assert_eq!(
        (v.valid, v.events, v.first_invalid_sequence),
        (true, 2, None)
    );
    let stored = ptl_engine::testkit::column_texts(&f.db, "case_events", "payload").await;
    assert!(stored
        .iter()
        .any(|p| p.contains("Shelter Sonechko, 5 Shevchenko St")));
    // ... and the case goes on after it, the chain too.
    let end = f
        .engine
        .command(sw, d("2026-03-02"), Action::EndShelterStay);
    f.engine
        .execute(id, Some(2), end, Personal::default(), None)
        .await
        .unwrap()
        .expect("lawful");
    let v = f.engine.verify(id).await.unwrap();
    assert_eq!((v.valid, v.events), (true, 3));
    // An old-shape event edited afterwards is still caught at its sequence.
    let mut edited = old.clone();
    edited["body"]["data"]["shelter"] = "elsewhere".into();
    let text = edited.to_string();
    match &f.db {
        Db::Sqlite(p) => {
            sqlx::query("UPDATE case_events SET payload = ?1 WHERE sequence_number = 2")
                .bind(&text)
                .execute(p)
                .await
                .unwrap();
        }
        Db::Postgres(p) => {
            sqlx::query(
                "UPDATE case_events SET payload = CAST($1 AS jsonb) WHERE sequence_number = 2",
            )
            .bind(&text)
            .execute(p)
            .await
            .unwrap();
        }
    }
    let v = f.engine.verify(id).await.unwrap();
    assert_eq!((v.valid, v.first_invalid_sequence), (false, Some(2)));
}
on_both_stores!(
    run,
    an_event_stored_in_its_old_shape_still_replays_and_still_verifies
);

async fn a_single_sign_on_flow_started_on_one_instance_is_finished_once_on_another(f: Fixture) {
    use ptl_engine::accounts::SsoFlow;
    // A second engine over the same database stands for the instance the provider's redirect
    // reaches behind the proxy.
    let other = Engine::new(
        f.db.clone(),
        f.clock.clone(),
        Arc::new(RuleBook::builtin().unwrap()),
        f.engine.keys().clone(),
        None,
        EngineOptions::default(),
    )
    .await
    .unwrap();
    let now = f.clock_now();
    let flow = SsoFlow {
        binding_hash: "b".repeat(64),
        verifier: "verifier".into(),
        nonce: "nonce".into(),
        started_at: now,
    };
    let expired = now - chrono::Duration::minutes(10);
    assert!(f
        .engine
        .begin_sso_flow("state-1", &flow, expired, 2)
        .await
        .unwrap());
    assert_eq!(
        other.take_sso_flow("state-1").await.unwrap().as_ref(),
        Some(&flow)
    );
    // Used once: a replayed redirect finds nothing, on either instance.
    assert_eq!(other.take_sso_flow("state-1").await.unwrap(), None);
    assert_eq!(f.engine.take_sso_flow("state-1").await.unwrap(), None);
    // At most `max_pending` under way; the expired ones are removed first.
    assert!(f
        .engine
        .begin_sso_flow("a", &flow, expired, 2)
        .await
        .unwrap());
    assert!(f
        .engine
        .begin_sso_flow("b", &flow, expired, 2)
        .await
        .unwrap());
    assert!(!f
        .engine
        .begin_sso_flow("c", &flow, expired, 2)
        .await
        .unwrap());
    let later = now + chrono::Duration::minutes(11);
    let fresh = SsoFlow {
        started_at: later,
        ..flow.clone()
    };
    assert!(f
        .engine
        .begin_sso_flow("c", &fresh, later - chrono::Duration::minutes(10), 2)
        .await
        .unwrap());
    assert_eq!(other.take_sso_flow("a").await.unwrap(), None);
    assert_eq!(other.take_sso_flow("c").await.unwrap(), Some(fresh));
}
on_both_stores!(
    run,
    a_single_sign_on_flow_started_on_one_instance_is_finished_once_on_another
);
