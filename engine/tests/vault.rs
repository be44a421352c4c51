//! The personal-data vault on both backends: every scenario is written once and run on a SQLite
//! temp file and on a fresh PostgreSQL database (dropped at the end).
//!
//! PostgreSQL: `PTL_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`) must point at
//! a server where the user may `CREATE DATABASE`. The tests fail (not skip) if it is unreachable.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDate, Utc};
use ptl_domain::RecordRef;
use ptl_engine::crypto::{self, CryptoError};
use ptl_engine::db::Db;
use ptl_engine::keys::{KeyRing, MasterKey};
use ptl_engine::on_both_stores;
use ptl_engine::store::{migrate_postgres, migrate_sqlite, sqlite};
use ptl_engine::testkit::{self, TestStore};
use ptl_engine::vault::{
    CaseRows, Erasure, ErasureReason, PersonalText, Reader, Vault, VaultError, ERASURE_LOG_FILE,
};
use ptl_engine::{fetch_all, fetch_optional, run};
use serde_json::{json, Value};
use sqlx::postgres::PgPoolOptions;
use tempfile::TempDir;
use uuid::Uuid;

// ---------------------------------------------------------------------------------------------
// Backends
// ---------------------------------------------------------------------------------------------

/// A migrated database plus a data directory for `erasures.log`.
struct Backend {
    db: Db,
    dir: TempDir,
    /// SQLite: the database file. PostgreSQL: `None`.
    sqlite_path: Option<PathBuf>,
    /// The store itself: removed with the backend, also when the scenario panics.
    _store: TestStore,
}

