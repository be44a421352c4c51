//! The personal-data vault.
//!
//! **Why a vault.** The case history is kept forever for audit, but personal data (name, birth
//! date, contacts, identity document, and every free text: notes, reasons, references, document
//! descriptions) must be erasable at the end of retention or on a lawful request. Events
//! therefore carry only statistics and [`RecordRef`]s; the personal data itself lives here,
//! encrypted.
//!
//! **Envelope encryption.** Each case has its own random 256-bit data key. Records are sealed
//! with it (AES-256-GCM, bound to case and record id, see [`crate::crypto`]); the data key is
//! stored only wrapped by the master key, which lives outside the database
//! ([`crate::keys`]). Erasing a case is destroying **one small key**: the wrapped key is set to
//! NULL, and every ciphertext of the case becomes noise, without touching (or re-hashing) the
//! events, so the procedural history stays verifiable. Master-key rotation re-wraps the small
//! keys only, never the records.
//!
//! **Erasure is one transaction.** The command pipeline stages the erasure's rows
//! ([`Vault::stage_erasure`]: the key destroyed, the person-index rows deleted, the erasure-ledger
//! row) beside the `personal_data_erased` event, in the command's own transaction: the history
//! never says erased while the key still opens the data, and no caller can forget the second
//! half. The ledger row keeps the reason category and the free-text reason, sealed under the
//! **master** key ([`crypto::seal_for_ledger`]; under the case's data key it would be destroyed by
//! the same erasure), re-sealed by [`Vault::rotate_master`] with the case keys.
//! [`Vault::pending_erasures`] finds a case whose history says erased but whose key is live (a
//! store written by the earlier two-step code, or edited by hand); the engine destroys its key at
//! every start and in `ptl verify`, and marks the ledger row `repaired_at`.
//!
//! **Restores.** Restoring an older backup would bring the destroyed wrapped key back. Each
//! erasure is therefore also appended (and fsync'ed) to `erasures.log` in the data directory,
//! outside the database, and [`Vault::reapply_erasures`] destroys again, at start, every listed
//! key that is readable. The line is written before the command commits, so a crash between the
//! two errs on the side of erasing.
//!
//! **Access log.** Every read of personal data appends one entry per call, HMAC-chained per case
//! like the events (`chain_hash(hash_key, prev, canonical_json(entry))`), so deleting or editing
//! an entry is detectable with the hash key, which is not in the database.
//!
//! **Search.** A keyed hash of the normalised name and birth date
//! ([`integrity::person_search_hash`]) allows exact-match person search and duplicate detection
//! without decrypting every case; erasure deletes it. Every look-up that finds a case is written to
//! that case's access log ([`Vault::log_lookup`]). The index records the version of the
//! normalisation it was built with (`vault_meta`); when the code's differs, the engine rebuilds it
//! from the person records ([`Vault::rebuild_person_index`]).
//!
//! Every write function takes a [`Conn`] so the engine can call it inside the same transaction as
//! the events. On SQLite, call them (including [`Vault::read_records`], which writes the access
//! log) in a write transaction ([`crate::db::Db::begin`]). On PostgreSQL, the case's key row is
//! locked (`FOR UPDATE`) for the rest of the transaction, which serialises access-log appends
//! and erasure per case.
//!
//! Data keys are unwrapped per call and dropped (zeroized) at its end: no key material lingers.

use std::fmt;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use ptl_domain::types::{ErasureCategory, RecordRef};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::crypto::{self, CryptoError, MasterSealed, WrappedKey};
use crate::db::{Batch, Conn, Db, Value as DbValue};
use crate::integrity::{self, CanonicalError};
use crate::keys::{KeyRing, MasterKey};
use crate::{fetch_all, fetch_optional, run};

/// File name of the erasure log in the data directory.
pub const ERASURE_LOG_FILE: &str = "erasures.log";

/// `what` of an access-log entry written by a duplicate check at registration: the person index
/// was consulted for the case, and no record was opened.
pub const LOOKUP_DUPLICATE_CHECK: &str = r#"["duplicate-check"]"#;

/// `what` of an access-log entry written by a person search that found the case.
pub const LOOKUP_PERSON_SEARCH: &str = r#"["person-search"]"#;

/// `what` of an access-log entry written when the engine read the person's record to rebuild the
/// person index.
pub const LOOKUP_INDEX_REBUILD: &str = r#"["person-index-rebuild"]"#;

/// Name of the [`Vault::normalisation_version`] row in `vault_meta`.
const NORMALISATION_ROW: &str = "person_index_normalisation";

/// Errors of the vault.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// A database statement failed.
    #[error("vault database error: {0}")]
    Db(#[from] sqlx::Error),
    /// Wrapping, unwrapping, sealing or opening failed (tampering, wrong master key).
    #[error("vault crypto error: {0}")]
    Crypto(#[from] CryptoError),
    /// The case's personal data was erased: its data key is destroyed.
    #[error("personal data of case {case_id} was erased")]
    Erased {
        /// The case.
        case_id: Uuid,
    },
    /// The case has no data key ([`Vault::ensure_case_key`] was not called).
    #[error("case {case_id} has no data key")]
    NoKey {
        /// The case.
        case_id: Uuid,
    },
    /// A record could not be serialised or parsed as JSON.
    #[error("vault JSON error: {0}")]
    Json(#[from] serde_json::Error),
    /// The erasure log could not be read or written.
    #[error("erasure log: {0}")]
    Io(#[from] io::Error),
    /// An access-log entry could not be canonicalised for hashing.
    #[error("access log entry: {0}")]
    Canonical(#[from] CanonicalError),
    /// A stored row does not decode (bad uuid or timestamp).
    #[error("corrupt vault row: {0}")]
    Corrupt(String),
}

/// Personal data handed over by the API: one record (a JSON value) under a fresh [`RecordRef`].
///
/// `Debug` does not print the value.
#[derive(Clone, PartialEq)]
pub struct PersonalText {
    /// The reference the event will carry.
    pub record: RecordRef,
    /// The personal data (person object, note text, ...).
    pub value: Value,
}

impl fmt::Debug for PersonalText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PersonalText")
            .field("record", &self.record)
            .field("value", &"[REDACTED]")
            .finish()
    }
}

/// Who reads personal data, for the access log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reader {
    /// Subject (user id) of the reader.
    pub sub: String,
    /// Role the reader acted in.
    pub role: String,
    /// The reader's office, if any.
    pub office: Option<String>,
    /// Stated reason for the read, if any.
    pub reason: Option<String>,
}

/// One access-log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessEntry {
    /// Position in the case's chain, from 1.
    pub seq: i64,
    /// When the read happened (microsecond precision).
    pub at: DateTime<Utc>,
    /// Reader's subject.
    pub sub: String,
    /// Reader's role.
    pub role: String,
    /// Reader's office.
    pub office: Option<String>,
    /// Stated reason.
    pub reason: Option<String>,
    /// What was read: a JSON array of record ids, e.g. `["r-…","r-…"]`, or a look-up marker
    /// ([`LOOKUP_DUPLICATE_CHECK`], [`LOOKUP_PERSON_SEARCH`], [`LOOKUP_INDEX_REBUILD`]).
    pub what: String,
    /// Chain hash of this entry.
    pub hash: String,
}

/// One line of `erasures.log`.
#[derive(Debug, Serialize, Deserialize)]
struct ErasureLine {
    case_id: Uuid,
    erased_at: DateTime<Utc>,
    by_sub: String,
    /// The line records a repair: the history said erased but the key was still readable.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    repair: bool,
}

/// The free-text reason of an erasure, bound for the erasure ledger (sealed under the master
/// key). `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct ErasureReason(pub String);

impl fmt::Debug for ErasureReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ErasureReason([REDACTED])")
    }
}

/// What an erasure writes (see [`Vault::stage_erasure`]).
#[derive(Debug, Clone, Copy)]
pub struct Erasure<'a> {
    /// The case.
    pub case_id: Uuid,
    /// Who erased (the event's actor).
    pub by_sub: &'a str,
    /// When (the command's recording time).
    pub erased_at: DateTime<Utc>,
    /// The event's reason category (`None` for events recorded before it existed).
    pub category: Option<ErasureCategory>,
    /// The free-text reason, sealed under the master key in the ledger.
    pub reason: Option<&'a ErasureReason>,
    /// Set when this destroys a key the history had already erased (a repair).
    pub repaired_at: Option<DateTime<Utc>>,
    /// Set when the security-log entry of this erasure is written in the same transaction (a
    /// repair); otherwise the entry is written just after the commit and marks the row then
    /// ([`Vault::mark_security_logged`]), and a row left unmarked by a crash gets its entry at
    /// the next start (`Engine::log_unlogged_erasures`).
    pub security_logged_at: Option<DateTime<Utc>>,
}

/// A row of the erasure ledger, its reason opened.
#[derive(Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    /// When the case was erased (the first erasure's time).
    pub erased_at: DateTime<Utc>,
    /// Who erased it.
    pub by_sub: String,
    /// The reason category, as stored (`None` for older and re-applied rows).
    pub category: Option<String>,
    /// The free-text reason, if one was given.
    pub reason: Option<String>,
    /// When a repair destroyed the key that the history had already erased.
    pub repaired_at: Option<DateTime<Utc>>,
}

impl fmt::Debug for LedgerEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LedgerEntry")
            .field("erased_at", &self.erased_at)
            .field("by_sub", &self.by_sub)
            .field("category", &self.category)
            .field("reason", &self.reason.as_ref().map(|_| "[REDACTED]"))
            .field("repaired_at", &self.repaired_at)
            .finish()
    }
}

/// An erasure to finish: a case whose history says erased while its key is still live
/// ([`Vault::pending_erasures`]), or one whose security-log entry is missing
/// ([`Vault::unlogged_erasures`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingErasure {
    /// The case.
    pub case_id: Uuid,
    /// The erasure event's actor.
    pub by_sub: String,
    /// The erasure event's persistence time.
    pub erased_at: DateTime<Utc>,
    /// The erasure event's category, if it has one.
    pub category: Option<ErasureCategory>,
}

type LedgerRow = (
    i64,
    String,
    Option<String>,
    Option<String>,
    Option<Vec<u8>>,
    Option<i64>,
);

/// A case's data key as read in a command's transaction ([`Vault::read_key`]), still wrapped.
#[derive(Debug)]
pub struct StoredKey(KeyState);

/// State of a case's data key.
#[derive(Debug)]
enum KeyState {
    Missing,
    Erased,
    Live(WrappedKey),
}

type KeyRow = (Option<String>, Option<Vec<u8>>, Option<i64>);

type LogRow = (
    i64,
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    String,
    Option<String>,
);

fn case_text(case_id: Uuid) -> String {
    case_id.hyphenated().to_string()
}

fn micros_to_datetime(micros: i64) -> Result<DateTime<Utc>, VaultError> {
    DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| VaultError::Corrupt(format!("timestamp {micros} out of range")))
}

/// Canonical form of an access-log entry, the input of its chain hash.
fn canonical_entry(
    case_id: &str,
    seq: i64,
    at: DateTime<Utc>,
    e: &EntryText<'_>,
) -> Result<String, CanonicalError> {
    integrity::canonical_json(&json!({
        "case_id": case_id,
        "seq": seq,
        "at": integrity::canonical_timestamp(at),
        "sub": e.sub,
        "role": e.role,
        "office": e.office,
        "reason": e.reason,
        "what": e.what,
    }))
}

/// The text fields of an access-log entry.
struct EntryText<'a> {
    sub: &'a str,
    role: &'a str,
    office: Option<&'a str>,
    reason: Option<&'a str>,
    what: &'a str,
}

/// What a command puts in the vault with its events (see [`Vault::stage`]).
#[derive(Debug, Clone, Copy)]
pub struct CaseRows<'a> {
    /// The case.
    pub case_id: Uuid,
    /// The command starts the case: its data key is made and written with it.
    pub new_case: bool,
    /// The records to seal under the case's key.
    pub records: &'a [PersonalText],
    /// The person-index entry (full name, birth date).
    pub person: Option<(&'a str, NaiveDate)>,
    /// The records' creation time.
    pub now: DateTime<Utc>,
}

/// The personal-data vault (see the module docs).
#[derive(Debug, Clone)]
pub struct Vault {
    keys: Arc<KeyRing>,
}

impl Vault {
    /// A vault using `keys` (master key to wrap data keys, hash key for the access log, search
    /// key for person hashes).
    #[must_use]
    pub fn new(keys: Arc<KeyRing>) -> Self {
        Self { keys }
    }

    /// A fresh record id, `r-<uuid v4 simple>`.
    #[must_use]
    pub fn new_record_id() -> RecordRef {
        RecordRef(format!("r-{}", Uuid::new_v4().simple()))
    }

    /// Reads the case's key row; on PostgreSQL locks it until the end of the transaction.
    async fn key_state(&self, mut conn: Conn<'_>, case_id: Uuid) -> Result<KeyState, VaultError> {
        let sql = match conn {
            Conn::Sqlite(_) => {
                "SELECT master_key_id, wrapped, erased_at FROM case_keys WHERE case_id = $1"
            }
            Conn::Postgres(_) => {
                "SELECT master_key_id, wrapped, erased_at FROM case_keys WHERE case_id = $1 \
                 FOR UPDATE"
            }
        };
        let row = fetch_optional!(conn.reborrow(), KeyRow, sql, case_text(case_id))?;
        Ok(match row {
            None => KeyState::Missing,
            Some((_, None, _)) => KeyState::Erased,
            Some((master_key_id, Some(bytes), _)) => KeyState::Live(WrappedKey {
                master_key_id: master_key_id.unwrap_or_default(),
                bytes,
            }),
        })
    }