impl Backend {
    async fn new(kind: testkit::Backend) -> Self {
        let store = TestStore::create(kind).await;
        let (db, sqlite_path) = match &store {
            TestStore::Sqlite(file) => {
                let pool = sqlite::open(file.path()).await.unwrap();
                migrate_sqlite(&pool).await.unwrap();
                (Db::Sqlite(pool), Some(file.path().to_path_buf()))
            }
            TestStore::Postgres(database) => {
                let pool = PgPoolOptions::new()
                    .max_connections(4)
                    .acquire_timeout(Duration::from_secs(5))
                    .connect(database.url())
                    .await
                    .unwrap();
                migrate_postgres(&pool).await.unwrap();
                (Db::Postgres(pool), None)
            }
        };
        Self {
            db,
            dir: tempfile::tempdir().unwrap(),
            sqlite_path,
            _store: store,
        }
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    async fn close(&self) {
        testkit::close(&self.db).await;
    }
}

/// Runs a scenario on a fresh backend of `kind`.
async fn run(kind: testkit::Backend, scenario: impl AsyncFnOnce(&mut Backend)) {
    let mut b = Backend::new(kind).await;
    scenario(&mut b).await;
    b.close().await;
}

on_both_stores!(
    run,
    a_new_cases_staged_rows_write_its_key_records_and_index_in_one_batch
);
on_both_stores!(
    run,
    a_record_put_in_a_transaction_reads_back_and_is_not_stored_in_clear
);
on_both_stores!(run, a_record_put_in_a_rolled_back_transaction_is_not_stored);
on_both_stores!(
    run,
    after_erasure_the_ciphertext_stays_but_nothing_can_read_or_find_it
);
on_both_stores!(run, a_restored_backup_does_not_bring_erased_data_back);
on_both_stores!(
    run,
    person_search_finds_normalisation_variants_but_not_another_birth_date
);
on_both_stores!(
    run,
    every_read_appends_a_chained_access_log_entry_and_an_edited_row_is_detected
);
on_both_stores!(
    run,
    after_master_rotation_records_open_with_the_new_key_ring_and_not_the_old_one
);
on_both_stores!(
    run,
    an_erasure_reason_outlives_the_case_key_sealed_under_the_master_key_and_rotation_reseals_it
);

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

const NAME: &str = "Мар'яна Коваль";
const NOTE: &str = "Утримувалась на фермі під Кременчуком, паспорт забрали";

fn birth() -> NaiveDate {
    NaiveDate::from_ymd_opt(1999, 3, 14).unwrap()
}

fn ring(master: [u8; 32]) -> Arc<KeyRing> {
    Arc::new(KeyRing::from_parts(
        MasterKey::from_bytes(master),
        [2; 32],
        [3; 32],
        vec![4; 32],
    ))
}

fn vault() -> Vault {
    Vault::new(ring([1; 32]))
}

fn reader(reason: &str) -> Reader {
    Reader {
        sub: "officer-17".to_owned(),
        role: "officer".to_owned(),
        office: Some("KYIV-01".to_owned()),
        reason: Some(reason.to_owned()),
    }
}

fn person_value() -> Value {
    json!({
        "full_name": NAME,
        "birth_date": "1999-03-14",
        "contacts": {"phone": "+380671234567"},
        "id_document": {"kind": "passport", "number": "FA123456"},
    })
}

/// What a registration stages: the new key, the sealed records and the index entry, written by
/// one batch; staging a "new" case that already has a key fails the batch (its records would be
/// sealed under a key nobody keeps) and writes nothing.
async fn a_new_cases_staged_rows_write_its_key_records_and_index_in_one_batch(b: &mut Backend) {
    let v = vault();
    let case = Uuid::new_v4();
    let person = Vault::new_record_id();
    let texts = [PersonalText {
        record: person.clone(),
        value: person_value(),
    }];
    let mut tx = b.db.begin().await.unwrap();
    let mut batch = ptl_engine::db::Batch::new();
    let rows = CaseRows {
        case_id: case,
        new_case: true,
        records: &texts,
        person: Some((NAME, birth())),
        now: Utc::now(),
    };
    v.stage(tx.conn(), &mut batch, &rows).await.unwrap();
    assert_eq!(batch.len(), 3, "key, records, index: nothing written yet");
    batch.execute(tx.conn()).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(find(b, &v, NAME, birth()).await, vec![case]);
    assert!(read(b, &v, case, std::slice::from_ref(&person))
        .await
        .unwrap()[0]
        .is_some());

    let mut tx = b.db.begin().await.unwrap();
    let mut again = ptl_engine::db::Batch::new();
    let rows = CaseRows {
        case_id: case,
        new_case: true,
        records: &[],
        person: None,
        now: Utc::now(),
    };
    v.stage(tx.conn(), &mut again, &rows).await.unwrap();
    assert!(again.execute(tx.conn()).await.is_err());
    drop(tx);
    assert_eq!(ciphertexts(b, case).await.len(), 1);
    assert!(read(b, &v, case, &[person]).await.unwrap()[0].is_some());
}

/// A case with a key, a person record and a note, indexed by name; committed.
async fn seeded_case(b: &Backend, v: &Vault) -> (Uuid, RecordRef, RecordRef) {
    let case = Uuid::new_v4();
    let person = Vault::new_record_id();
    let note = Vault::new_record_id();
    let mut tx = b.db.begin().await.unwrap();
    v.ensure_case_key(tx.conn(), case).await.unwrap();
    v.put_records(
        tx.conn(),
        case,
        &[
            PersonalText {
                record: person.clone(),
                value: person_value(),
            },
            PersonalText {
                record: note.clone(),
                value: json!(NOTE),
            },
        ],
        Utc::now(),
    )
    .await
    .unwrap();
    v.index_person(tx.conn(), case, NAME, birth())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    (case, person, note)
}

async fn read(
    b: &Backend,
    v: &Vault,
    case: Uuid,
    records: &[RecordRef],
) -> Result<Vec<Option<Value>>, VaultError> {
    let mut tx = b.db.begin().await.unwrap();
    let out = v
        .read_records(tx.conn(), case, records, &reader("check"))
        .await?;
    tx.commit().await.unwrap();
    Ok(out.into_iter().map(|(_, v)| v).collect())
}

async fn find(b: &Backend, v: &Vault, name: &str, date: NaiveDate) -> Vec<Uuid> {
    let mut tx = b.db.begin().await.unwrap();
    let found = v.find_person(tx.conn(), name, date).await.unwrap();
    tx.commit().await.unwrap();
    found
}

async fn ciphertexts(b: &Backend, case: Uuid) -> Vec<Vec<u8>> {
    let mut tx = b.db.begin().await.unwrap();
    let rows = fetch_all!(
        tx.conn(),
        (Vec<u8>,),
        "SELECT ciphertext FROM personal_records WHERE case_id = $1 ORDER BY record_id",
        case.to_string(),
    )
    .unwrap();
    tx.commit().await.unwrap();
    rows.into_iter().map(|(c,)| c).collect()
}

async fn wrapped_key(b: &Backend, case: Uuid) -> Option<(Option<String>, Option<Vec<u8>>)> {
    let mut tx = b.db.begin().await.unwrap();
    let row = fetch_optional!(
        tx.conn(),
        (Option<String>, Option<Vec<u8>>),
        "SELECT master_key_id, wrapped FROM case_keys WHERE case_id = $1",
        case.to_string(),
    )
    .unwrap();
    tx.commit().await.unwrap();
    row
}

async fn ledger_has(b: &Backend, case: Uuid) -> bool {
    let mut tx = b.db.begin().await.unwrap();
    let row = fetch_optional!(
        tx.conn(),
        (String,),
        "SELECT by_sub FROM erasure_ledger WHERE case_id = $1",
        case.to_string(),
    )
    .unwrap();
    tx.commit().await.unwrap();
    row.is_some()
}

async fn erase(b: &Backend, v: &Vault, case: Uuid) {
    let mut tx = b.db.begin().await.unwrap();
    v.erase(
        tx.conn(),
        case,
        "supervisor-3",
        Utc::now(),
        Some(&b.data_dir()),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

// ---------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------

async fn a_record_put_in_a_transaction_reads_back_and_is_not_stored_in_clear(b: &mut Backend) {
    let v = vault();
    let (case, person, note) = seeded_case(b, &v).await;

    let got = read(b, &v, case, &[person.clone(), note.clone()])
        .await
        .unwrap();
    assert_eq!(got, vec![Some(person_value()), Some(json!(NOTE))]);

    // Asked for in any order, an unknown id reads as None.
    let unknown = Vault::new_record_id();
    let got = read(b, &v, case, &[note, unknown]).await.unwrap();
    assert_eq!(got, vec![Some(json!(NOTE)), None]);

    let stored = ciphertexts(b, case).await;
    assert_eq!(stored.len(), 2);
    for c in &stored {
        for clear in [NAME, NOTE, "FA123456", "+380671234567", "Коваль"] {
            assert!(!contains(c, clear.as_bytes()), "{clear} stored in clear");
        }
    }
    assert!(
        person.0.starts_with("r-") && person.0.len() == 34,
        "{person:?}"
    );
}

async fn a_record_put_in_a_rolled_back_transaction_is_not_stored(b: &mut Backend) {
    let v = vault();
    let (case, _, _) = seeded_case(b, &v).await;
    let extra = Vault::new_record_id();
    {
        let mut tx = b.db.begin().await.unwrap();
        v.put_records(
            tx.conn(),
            case,
            &[PersonalText {
                record: extra.clone(),
                value: json!("withdrawn statement"),
            }],
            Utc::now(),
        )
        .await
        .unwrap();
        // Dropped without commit: rolled back.
    }
    assert_eq!(read(b, &v, case, &[extra]).await.unwrap(), vec![None]);
    assert_eq!(ciphertexts(b, case).await.len(), 2);
}

async fn after_erasure_the_ciphertext_stays_but_nothing_can_read_or_find_it(b: &mut Backend) {
    let v = vault();
    let (case, person, note) = seeded_case(b, &v).await;
    let (other, _, _) = seeded_case(b, &v).await;
    assert_eq!(find(b, &v, NAME, birth()).await.len(), 2);
    let before = ciphertexts(b, case).await;

    erase(b, &v, case).await;

    // The ciphertext rows stay, byte for byte.
    assert_eq!(ciphertexts(b, case).await, before);
    // Reads give None (and are still logged).
    assert_eq!(
        read(b, &v, case, &[person.clone(), note]).await.unwrap(),
        vec![None, None]
    );
    // Writes are refused.
    let mut tx = b.db.begin().await.unwrap();
    let err = v
        .put_records(
            tx.conn(),
            case,
            &[PersonalText {
                record: Vault::new_record_id(),
                value: json!("late note"),
            }],
            Utc::now(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, VaultError::Erased { case_id } if case_id == case),
        "{err}"
    );
    let err = v
        .index_person(tx.conn(), case, NAME, birth())
        .await
        .unwrap_err();
    assert!(matches!(err, VaultError::Erased { .. }), "{err}");
    // A new key is not created for an erased case.
    v.ensure_case_key(tx.conn(), case).await.unwrap();
    drop(tx);
    // The person index no longer finds it; the other case is untouched.
    assert_eq!(find(b, &v, NAME, birth()).await, vec![other]);
    assert_eq!(
        read(b, &v, other, &[Vault::new_record_id()]).await.unwrap(),
        vec![None]
    );
    // Ledger row and erasure log line.
    assert!(ledger_has(b, case).await);
    assert!(!ledger_has(b, other).await);
    let log = std::fs::read_to_string(b.data_dir().join(ERASURE_LOG_FILE)).unwrap();
    assert_eq!(log.lines().count(), 1);
    assert!(
        log.contains(&case.to_string()) && log.ends_with('\n'),
        "{log}"
    );
    // The access log recorded the read of the erased case.
    let mut tx = b.db.begin().await.unwrap();
    let entries = v.access_log(tx.conn(), case).await.unwrap();
    assert_eq!(entries.len(), 1);
    assert!(entries[0].what.contains(&person.0));
    drop(tx);

    // Even the master key cannot open it: there is no wrapped key left to unwrap, and no other
    // key authenticates the ciphertext.
    let (_, wrapped) = wrapped_key(b, case).await.unwrap();
    assert_eq!(wrapped, None);
    let sealed = &before[0];
    let guess = crypto::new_data_key();
    for id in [&person.0, "anything"] {
        assert_eq!(
            crypto::open(&guess, case, id, sealed),
            Err(CryptoError::OpenFailed)
        );
    }

    // Erasing again is harmless.
    erase(b, &v, case).await;
    assert!(ledger_has(b, case).await);
}

async fn a_restored_backup_does_not_bring_erased_data_back(b: &mut Backend) {
    let v = vault();
    let (case, person, _) = seeded_case(b, &v).await;
    let (kept, kept_person, _) = seeded_case(b, &v).await;
    assert_eq!(v.reapply_erasures(&b.db, &b.data_dir()).await.unwrap(), 0);

    if let Some(path) = b.sqlite_path.clone() {
        // Back up, erase, then restore the backup over the live file.
        let backup = b.dir.path().join("backup.db");
        let Db::Sqlite(pool) = &b.db else {
            unreachable!()
        };
        sqlx::query(&format!("VACUUM INTO '{}'", backup.display()))
            .execute(pool)
            .await
            .unwrap();
        erase(b, &v, case).await;
        assert_eq!(
            read(b, &v, case, std::slice::from_ref(&person))
                .await
                .unwrap(),
            vec![None]
        );
        b.close().await;
        for suffix in ["", "-wal", "-shm"] {
            let f = PathBuf::from(format!("{}{suffix}", path.display()));
            if f.exists() {
                std::fs::remove_file(&f).unwrap();
            }
        }
        std::fs::copy(&backup, &path).unwrap();
        b.db = Db::Sqlite(sqlite::open(&path).await.unwrap());
    } else {
        // Keep the pre-erasure rows, erase, then put them back by hand.
        let (master_key_id, wrapped) = wrapped_key(b, case).await.unwrap();
        let mut tx = b.db.begin().await.unwrap();
        let (hash,) = fetch_optional!(
            tx.conn(),
            (String,),
            "SELECT search_hash FROM person_index WHERE case_id = $1",
            case.to_string(),
        )
        .unwrap()
        .unwrap();
        drop(tx);
        erase(b, &v, case).await;
        assert_eq!(
            read(b, &v, case, std::slice::from_ref(&person))
                .await
                .unwrap(),
            vec![None]
        );
        let mut tx = b.db.begin().await.unwrap();
        run!(
            tx.conn(),
            "UPDATE case_keys SET master_key_id = $2, wrapped = $3, erased_at = NULL \
             WHERE case_id = $1",
            case.to_string(),
            master_key_id,
            wrapped,
        )
        .unwrap();
        run!(
            tx.conn(),
            "INSERT INTO person_index (search_hash, case_id) VALUES ($1, $2)",
            hash,
            case.to_string(),
        )
        .unwrap();
        run!(
            tx.conn(),
            "DELETE FROM erasure_ledger WHERE case_id = $1",
            case.to_string(),
        )
        .unwrap();
        tx.commit().await.unwrap();
    }

    // The restored state has the data back...
    assert_eq!(
        read(b, &v, case, std::slice::from_ref(&person))
            .await
            .unwrap(),
        vec![Some(person_value())]
    );
    assert!(!ledger_has(b, case).await);
    assert!(find(b, &v, NAME, birth()).await.contains(&case));

    // ...until the erasures are re-applied, as at start.
    assert_eq!(v.reapply_erasures(&b.db, &b.data_dir()).await.unwrap(), 1);
    assert_eq!(read(b, &v, case, &[person]).await.unwrap(), vec![None]);
    assert_eq!(wrapped_key(b, case).await.unwrap().1, None);
    assert_eq!(find(b, &v, NAME, birth()).await, vec![kept]);
    assert!(ledger_has(b, case).await);
    // Other cases are untouched; a second run has nothing left to do.
    assert_eq!(
        read(b, &v, kept, &[kept_person]).await.unwrap(),
        vec![Some(person_value())]
    );
    assert_eq!(v.reapply_erasures(&b.db, &b.data_dir()).await.unwrap(), 0);

    // A torn last line (crash mid-append) is skipped, and the next append starts a fresh line.
    let log = b.data_dir().join(ERASURE_LOG_FILE);
    let mut text = std::fs::read_to_string(&log).unwrap();
    text.push_str("{\"case_id\":\"");
    std::fs::write(&log, &text).unwrap();
    assert_eq!(v.reapply_erasures(&b.db, &b.data_dir()).await.unwrap(), 0);
    erase(b, &v, kept).await;
    assert_eq!(std::fs::read_to_string(&log).unwrap().lines().count(), 3);
    assert_eq!(v.reapply_erasures(&b.db, &b.data_dir()).await.unwrap(), 0);
    assert!(ledger_has(b, kept).await);
}

async fn person_search_finds_normalisation_variants_but_not_another_birth_date(b: &mut Backend) {
    let v = vault();
    let ukr = Uuid::new_v4();
    let lat = Uuid::new_v4();
    let other = Uuid::new_v4();
    let mut tx = b.db.begin().await.unwrap();
    for case in [ukr, lat, other] {
        v.ensure_case_key(tx.conn(), case).await.unwrap();
    }
    // Apostrophe U+0027, composed (NFC) й.
    v.index_person(tx.conn(), ukr, "Мар'яна Андрі\u{439}вна Коваль", birth())
        .await
        .unwrap();
    // Composed é and ü.
    v.index_person(tx.conn(), lat, "Jos\u{e9} M\u{fc}ller", birth())
        .await
        .unwrap();
    v.index_person(tx.conn(), other, "Олена Коваль", birth())
        .await
        .unwrap();
    // Indexing twice is harmless.
    v.index_person(tx.conn(), ukr, "Мар'яна Андрійвна Коваль", birth())
        .await
        .unwrap();
    tx.commit().await.unwrap();

    for variant in [
        "Мар'яна Андрійвна Коваль",
        "МАР\u{2019}ЯНА АНДРІЙВНА КОВАЛЬ", // right single quotation mark, upper case
        "  мар\u{2bc}яна \t Андрі\u{438}\u{306}вна\u{a0}коваль ", // modifier apostrophe, NFD й, odd spaces
        "мар`яна андрійвна коваль",
    ] {
        assert_eq!(
            find(b, &v, variant, birth()).await,
            vec![ukr],
            "{variant:?}"
        );
    }
    for variant in ["Jose\u{301} Mu\u{308}ller", "JOSÉ MÜLLER", " josé   müller"] {
        assert_eq!(
            find(b, &v, variant, birth()).await,
            vec![lat],
            "{variant:?}"
        );
    }
    let next_day = birth().succ_opt().unwrap();
    assert!(find(b, &v, "Мар'яна Андрійвна Коваль", next_day)
        .await
        .is_empty());
    assert!(find(b, &v, "Марʼяна Коваль", birth()).await.is_empty());
    assert!(find(b, &v, "Jose Muller", birth()).await.is_empty());
    // Duplicate detection: a second case of the same person is found alongside.
    let again = Uuid::new_v4();
    let mut tx = b.db.begin().await.unwrap();
    v.ensure_case_key(tx.conn(), again).await.unwrap();
    v.index_person(tx.conn(), again, "Олена  Коваль", birth())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut both = vec![other, again];
    both.sort();
    assert_eq!(find(b, &v, "олена коваль", birth()).await, both);
}

async fn every_read_appends_a_chained_access_log_entry_and_an_edited_row_is_detected(
    b: &mut Backend,
) {
    let v = vault();
    let (case, person, note) = seeded_case(b, &v).await;
    let (other, _, _) = seeded_case(b, &v).await;
    let readers = [
        reader("interview preparation"),
        Reader {
            sub: "supervisor-3".to_owned(),
            role: "supervisor".to_owned(),
            office: None,
            reason: None,
        },
        reader("decision"),
    ];
    for (i, r) in readers.iter().enumerate() {
        let records = if i == 1 {
            vec![person.clone(), note.clone()]
        } else {
            vec![person.clone()]
        };
        let mut tx = b.db.begin().await.unwrap();
        v.read_records(tx.conn(), case, &records, r).await.unwrap();
        tx.commit().await.unwrap();
    }

    let mut tx = b.db.begin().await.unwrap();
    let log = v.access_log(tx.conn(), case).await.unwrap();
    assert_eq!(log.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(log[0].sub, "officer-17");
    assert_eq!(log[0].office.as_deref(), Some("KYIV-01"));
    assert_eq!(log[0].reason.as_deref(), Some("interview preparation"));
    assert_eq!(log[0].what, format!("[\"{}\"]", person.0));
    assert_eq!(log[1].role, "supervisor");
    assert_eq!(log[1].office, None);
    assert_eq!(log[1].what, format!("[\"{}\",\"{}\"]", person.0, note.0));
    assert!(log[0].at <= log[1].at && log[1].at <= log[2].at);
    assert!(log.windows(2).all(|w| w[0].hash != w[1].hash));
    // Personal data never reaches the log.
    let text = serde_json::to_string(&log).unwrap();
    assert!(!text.contains("Коваль"), "{text}");
    assert_eq!(v.verify_access_log(tx.conn(), case).await.unwrap(), None);
    // Per-case chains: the other case's log is empty and intact.
    assert!(v.access_log(tx.conn(), other).await.unwrap().is_empty());
    assert_eq!(v.verify_access_log(tx.conn(), other).await.unwrap(), None);

    // A verifier without the hash key cannot pass it off: a different hash key fails at seq 1.
    let foreign = Vault::new(Arc::new(KeyRing::from_parts(
        MasterKey::from_bytes([1; 32]),
        [99; 32],
        [3; 32],
        vec![4; 32],
    )));
    assert_eq!(
        foreign.verify_access_log(tx.conn(), case).await.unwrap(),
        Some(1)
    );

    // Editing one row's reason in SQL is detected at that row.
    run!(
        tx.conn(),
        "UPDATE access_log SET reason = $3 WHERE case_id = $1 AND seq = $2",
        case.to_string(),
        2_i64,
        "routine check",
    )
    .unwrap();
    assert_eq!(v.verify_access_log(tx.conn(), case).await.unwrap(), Some(2));
    drop(tx);

    // Deleting a row is detected where the gap is.
    let mut tx = b.db.begin().await.unwrap();
    run!(
        tx.conn(),
        "DELETE FROM access_log WHERE case_id = $1 AND seq = 1",
        case.to_string(),
    )
    .unwrap();
    assert_eq!(v.verify_access_log(tx.conn(), case).await.unwrap(), Some(2));
}

async fn after_master_rotation_records_open_with_the_new_key_ring_and_not_the_old_one(
    b: &mut Backend,
) {
    let old = vault();
    let (first, first_person, _) = seeded_case(b, &old).await;
    let (second, _, second_note) = seeded_case(b, &old).await;
    let (gone, _, _) = seeded_case(b, &old).await;
    erase(b, &old, gone).await;

    let new_bytes = [9; 32];
    let new_master = MasterKey::from_bytes(new_bytes);
    assert_eq!(old.rotate_master(&b.db, &new_master).await.unwrap(), 2);
    assert_eq!(
        wrapped_key(b, first).await.unwrap().0.as_deref(),
        Some(new_master.id())
    );
    assert_eq!(wrapped_key(b, gone).await.unwrap(), (None, None));

    let new = Vault::new(ring(new_bytes));
    assert_eq!(
        read(b, &new, first, std::slice::from_ref(&first_person))
            .await
            .unwrap(),
        vec![Some(person_value())]
    );
    assert_eq!(
        read(b, &new, second, &[second_note]).await.unwrap(),
        vec![Some(json!(NOTE))]
    );
    let err = read(b, &old, first, std::slice::from_ref(&first_person))
        .await
        .unwrap_err();
    assert!(
        matches!(err, VaultError::Crypto(CryptoError::WrongMasterKey { .. })),
        "{err}"
    );

    // Running the rotation again (interrupted rotation) changes nothing.
    let before = wrapped_key(b, first).await;
    assert_eq!(old.rotate_master(&b.db, &new_master).await.unwrap(), 2);
    assert_eq!(wrapped_key(b, first).await, before);

    // New cases get keys under the new master.
    let mut tx = b.db.begin().await.unwrap();
    let fresh = Uuid::new_v4();
    new.ensure_case_key(tx.conn(), fresh).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        wrapped_key(b, fresh).await.unwrap().0.as_deref(),
        Some(new_master.id())
    );
}

/// The reason typed with an erasure is kept in the erasure ledger, sealed under the master key
/// (the case's data key is destroyed by the same rows): it reads back after the erasure, is not
/// stored in clear, and `rotate_master` re-seals it under the new master key with the case keys.
async fn an_erasure_reason_outlives_the_case_key_sealed_under_the_master_key_and_rotation_reseals_it(
    b: &mut Backend,
) {
    const REASON: &str = "Запит особи від 1 березня, вх. № 17";
    let old = vault();
    let (case, person, _) = seeded_case(b, &old).await;
    let (kept, _, _) = seeded_case(b, &old).await;
    let reason = ErasureReason(REASON.to_owned());
    let mut batch = ptl_engine::db::Batch::new();
    old.stage_erasure(
        &mut batch,
        &Erasure {
            case_id: case,
            by_sub: "supervisor-3",
            erased_at: Utc::now(),
            category: Some(ptl_domain::types::ErasureCategory::PersonRequest),
            reason: Some(&reason),
            repaired_at: None,
            security_logged_at: None,
        },
    )
    .unwrap();
    let mut tx = b.db.begin().await.unwrap();
    batch.execute(tx.conn()).await.unwrap();
    tx.commit().await.unwrap();

    assert_eq!(
        read(b, &old, case, std::slice::from_ref(&person))
            .await
            .unwrap(),
        vec![None],
        "the case's key is destroyed"
    );
    let shared: &Backend = b;
    let entry = |v: Vault| async move {
        let mut tx = shared.db.begin().await.unwrap();
        let e = v.ledger_entry(tx.conn(), case).await;
        tx.commit().await.unwrap();
        e
    };
    let before = entry(old.clone()).await.unwrap().expect("a ledger row");
    assert_eq!(before.reason.as_deref(), Some(REASON));
    assert_eq!(before.category.as_deref(), Some("person_request"));
    assert_eq!(before.by_sub, "supervisor-3");
    assert_eq!(before.repaired_at, None);
    let mut tx = b.db.begin().await.unwrap();
    let (key_id, sealed) = fetch_one_reason(tx.conn(), case).await;
    tx.commit().await.unwrap();
    assert_eq!(key_id.as_deref(), Some(MasterKey::from_bytes([1; 32]).id()));
    assert!(
        !String::from_utf8_lossy(&sealed).contains("березня"),
        "the reason is not stored in clear"
    );

    let new_bytes = [9; 32];
    let new_master = MasterKey::from_bytes(new_bytes);
    assert_eq!(old.rotate_master(&b.db, &new_master).await.unwrap(), 1);
    let new = Vault::new(ring(new_bytes));
    let after = entry(new.clone()).await.unwrap().expect("a ledger row");
    assert_eq!(after.reason.as_deref(), Some(REASON));
    let err = entry(old.clone()).await.unwrap_err();
    assert!(
        matches!(err, VaultError::Crypto(CryptoError::WrongMasterKey { .. })),
        "{err}"
    );
    // Running the rotation again changes nothing; the other case keeps its key.
    assert_eq!(old.rotate_master(&b.db, &new_master).await.unwrap(), 1);
    assert_eq!(
        entry(new).await.unwrap().and_then(|e| e.reason).as_deref(),
        Some(REASON)
    );
    assert_eq!(
        wrapped_key(b, kept).await.unwrap().0.as_deref(),
        Some(new_master.id())
    );
}

async fn fetch_one_reason(conn: ptl_engine::db::Conn<'_>, case: Uuid) -> (Option<String>, Vec<u8>) {
    fetch_optional!(
        conn,
        (Option<String>, Vec<u8>),
        "SELECT reason_key_id, reason FROM erasure_ledger WHERE case_id = $1",
        case.to_string(),
    )
    .unwrap()
    .expect("a sealed reason")
}