    /// Creates a data key for a new case and stores it wrapped by the master key. Idempotent:
    /// an existing key (live or erased) is left alone, so an erased case never gets a new key.
    ///
    /// # Errors
    ///
    /// [`VaultError::Db`] if the insert fails, [`VaultError::Crypto`] if wrapping fails.
    pub async fn ensure_case_key(&self, conn: Conn<'_>, case_id: Uuid) -> Result<(), VaultError> {
        let dk = crypto::new_data_key();
        let wrapped = crypto::wrap(self.keys.master(), &dk, case_id)?;
        run!(
            conn,
            "INSERT INTO case_keys (case_id, master_key_id, wrapped, erased_at) \
             VALUES ($1, $2, $3, NULL) ON CONFLICT (case_id) DO NOTHING",
            case_text(case_id),
            wrapped.master_key_id,
            wrapped.bytes,
        )?;
        Ok(())
    }

    /// Seals each record under the case's data key and stores it. Records are immutable: a
    /// record id that already exists for the case is refused (unique violation).
    ///
    /// # Errors
    ///
    /// [`VaultError::Erased`] if the case's key was destroyed, [`VaultError::NoKey`] if it has
    /// none, [`VaultError::Crypto`] if the key does not unwrap, [`VaultError::Json`] /
    /// [`VaultError::Db`] otherwise.
    pub async fn put_records(
        &self,
        mut conn: Conn<'_>,
        case_id: Uuid,
        records: &[PersonalText],
        now: DateTime<Utc>,
    ) -> Result<(), VaultError> {
        let mut batch = Batch::new();
        let rows = CaseRows {
            case_id,
            new_case: false,
            records,
            person: None,
            now,
        };
        self.stage(conn.reborrow(), &mut batch, &rows).await?;
        batch.execute(conn).await?;
        Ok(())
    }

    /// Adds the case to the person index under the keyed hash of the normalised name and birth
    /// date (idempotent).
    ///
    /// # Errors
    ///
    /// [`VaultError::Erased`] for an erased case (indexing it would undo the erasure),
    /// [`VaultError::Db`] if a statement fails.
    pub async fn index_person(
        &self,
        mut conn: Conn<'_>,
        case_id: Uuid,
        full_name: &str,
        birth_date: NaiveDate,
    ) -> Result<(), VaultError> {
        let mut batch = Batch::new();
        let rows = CaseRows {
            case_id,
            new_case: false,
            records: &[],
            person: Some((full_name, birth_date)),
            now: Utc::now(),
        };
        self.stage(conn.reborrow(), &mut batch, &rows).await?;
        batch.execute(conn).await?;
        Ok(())
    }

    /// Adds to `batch` the vault rows a command writes with its events: for a new case
    /// (`new_case`) its freshly made data key, then each record sealed under the case's data
    /// key, then the person-index entry. Only what must be read first (an existing case's key)
    /// is read on `conn`, so the rows themselves cost no round trip of their own: the engine runs
    /// `batch` in the command's transaction with its other rows.
    ///
    /// A new case's key row is a plain insert: a case that already has a key (live or erased)
    /// fails the batch instead of getting records sealed under a key nobody keeps.
    ///
    /// # Errors
    ///
    /// For an existing case: [`VaultError::Erased`] if its key was destroyed (records or a person
    /// entry would undo the erasure), [`VaultError::NoKey`] if records are to be sealed and it
    /// has none, [`VaultError::Crypto`] if the key does not unwrap. [`VaultError::Json`] /
    /// [`VaultError::Db`] otherwise.
    pub async fn stage(
        &self,
        conn: Conn<'_>,
        batch: &mut Batch,
        rows: &CaseRows<'_>,
    ) -> Result<(), VaultError> {
        if self.stage_with_key(batch, rows, None)? {
            return Ok(());
        }
        let key = self.read_key(conn, rows.case_id).await?;
        self.stage_with_key(batch, rows, Some(&key))?;
        Ok(())
    }

    /// [`Vault::stage`] when it needs nothing from the store: a new case (its key is made here),
    /// or a command with neither records nor a person entry. `Ok(false)`, with `batch`
    /// untouched, when the case's key must be read first. Lets a command's rows be prepared
    /// before its turn on the store's single writer.
    ///
    /// # Errors
    ///
    /// As [`Vault::stage`], without the ones that come from reading the key.
    pub fn stage_without_reads(
        &self,
        batch: &mut Batch,
        rows: &CaseRows<'_>,
    ) -> Result<bool, VaultError> {
        self.stage_with_key(batch, rows, None)
    }

    /// Reads an existing case's data key for [`Vault::stage_with_key`], inside the command's
    /// transaction (on PostgreSQL the key row stays locked until it ends, which orders the
    /// command against an erasure of the case).
    ///
    /// # Errors
    ///
    /// [`VaultError::Db`] if the query fails.
    pub async fn read_key(&self, conn: Conn<'_>, case_id: Uuid) -> Result<StoredKey, VaultError> {
        Ok(StoredKey(self.key_state(conn, case_id).await?))
    }

    /// The one function behind [`Vault::stage`] and [`Vault::stage_without_reads`]: adds the
    /// vault rows of `rows` to `batch`, given the case's key read with [`Vault::read_key`] when
    /// the command needs it (an existing case that gets records or a person entry). Without that
    /// key (`key` is `None`) for such a command, returns `Ok(false)` and leaves `batch`
    /// untouched: the caller reads the key in the transaction and calls again. It splits the
    /// read from the rows so that a caller can prepare the rows before its transaction whenever
    /// no read is needed.
    ///
    /// # Errors
    ///
    /// As [`Vault::stage`], without the ones that come from reading the key.
    pub fn stage_with_key(
        &self,
        batch: &mut Batch,
        rows: &CaseRows<'_>,
        key: Option<&StoredKey>,
    ) -> Result<bool, VaultError> {
        let CaseRows {
            case_id,
            new_case,
            records,
            person,
            now,
        } = *rows;
        if new_case {
            let dk = crypto::new_data_key();
            let wrapped = crypto::wrap(self.keys.master(), &dk, case_id)?;
            batch.push(
                "INSERT INTO case_keys (case_id, master_key_id, wrapped, erased_at) \
                 VALUES ($1, $2, $3, NULL)",
                vec![
                    case_text(case_id).into(),
                    wrapped.master_key_id.into(),
                    wrapped.bytes.into(),
                ],
            );
            self.stage_rows(batch, case_id, Some(&dk), records, person, now)?;
            return Ok(true);
        }
        if records.is_empty() && person.is_none() {
            return Ok(true);
        }
        let Some(StoredKey(key)) = key else {
            return Ok(false);
        };
        let dk = match key {
            KeyState::Erased => return Err(VaultError::Erased { case_id }),
            KeyState::Missing if !records.is_empty() => return Err(VaultError::NoKey { case_id }),
            KeyState::Missing => None,
            KeyState::Live(wrapped) => Some(crypto::unwrap(self.keys.master(), wrapped, case_id)?),
        };
        self.stage_rows(batch, case_id, dk.as_ref(), records, person, now)?;
        Ok(true)
    }

    /// The records sealed under `dk` and the person-index entry.
    fn stage_rows(
        &self,
        batch: &mut Batch,
        case_id: Uuid,
        dk: Option<&crypto::DataKey>,
        records: &[PersonalText],
        person: Option<(&str, NaiveDate)>,
        now: DateTime<Utc>,
    ) -> Result<(), VaultError> {
        let case = case_text(case_id);
        if let (Some(dk), false) = (dk, records.is_empty()) {
            let created_at = now.timestamp_micros();
            let mut args = Vec::with_capacity(records.len() * 4);
            for record in records {
                let plain = Zeroizing::new(serde_json::to_vec(&record.value)?);
                let sealed = crypto::seal(dk, case_id, &record.record.0, &plain)?;
                args.extend([
                    case.clone().into(),
                    record.record.0.clone().into(),
                    sealed.into(),
                    created_at.into(),
                ]);
            }
            batch.push(
                format!(
                    "INSERT INTO personal_records (case_id, record_id, ciphertext, created_at) \
                     VALUES {}",
                    crate::db::values_placeholders(records.len(), 4)
                ),
                args,
            );
        }
        if let Some((full_name, birth_date)) = person {
            let hash = integrity::person_search_hash(self.keys.search_key(), full_name, birth_date);
            batch.push(
                "INSERT INTO person_index (search_hash, case_id) VALUES ($1, $2) \
                 ON CONFLICT (search_hash, case_id) DO NOTHING",
                vec![hash.into(), case.into()],
            );
        }
        Ok(())
    }

    /// The cases whose person matches exactly after normalisation (Unicode NFC, case,
    /// whitespace, apostrophe variants, invisible characters, Latin look-alikes; see
    /// [`integrity::normalise_identity`]), in id order.
    ///
    /// Logging the search is the caller's business (it knows the reader and the found cases).
    ///
    /// # Errors
    ///
    /// [`VaultError::Db`] if the query fails, [`VaultError::Corrupt`] for a bad stored id.
    pub async fn find_person(
        &self,
        conn: Conn<'_>,
        full_name: &str,
        birth_date: NaiveDate,
    ) -> Result<Vec<Uuid>, VaultError> {
        self.find_person_up_to(conn, full_name, birth_date, usize::MAX)
            .await
    }

    /// As [`Vault::find_person`], the first `limit` cases only.
    ///
    /// # Errors
    ///
    /// [`VaultError::Db`] if the query fails, [`VaultError::Corrupt`] for a bad stored id.
    pub async fn find_person_up_to(
        &self,
        conn: Conn<'_>,
        full_name: &str,
        birth_date: NaiveDate,
        limit: usize,
    ) -> Result<Vec<Uuid>, VaultError> {
        let hash = integrity::person_search_hash(self.keys.search_key(), full_name, birth_date);
        let rows = fetch_all!(
            conn,
            (String,),
            "SELECT case_id FROM person_index WHERE search_hash = $1 ORDER BY case_id LIMIT $2",
            hash,
            i64::try_from(limit).unwrap_or(i64::MAX),
        )?;
        rows.into_iter()
            .map(|(id,)| {
                Uuid::parse_str(&id)
                    .map_err(|e| VaultError::Corrupt(format!("case id {id:?}: {e}")))
            })
            .collect()
    }

    /// Appends to the access log of each case in `case_ids` one entry saying that `reader` looked
    /// the case up in the person index (`what`: [`LOOKUP_DUPLICATE_CHECK`] or
    /// [`LOOKUP_PERSON_SEARCH`]) and why: the office the case belongs to sees who asked about its
    /// person. Call it in the same write transaction as the look-up. On PostgreSQL each case's key
    /// row is locked first, in the order given (keep it sorted, as [`Vault::find_person`] returns
    /// it), as [`Vault::read_records`] does, so appends to one case's chain never race.
    ///
    /// # Errors
    ///
    /// [`VaultError::Db`] if a statement fails, [`VaultError::Canonical`] if an entry cannot be
    /// canonicalised.
    pub async fn log_lookup(
        &self,
        mut conn: Conn<'_>,
        case_ids: &[Uuid],
        reader: &Reader,
        what: &str,
    ) -> Result<(), VaultError> {
        for case_id in case_ids {
            self.key_state(conn.reborrow(), *case_id).await?;
            self.append_access(conn.reborrow(), *case_id, reader, what)
                .await?;
        }
        Ok(())
    }

    /// The normalisation version the person index was built with (`None` before the first build,
    /// as in a store created before versions were recorded).
    ///
    /// # Errors
    ///
    /// [`VaultError::Db`] if the query fails.
    pub async fn normalisation_version(&self, conn: Conn<'_>) -> Result<Option<i64>, VaultError> {
        let row = fetch_optional!(
            conn,
            (i64,),
            "SELECT value FROM vault_meta WHERE name = $1",
            NORMALISATION_ROW,
        )?;
        Ok(row.map(|(v,)| v))
    }

    /// The cases whose data key is live (not erased), in id order: those whose person belongs in
    /// the person index.
    ///
    /// # Errors
    ///
    /// [`VaultError::Db`] if the query fails, [`VaultError::Corrupt`] for a bad stored id.
    pub async fn live_cases(&self, conn: Conn<'_>) -> Result<Vec<Uuid>, VaultError> {
        let rows = fetch_all!(
            conn,
            (String,),
            "SELECT case_id FROM case_keys WHERE wrapped IS NOT NULL ORDER BY case_id",
        )?;
        rows.into_iter()
            .map(|(id,)| {
                Uuid::parse_str(&id)
                    .map_err(|e| VaultError::Corrupt(format!("case id {id:?}: {e}")))
            })
            .collect()
    }

    /// Rebuilds the person index with the current normalisation: deletes every entry, then, for
    /// each `(case, person record)`, opens the record (one access-log entry per case, by `reader`,
    /// [`LOOKUP_INDEX_REBUILD`]), hashes its `full_name` and `birth_date` again and indexes the
    /// case; records the version ([`integrity::NORMALISATION_VERSION`]). A case whose record
    /// no longer opens (erased meanwhile) or lacks the two fields is left out. Returns how many
    /// cases were indexed. Call it in one write transaction: the old index stays until it commits.
    ///
    /// # Errors
    ///
    /// [`VaultError::Crypto`] if a key or record fails authentication, [`VaultError::Db`] if a
    /// statement fails.
    pub async fn rebuild_person_index(
        &self,
        mut conn: Conn<'_>,
        persons: &[(Uuid, RecordRef)],
        reader: &Reader,
    ) -> Result<usize, VaultError> {
        run!(conn.reborrow(), "DELETE FROM person_index")?;
        let mut indexed = 0;
        for (case_id, record) in persons {
            let state = self.key_state(conn.reborrow(), *case_id).await?;
            let KeyState::Live(wrapped) = state else {
                continue;
            };
            let dk = crypto::unwrap(self.keys.master(), &wrapped, *case_id)?;
            let row = fetch_optional!(
                conn.reborrow(),
                (Vec<u8>,),
                "SELECT ciphertext FROM personal_records WHERE case_id = $1 AND record_id = $2",
                case_text(*case_id),
                &record.0,
            )?;
            let person = match row {
                Some((sealed,)) => {
                    let plain = Zeroizing::new(crypto::open(&dk, *case_id, &record.0, &sealed)?);
                    serde_json::from_slice::<Value>(&plain).ok()
                }
                None => None,
            };
            drop(dk);
            self.append_access(conn.reborrow(), *case_id, reader, LOOKUP_INDEX_REBUILD)
                .await?;
            let Some(person) = person else { continue };
            let name = person.get("full_name").and_then(Value::as_str);
            let birth = person
                .get("birth_date")
                .and_then(Value::as_str)
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
            let (Some(name), Some(birth)) = (name, birth) else {
                continue;
            };
            let hash = integrity::person_search_hash(self.keys.search_key(), name, birth);
            run!(
                conn.reborrow(),
                "INSERT INTO person_index (search_hash, case_id) VALUES ($1, $2) \
                 ON CONFLICT (search_hash, case_id) DO NOTHING",
                hash,
                case_text(*case_id),
            )?;
            indexed += 1;
        }
        run!(
            conn,
            "INSERT INTO vault_meta (name, value) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            NORMALISATION_ROW,
            integrity::NORMALISATION_VERSION,
        )?;
        Ok(indexed)
    }

    /// Opens the given records of a case, in the order asked, and appends **one** access-log
    /// entry for the call (also when the case is erased or a record does not exist).
    ///
    /// A record reads as `None` when the case is erased, has no key, or has no such record.
    ///
    /// # Errors
    ///
    /// [`VaultError::Crypto`] if the data key or a record fails authentication (tampering, wrong
    /// master key), [`VaultError::Json`] if a record is not JSON, [`VaultError::Db`] if a
    /// statement fails (including a concurrent append on SQLite outside a write transaction).
    pub async fn read_records(
        &self,
        mut conn: Conn<'_>,
        case_id: Uuid,
        records: &[RecordRef],
        reader: &Reader,
    ) -> Result<Vec<(RecordRef, Option<Value>)>, VaultError> {
        let state = self.key_state(conn.reborrow(), case_id).await?;
        let dk = match state {
            KeyState::Live(wrapped) => Some(crypto::unwrap(self.keys.master(), &wrapped, case_id)?),
            KeyState::Missing | KeyState::Erased => None,
        };
        let case = case_text(case_id);
        let mut out = Vec::with_capacity(records.len());
        for record in records {
            let value = match &dk {
                None => None,
                Some(dk) => {
                    let row = fetch_optional!(
                        conn.reborrow(),
                        (Vec<u8>,),
                        "SELECT ciphertext FROM personal_records \
                         WHERE case_id = $1 AND record_id = $2",
                        &case,
                        &record.0,
                    )?;
                    match row {
                        None => None,
                        Some((sealed,)) => {
                            let plain =
                                Zeroizing::new(crypto::open(dk, case_id, &record.0, &sealed)?);
                            Some(serde_json::from_slice::<Value>(&plain)?)
                        }
                    }
                }
            };
            out.push((record.clone(), value));
        }
        drop(dk);

        let what = serde_json::to_string(&records.iter().map(|r| &r.0).collect::<Vec<_>>())?;
        self.append_access(conn, case_id, reader, &what).await?;
        Ok(out)
    }

    /// The engine's own read of one record for the rules (the birth date, from which the child
    /// flag of each act is worked out: `procedure.md`, "Children"). A system read, not a
    /// person's: no access-log entry, and the key row is not locked. `None` when the case is
    /// erased, has no key, or has no such record.
    ///
    /// # Errors
    ///
    /// As [`Vault::read_records`].
    pub async fn read_for_rules(
        &self,
        mut conn: Conn<'_>,
        case_id: Uuid,
        record: &RecordRef,
    ) -> Result<Option<Value>, VaultError> {
        let case = case_text(case_id);
        let row = fetch_optional!(
            conn.reborrow(),
            KeyRow,
            "SELECT master_key_id, wrapped, erased_at FROM case_keys WHERE case_id = $1",
            &case,
        )?;
        let Some((master_key_id, Some(bytes), _)) = row else {
            return Ok(None);
        };
        let wrapped = WrappedKey {
            master_key_id: master_key_id.unwrap_or_default(),
            bytes,
        };
        let dk = crypto::unwrap(self.keys.master(), &wrapped, case_id)?;
        let sealed = fetch_optional!(
            conn.reborrow(),
            (Vec<u8>,),
            "SELECT ciphertext FROM personal_records WHERE case_id = $1 AND record_id = $2",
            &case,
            &record.0,
        )?;
        let Some((sealed,)) = sealed else {
            return Ok(None);
        };
        let plain = Zeroizing::new(crypto::open(&dk, case_id, &record.0, &sealed)?);
        Ok(Some(serde_json::from_slice::<Value>(&plain)?))
    }

    async fn append_access(
        &self,
        mut conn: Conn<'_>,
        case_id: Uuid,
        reader: &Reader,
        what: &str,
    ) -> Result<(), VaultError> {
        let case = case_text(case_id);
        let last = fetch_optional!(
            conn.reborrow(),
            (i64, String),
            "SELECT seq, hash FROM access_log WHERE case_id = $1 ORDER BY seq DESC LIMIT 1",
            &case,
        )?;
        let (seq, prev) = match last {
            None => (integrity::FIRST_SEQUENCE, None),
            Some((seq, hash)) => (seq + 1, Some(hash)),
        };
        let at_micros = Utc::now().timestamp_micros();
        let at = micros_to_datetime(at_micros)?;
        let canonical = canonical_entry(
            &case,
            seq,
            at,
            &EntryText {
                sub: &reader.sub,
                role: &reader.role,
                office: reader.office.as_deref(),
                reason: reader.reason.as_deref(),
                what,
            },
        )?;
        let hash = integrity::chain_hash(self.keys.hash_key(), prev.as_deref(), &canonical);
        run!(
            conn,
            "INSERT INTO access_log \
             (case_id, seq, at, sub, role, office, reason, what, hash, prev_hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &case,
            seq,
            at_micros,
            &reader.sub,
            &reader.role,
            reader.office.as_deref(),
            reader.reason.as_deref(),
            what,
            hash,
            prev,
        )?;
        Ok(())
    }

    async fn log_rows(&self, conn: Conn<'_>, case_id: Uuid) -> Result<Vec<LogRow>, VaultError> {
        Ok(fetch_all!(
            conn,
            LogRow,
            "SELECT seq, at, sub, role, office, reason, what, hash, prev_hash \
             FROM access_log WHERE case_id = $1 ORDER BY seq",
            case_text(case_id),
        )?)
    }

    /// The case's access log, oldest first.
    ///
    /// # Errors
    ///
    /// [`VaultError::Db`] if the query fails, [`VaultError::Corrupt`] for a bad timestamp.
    pub async fn access_log(
        &self,
        conn: Conn<'_>,
        case_id: Uuid,
    ) -> Result<Vec<AccessEntry>, VaultError> {
        self.log_rows(conn, case_id)
            .await?
            .into_iter()
            .map(
                |(seq, at, sub, role, office, reason, what, hash, _)| -> Result<_, VaultError> {
                    Ok(AccessEntry {
                        seq,
                        at: micros_to_datetime(at)?,
                        sub,
                        role,
                        office,
                        reason,
                        what,
                        hash,
                    })
                },
            )
            .collect()
    }

    /// Verifies the case's access-log chain; returns the first invalid seq, `None` if intact.
    ///
    /// Truncation of the tail is not detectable from the rows alone (as for events).
    ///
    /// # Errors
    ///
    /// [`VaultError::Db`] if the query fails. A row that does not decode or canonicalise counts
    /// as invalid rather than an error.
    pub async fn verify_access_log(
        &self,
        conn: Conn<'_>,
        case_id: Uuid,
    ) -> Result<Option<i64>, VaultError> {
        let case = case_text(case_id);
        let rows = self.log_rows(conn, case_id).await?;
        let mut items = Vec::with_capacity(rows.len());
        for (seq, at, sub, role, office, reason, what, hash, prev) in rows {
            let canonical = DateTime::from_timestamp_micros(at).and_then(|at| {
                let text = EntryText {
                    sub: &sub,
                    role: &role,
                    office: office.as_deref(),
                    reason: reason.as_deref(),
                    what: &what,
                };
                canonical_entry(&case, seq, at, &text).ok()
            });
            let Some(canonical) = canonical else {
                return Ok(Some(seq));
            };
            items.push((seq, canonical, hash, prev));
        }
        Ok(integrity::verify_chain(
            self.keys.hash_key(),
            items
                .iter()
                .map(|(s, c, h, p)| (*s, c.as_str(), h.as_str(), p.as_deref())),
        ))
    }

    /// Erases the case's personal data outside the command pipeline (tools and tests: the
    /// pipeline erases with the `personal_data_erased` event, see the module docs): destroys its
    /// data key (or records a destroyed one if it had none), deletes its person-index rows and
    /// writes the erasure ledger row. Ciphertext rows, events and the access log stay.
    /// Idempotent.
    ///
    /// With `data_dir`, the erasure is also appended and fsync'ed to `erasures.log` there, after
    /// the statements succeeded and before the caller commits (see the module docs): if the
    /// commit then fails, the next start re-applies the erasure.
    ///
    /// # Errors
    ///
    /// [`VaultError::Db`] if a statement fails, [`VaultError::Io`] / [`VaultError::Json`] if the
    /// erasure log cannot be written; the caller must then roll back.
    pub async fn erase(
        &self,
        mut conn: Conn<'_>,
        case_id: Uuid,
        by_sub: &str,
        now: DateTime<Utc>,
        data_dir: Option<&Path>,
    ) -> Result<(), VaultError> {
        // Lock the key row first on PostgreSQL (serialises with concurrent puts and reads).
        let _ = self.key_state(conn.reborrow(), case_id).await?;
        let mut batch = Batch::new();
        self.stage_erasure(
            &mut batch,
            &Erasure {
                case_id,
                by_sub,
                erased_at: now,
                category: None,
                reason: None,
                repaired_at: None,
                security_logged_at: None,
            },
        )?;
        batch.execute(conn).await?;
        if let Some(dir) = data_dir {
            log_erasure(dir, case_id, by_sub, now, false).await?;
        }
        Ok(())
    }

    /// Adds to `batch` the rows of an erasure: the case's data key destroyed (or a destroyed
    /// one recorded if it had none), its person-index rows deleted, and its erasure-ledger row
    /// with the category and the reason sealed under the master key. The first erasure's time,
    /// author, category and reason are kept; a repair only adds `repaired_at`. Reads nothing:
    /// the command pipeline runs it in the transaction of the `personal_data_erased` event.
    ///
    /// # Errors
    ///
    /// [`VaultError::Crypto`] if the reason cannot be sealed.
    pub fn stage_erasure(&self, batch: &mut Batch, e: &Erasure<'_>) -> Result<(), VaultError> {
        let case = case_text(e.case_id);
        let erased_at = e.erased_at.timestamp_micros();
        let sealed = e
            .reason
            .map(|r| crypto::seal_for_ledger(self.keys.master(), e.case_id, r.0.as_bytes()))
            .transpose()?;
        let (reason_key_id, reason) = match sealed {
            Some(MasterSealed {
                master_key_id,
                bytes,
            }) => (Some(master_key_id), Some(bytes)),
            None => (None, None),
        };
        batch.push(
            "INSERT INTO case_keys (case_id, master_key_id, wrapped, erased_at) \
             VALUES ($1, NULL, NULL, $2) \
             ON CONFLICT (case_id) DO UPDATE \
             SET master_key_id = NULL, wrapped = NULL, \
                 erased_at = COALESCE(case_keys.erased_at, excluded.erased_at)",
            vec![case.clone().into(), erased_at.into()],
        );
        batch.push(
            "DELETE FROM person_index WHERE case_id = $1",
            vec![case.clone().into()],
        );
        batch.push(
            "INSERT INTO erasure_ledger \
             (case_id, erased_at, by_sub, category, reason_key_id, reason, repaired_at, \
             security_logged_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (case_id) DO UPDATE \
             SET repaired_at = COALESCE(erasure_ledger.repaired_at, excluded.repaired_at), \
             security_logged_at = \
             COALESCE(erasure_ledger.security_logged_at, excluded.security_logged_at)",
            vec![
                case.into(),
                erased_at.into(),
                e.by_sub.into(),
                e.category.map(|c| c.as_str().to_owned()).into(),
                reason_key_id.into(),
                DbValue::Blob(reason),
                e.repaired_at.map(|t| t.timestamp_micros()).into(),
                e.security_logged_at.map(|t| t.timestamp_micros()).into(),
            ],
        );
        Ok(())
    }

    /// The case's erasure-ledger row, its reason opened with the master key; `None` if the case
    /// was never erased.
    ///
    /// # Errors
    ///
    /// [`VaultError::Db`] if the query fails, [`VaultError::Crypto`] if the reason does not open
    /// (tampering, a master key it was not sealed with), [`VaultError::Corrupt`] for a bad row.
    pub async fn ledger_entry(
        &self,
        conn: Conn<'_>,
        case_id: Uuid,
    ) -> Result<Option<LedgerEntry>, VaultError> {
        let row = fetch_optional!(
            conn,
            LedgerRow,
            "SELECT erased_at, by_sub, category, reason_key_id, reason, repaired_at \
             FROM erasure_ledger WHERE case_id = $1",
            case_text(case_id),
        )?;
        let Some((erased_at, by_sub, category, reason_key_id, reason, repaired_at)) = row else {
            return Ok(None);
        };
        let reason = match reason {
            None => None,
            Some(bytes) => {
                let sealed = MasterSealed {
                    master_key_id: reason_key_id.unwrap_or_default(),
                    bytes,
                };
                let plain = crypto::open_from_ledger(self.keys.master(), &sealed, case_id)?;
                Some(String::from_utf8(plain).map_err(|_| {
                    VaultError::Corrupt(format!("erasure reason of case {case_id} is not UTF-8"))
                })?)
            }
        };
        Ok(Some(LedgerEntry {
            erased_at: micros_to_datetime(erased_at)?,
            by_sub,
            category,
            reason,
            repaired_at: repaired_at.map(micros_to_datetime).transpose()?,
        }))
    }

    /// The erasures whose security-log entry was never written (the process stopped between the
    /// erasure's commit and the entry, see [`Erasure::security_logged_at`]), oldest first.
    ///
    /// # Errors
    ///
    /// [`VaultError::Db`] if the query fails, [`VaultError::Corrupt`] for a bad stored row.
    pub async fn unlogged_erasures(
        &self,
        conn: Conn<'_>,
    ) -> Result<Vec<PendingErasure>, VaultError> {
        let rows = fetch_all!(
            conn,
            (String, String, i64, Option<String>),
            "SELECT case_id, by_sub, erased_at, category FROM erasure_ledger \
             WHERE security_logged_at IS NULL ORDER BY erased_at, case_id",
        )?;
        rows.into_iter()
            .map(|(case, by_sub, erased_at, category)| {
                Ok(PendingErasure {
                    case_id: Uuid::parse_str(&case)
                        .map_err(|e| VaultError::Corrupt(format!("case id {case:?}: {e}")))?,
                    by_sub,
                    erased_at: micros_to_datetime(erased_at)?,
                    category: category.and_then(|c| c.parse().ok()),
                })
            })
            .collect()
    }

    /// Records in the case's erasure-ledger row that its security-log entry is written (in the
    /// entry's transaction).
    ///
    /// # Errors
    ///
    /// [`VaultError::Db`] if the update fails.
    pub async fn mark_security_logged(
        &self,
        conn: Conn<'_>,
        case_id: Uuid,
        at: DateTime<Utc>,
    ) -> Result<(), VaultError> {
        run!(
            conn,
            "UPDATE erasure_ledger SET security_logged_at = $2 \
             WHERE case_id = $1 AND security_logged_at IS NULL",
            case_text(case_id),
            at.timestamp_micros(),
        )?;
        Ok(())
    }

    /// The cases whose history holds a `personal_data_erased` event while their data key is
    /// still live, in case order: what the earlier two-step erasure left behind when it failed
    /// or the process died between the event and the key, or what a hand edit brought back.
    /// One query over the live keys and their erasure events.
    ///
    /// # Errors
    ///
    /// [`VaultError::Db`] if the query fails, [`VaultError::Corrupt`] for a bad stored row.
    pub async fn pending_erasures(
        &self,
        conn: Conn<'_>,
    ) -> Result<Vec<PendingErasure>, VaultError> {
        // `instr` first: a plain substring search skips the JSON parse of almost every event.
        let sql = match conn {
            Conn::Sqlite(_) => {
                "SELECT k.case_id, json_extract(e.payload, '$.actor.sub'), e.occurred_on, \
                        json_extract(e.payload, '$.body.data.category') \
                 FROM case_keys k JOIN case_events e ON e.aggregate_id = k.case_id \
                 WHERE k.wrapped IS NOT NULL \
                   AND instr(e.payload, 'personal_data_erased') > 0 \
                   AND json_extract(e.payload, '$.body.type') = 'personal_data_erased' \
                 ORDER BY k.case_id"
            }
            Conn::Postgres(_) => {
                "SELECT k.case_id, e.payload->'actor'->>'sub', \
                        (EXTRACT(EPOCH FROM e.occurred_on) * 1000000)::BIGINT, \
                        e.payload->'body'->'data'->>'category' \
                 FROM case_keys k JOIN case_events e ON e.aggregate_id = k.case_id::uuid \
                 WHERE k.wrapped IS NOT NULL \
                   AND e.payload->'body'->>'type' = 'personal_data_erased' \
                 ORDER BY k.case_id"
            }
        };
        let rows = fetch_all!(conn, (String, Option<String>, i64, Option<String>), sql,)?;
        let mut out: Vec<PendingErasure> = Vec::with_capacity(rows.len());
        for (case, by_sub, erased_at, category) in rows {
            let case_id = Uuid::parse_str(&case)
                .map_err(|e| VaultError::Corrupt(format!("case id {case:?}: {e}")))?;
            if out.last().is_some_and(|p| p.case_id == case_id) {
                continue;
            }
            out.push(PendingErasure {
                case_id,
                by_sub: by_sub.unwrap_or_else(|| "system".into()),
                erased_at: micros_to_datetime(erased_at)?,
                // An unknown spelling (a category added later) still erases.
                category: category.and_then(|c| c.parse().ok()),
            });
        }
        Ok(out)
    }

    /// Re-applies the erasures listed in `data_dir/erasures.log` (after a restore from an older
    /// backup): destroys the key, person-index rows and missing ledger rows of every listed case,
    /// in one transaction. Returns how many cases still had a readable key. A missing file means
    /// no erasures; a torn (unparseable) line, left by a crash during the append (before the
    /// erasure could commit), is skipped with a warning.
    ///
    /// # Errors
    ///
    /// [`VaultError::Io`] if the file cannot be read, [`VaultError::Db`] if a statement fails.
    pub async fn reapply_erasures(&self, db: &Db, data_dir: &Path) -> Result<usize, VaultError> {
        let path = data_dir.join(ERASURE_LOG_FILE);
        let text = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e.into()),
        };
        let mut lines: Vec<ErasureLine> = Vec::new();
        for (n, line) in text.split(|b| *b == b'\n').enumerate() {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match serde_json::from_slice::<ErasureLine>(line) {
                Ok(l) => lines.push(l),
                Err(e) => tracing::warn!(
                    file = %path.display(),
                    line = n + 1,
                    error = %e,
                    "skipping unreadable erasure log line (torn write?)"
                ),
            }
        }
        let mut tx = db.begin().await?;
        let mut destroyed = 0;
        let mut seen = std::collections::HashSet::new();
        for line in lines {
            if !seen.insert(line.case_id) {
                continue;
            }
            if let KeyState::Live(_) = self.key_state(tx.conn(), line.case_id).await? {
                destroyed += 1;
            }
            let mut batch = Batch::new();
            self.stage_erasure(
                &mut batch,
                &Erasure {
                    case_id: line.case_id,
                    by_sub: &line.by_sub,
                    erased_at: line.erased_at,
                    category: None,
                    reason: None,
                    repaired_at: None,
                    security_logged_at: None,
                },
            )?;
            batch.execute(tx.conn()).await?;
        }
        tx.commit().await?;
        if destroyed > 0 {
            tracing::warn!(
                cases = destroyed,
                "re-applied erasures that the database had lost (restored from an older backup?)"
            );
        }
        Ok(destroyed)
    }

    /// Re-wraps every live data key, and re-seals every erasure reason of the ledger, under
    /// `new_master`, in one transaction, and returns how many live keys there are (all now
    /// wrapped with `new_master`). Idempotent: keys already wrapped
    /// with `new_master` are left alone, so an interrupted rotation can be run again.
    ///
    /// The caller runs [`crate::keys::prepare_rotation`] before and
    /// [`crate::keys::commit_rotation`] after, then builds a new [`Vault`] on the new key ring.
    ///
    /// # Errors
    ///
    /// [`VaultError::Crypto`] if a key is wrapped with neither master key or fails
    /// authentication (nothing is committed), [`VaultError::Db`] if a statement fails.
    pub async fn rotate_master(
        &self,
        db: &Db,
        new_master: &MasterKey,
    ) -> Result<usize, VaultError> {
        self.rotate(db, new_master, None).await
    }

    /// [`Self::rotate_master`], with `entry` written to the security log (chained under this
    /// vault's hash key, at `at`) in the rotation's transaction, so that a rotation is never
    /// left unlogged (`ptl keys rotate`).
    ///
    /// # Errors
    ///
    /// Those of [`Self::rotate_master`]; [`VaultError::Db`] if the entry cannot be written.
    pub async fn rotate_master_logged(
        &self,
        db: &Db,
        new_master: &MasterKey,
        entry: &crate::security::SecurityEntry,
        at: DateTime<Utc>,
    ) -> Result<usize, VaultError> {
        self.rotate(db, new_master, Some((entry, at))).await
    }

    async fn rotate(
        &self,
        db: &Db,
        new_master: &MasterKey,
        log: Option<(&crate::security::SecurityEntry, DateTime<Utc>)>,
    ) -> Result<usize, VaultError> {
        let mut tx = db.begin().await?;
        let rows = fetch_all!(
            tx.conn(),
            (String, Option<String>, Vec<u8>),
            "SELECT case_id, master_key_id, wrapped FROM case_keys \
             WHERE wrapped IS NOT NULL ORDER BY case_id",
        )?;
        let count = rows.len();
        let reasons = fetch_all!(
            tx.conn(),
            (String, Option<String>, Vec<u8>),
            "SELECT case_id, reason_key_id, reason FROM erasure_ledger \
             WHERE reason IS NOT NULL ORDER BY case_id",
        )?;
        for (case, master_key_id, bytes) in reasons {
            let case_id = Uuid::parse_str(&case)
                .map_err(|e| VaultError::Corrupt(format!("case id {case:?}: {e}")))?;
            let sealed = MasterSealed {
                master_key_id: master_key_id.unwrap_or_default(),
                bytes,
            };
            let resealed =
                crypto::reseal_for_ledger(self.keys.master(), new_master, &sealed, case_id)?;
            if resealed != sealed {
                run!(
                    tx.conn(),
                    "UPDATE erasure_ledger SET reason_key_id = $2, reason = $3 WHERE case_id = $1",
                    &case,
                    resealed.master_key_id,
                    resealed.bytes,
                )?;
            }
        }
        for (case, master_key_id, bytes) in rows {
            let case_id = Uuid::parse_str(&case)
                .map_err(|e| VaultError::Corrupt(format!("case id {case:?}: {e}")))?;
            let wrapped = WrappedKey {
                master_key_id: master_key_id.unwrap_or_default(),
                bytes,
            };
            let rewrapped = crypto::rewrap(self.keys.master(), new_master, &wrapped, case_id)?;
            if rewrapped != wrapped {
                run!(
                    tx.conn(),
                    "UPDATE case_keys SET master_key_id = $2, wrapped = $3 WHERE case_id = $1",
                    &case,
                    rewrapped.master_key_id,
                    rewrapped.bytes,
                )?;
            }
        }
        if let Some((entry, at)) = log {
            let mut entry = entry.clone();
            if let Some(detail) = entry.detail.as_object_mut() {
                detail.insert("case_keys".into(), serde_json::json!(count));
            }
            crate::security::stage_security(tx.conn(), self.keys.hash_key(), &entry, at)
                .await
                .map_err(|e| VaultError::Corrupt(format!("security log: {e}")))?;
        }
        tx.commit().await?;
        Ok(count)
    }
}

/// Appends the erasure of `case_id` to `data_dir/erasures.log` and fsyncs it (see the module
/// docs): called before the erasure commits, so a crash in between errs on the side of erasing.
/// `repair` marks a key destroyed by the start-up check rather than by a command.
///
/// # Errors
///
/// [`VaultError::Io`] / [`VaultError::Json`] if the line cannot be written.
pub async fn log_erasure(
    data_dir: &Path,
    case_id: Uuid,
    by_sub: &str,
    erased_at: DateTime<Utc>,
    repair: bool,
) -> Result<(), VaultError> {
    let line = ErasureLine {
        case_id,
        erased_at: micros_to_datetime(erased_at.timestamp_micros())?,
        by_sub: by_sub.to_owned(),
        repair,
    };
    let mut text = serde_json::to_string(&line)?;
    text.push('\n');
    let dir = data_dir.to_path_buf();
    tokio::task::spawn_blocking(move || append_line(&dir, &text))
        .await
        .map_err(io::Error::other)??;
    Ok(())
}

/// Appends one line to `dir/erasures.log` (mode 0600) and fsyncs it, and the directory when
/// the file is new. A previous torn line (no final newline) is terminated first, so it cannot
/// swallow this one.
fn append_line(dir: &Path, line: &str) -> io::Result<()> {
    let path: PathBuf = dir.join(ERASURE_LOG_FILE);
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .mode(0o600)
        .open(&path)?;
    let len = file.metadata()?.len();
    let mut text = String::with_capacity(line.len() + 1);
    if len > 0 {
        let mut last = [0u8; 1];
        file.seek(SeekFrom::Start(len - 1))?;
        file.read_exact(&mut last)?;
        if last[0] != b'\n' {
            text.push('\n');
        }
    }
    text.push_str(line);
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    if len == 0 {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}
