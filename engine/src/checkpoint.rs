//! The signed checkpoint of the global log: what the hash chains alone cannot show.
//!
//! Each case's chain shows an edited, inserted, reordered or removed event up to its last stored
//! event, but not the removal of its **last** events, nor of a **whole case**: what is left is a
//! shorter chain that verifies. The checkpoint closes that gap. It records, outside the event
//! tables, the length of the global log (its number of events), the number of cases and the chain
//! head of every case (its last sequence and that event's hash, in `log_checkpoint_heads`); its
//! row (`log_checkpoint`) carries a hash over those heads and a signature, an HMAC under a key
//! derived from the hash key (which lives outside the database, `keys.rs`), so that whoever can
//! write the database cannot move it back or forge a new one to fit a truncated log.
//!
//! [`Engine::check_log`] compares the log as it is with the checkpoint and names what it finds
//! ([`Finding`]): a log shorter than its checkpoint, a case missing, a case whose head is older
//! than the checkpointed one (its last events deleted), a head rewritten, a checkpoint whose
//! signature or heads do not match (forged), a missing checkpoint where the evidence says one
//! existed, or a checkpoint older than the one this installation last wrote.
//!
//! [`Engine::advance_checkpoint`] moves it forward (the server does so periodically, `ptl verify`
//! after a clean verification): it never moves it over a log that went backwards (it refuses and
//! returns the findings). [`Engine::accept_restore`] starts a new epoch from the log as it is,
//! after an older backup was restored on purpose, and records that in the security log.
//!
//! **An attacker who can write the database** could delete the checkpoint tables as well. Two
//! pieces of evidence outside them say a checkpoint existed: the security log, where the first
//! checkpoint of each epoch is recorded (`log_checkpoint_started`, `restore_accepted`; that log is
//! hash-chained), and the copy of the last checkpoint this instance wrote, signed, in the data
//! directory ([`CHECKPOINT_FILE`], beside the key files, which the database's writer cannot
//! reach). With either, a missing checkpoint is reported, not silently started again; the copy
//! also shows a checkpoint row replaced by an older signed one. What remains possible without the
//! keys or the data directory: deleting the checkpoint, every case and the whole security log at
//! once on an instance whose data directory holds no copy (a new instance of a cluster, before
//! its first advance).

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use hmac::Mac;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::db::Conn;
use crate::integrity::keyed_hmac;
use crate::pipeline::{Engine, EngineError};
use crate::security::{stage_security, SecurityEntry};
use crate::{fetch_all, fetch_optional, run};

/// The signed copy of the last checkpoint this instance wrote, in the data directory.
pub const CHECKPOINT_FILE: &str = "log-checkpoint.json";

/// Security-log kind of the first checkpoint of a store.
pub const KIND_STARTED: &str = "log_checkpoint_started";
/// Security-log kind of a restore accepted with `ptl verify --accept-restore`.
pub const KIND_RESTORE: &str = "restore_accepted";

/// The advisory lock key that serialises checkpoint writes on PostgreSQL.
const PG_LOCK_KEY: i64 = 0x0070_746c_5f63_6b70; // "ptl_ckp"

/// A checkpoint as stored (one row) and as copied to [`CHECKPOINT_FILE`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// 1 for the first; one more at each accepted restore.
    pub epoch: i64,
    /// How many times it was advanced in this epoch (from 1).
    pub seq: i64,
    /// When it was written.
    pub at: DateTime<Utc>,
    /// The number of events in the global log.
    pub events: i64,
    /// The number of cases.
    pub cases: i64,
    /// A hash over every case's head (case id, last sequence, its hash), in case id order.
    pub heads_hash: String,
    /// HMAC over all of the above under the checkpoint key (derived from the hash key).
    pub signature: String,
}

/// A case's chain head: its last sequence and that event's hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// The last sequence.
    pub sequence: i64,
    /// Its hash (empty when its integrity row is missing).
    pub hash: String,
}

/// Every case's head, by case id.
pub type Heads = BTreeMap<String, Head>;

/// What the comparison of the log with its checkpoint found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Finding {
    /// No checkpoint, while the security log or the data directory's copy says one existed.
    CheckpointMissing {
        /// `security_log` or `data_directory`.
        evidence: String,
    },
    /// The checkpoint's signature or its heads do not match: written without the keys.
    CheckpointForged,
    /// The checkpoint is older than the signed copy in the data directory (replaced by an older
    /// one), or the copy is forged.
    CheckpointRolledBack {
        /// The stored checkpoint's epoch and seq.
        stored: (i64, i64),
        /// The copy's epoch and seq.
        copy: (i64, i64),
    },
    /// The log has fewer events than its checkpoint.
    LogShorter {
        /// Events at the checkpoint.
        checkpoint_events: i64,
        /// Events now.
        events: i64,
    },
    /// A case of the checkpoint has no events left.
    CaseMissing {
        /// The case.
        case_id: String,
        /// Its last sequence at the checkpoint.
        checkpoint_sequence: i64,
    },
    /// A case's last events were deleted: its head is older than the checkpointed one.
    CaseTruncated {
        /// The case.
        case_id: String,
        /// Its last sequence at the checkpoint.
        checkpoint_sequence: i64,
        /// Its last sequence now.
        sequence: i64,
    },
    /// A case's event at its checkpointed head has another hash now.
    HeadRewritten {
        /// The case.
        case_id: String,
        /// The sequence.
        sequence: i64,
    },
}

impl Finding {
    /// The case it concerns, if one.
    #[must_use]
    pub fn case_id(&self) -> Option<&str> {
        match self {
            Self::CaseMissing { case_id, .. }
            | Self::CaseTruncated { case_id, .. }
            | Self::HeadRewritten { case_id, .. } => Some(case_id),
            _ => None,
        }
    }

    /// A line for a person reading `ptl verify`'s output.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Self::CheckpointMissing { evidence } => format!(
                "the log's checkpoint is missing, but the {} shows one existed (deleted?)",
                evidence.replace('_', " ")
            ),
            Self::CheckpointForged => {
                "the log's checkpoint does not verify: written without the keys".to_string()
            }
            Self::CheckpointRolledBack { stored, copy } => format!(
                "the log's checkpoint ({}.{}) is older than the signed copy in the data directory ({}.{}), or the copy is forged",
                stored.0, stored.1, copy.0, copy.1
            ),
            Self::LogShorter {
                checkpoint_events,
                events,
            } => format!(
                "the log has {events} events, fewer than the {checkpoint_events} of its checkpoint"
            ),
            Self::CaseMissing {
                case_id,
                checkpoint_sequence,
            } => format!(
                "case {case_id} is missing: it had {checkpoint_sequence} events at the checkpoint"
            ),
            Self::CaseTruncated {
                case_id,
                checkpoint_sequence,
                sequence,
            } => format!(
                "case {case_id} ends at event {sequence}, but had {checkpoint_sequence} at the checkpoint: its last events were deleted"
            ),
            Self::HeadRewritten { case_id, sequence } => {
                format!("case {case_id}: event {sequence} differs from the checkpoint's")
            }
        }
    }
}

/// The log compared with its checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogCheck {
    /// The stored checkpoint, when there is one.
    pub checkpoint: Option<Checkpoint>,
    /// Events in the log now.
    pub events: i64,
    /// Cases now.
    pub cases: i64,
    /// What does not fit; empty when the log is at least as long as its checkpoint.
    pub findings: Vec<Finding>,
}

/// What [`Engine::advance_checkpoint`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Advance {
    /// The log is empty and there was no checkpoint: nothing to keep yet.
    Empty,
    /// The first checkpoint was written (and recorded in the security log).
    Started(Checkpoint),
    /// Moved forward.
    Advanced(Checkpoint),
    /// Nothing changed since the checkpoint (or another instance moved it meanwhile).
    Unchanged,
    /// Not moved: the log went backwards or the checkpoint does not verify.
    Refused(Vec<Finding>),
}

fn checkpoint_key(hash_key: &[u8; 32]) -> [u8; 32] {
    let mut mac = keyed_hmac(hash_key);
    mac.update(b"ptl-log-checkpoint-key-v1");
    mac.finalize().into_bytes().into()
}

fn hash_heads(key: &[u8; 32], heads: &Heads) -> String {
    let mut mac = keyed_hmac(key);
    mac.update(b"ptl-heads-v1\n");
    for (case, head) in heads {
        mac.update(format!("{case}:{}:{}\n", head.sequence, head.hash).as_bytes());
    }
    hex::encode(mac.finalize().into_bytes())
}

#[allow(clippy::too_many_arguments)]
fn signature_of(
    key: &[u8; 32],
    epoch: i64,
    seq: i64,
    at: DateTime<Utc>,
    events: i64,
    cases: i64,
    heads_hash: &str,
) -> String {
    let mut mac = keyed_hmac(key);
    mac.update(
        format!(
            "ptl-checkpoint-v1\n{epoch}\n{seq}\n{}\n{events}\n{cases}\n{heads_hash}",
            at.timestamp_micros()
        )
        .as_bytes(),
    );
    hex::encode(mac.finalize().into_bytes())
}

fn signed(
    key: &[u8; 32],
    epoch: i64,
    seq: i64,
    at: DateTime<Utc>,
    heads: &Heads,
    events: i64,
) -> Checkpoint {
    let at = DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at);
    let heads_hash = hash_heads(key, heads);
    let cases = i64::try_from(heads.len()).unwrap_or(i64::MAX);
    Checkpoint {
        epoch,
        seq,
        at,
        events,
        cases,
        signature: signature_of(key, epoch, seq, at, events, cases, &heads_hash),
        heads_hash,
    }
}

fn signature_holds(key: &[u8; 32], c: &Checkpoint) -> bool {
    let expected = signature_of(key, c.epoch, c.seq, c.at, c.events, c.cases, &c.heads_hash);
    // Both are hex of the same length; compare without an early exit.
    expected.len() == c.signature.len()
        && expected
            .bytes()
            .zip(c.signature.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// Every case's head and the number of events, read from the events themselves (a case whose
/// events were deleted has no head, whatever its integrity rows say).
async fn current_heads(conn: &mut Conn<'_>) -> Result<(Heads, i64), EngineError> {
    let rows: Vec<(String, i64, Option<String>)> = match conn {
        Conn::Sqlite(c) => {
            sqlx::query_as(
                "SELECT m.case_id, m.seq, h.hash FROM \
                 (SELECT aggregate_id AS case_id, MAX(sequence_number) AS seq FROM case_events \
                  GROUP BY aggregate_id) m \
                 LEFT JOIN event_integrity h ON h.case_id = m.case_id AND h.sequence = m.seq",
            )
            .fetch_all(&mut **c)
            .await?
        }
        Conn::Postgres(c) => {
            sqlx::query_as(
                "SELECT m.case_id, m.seq, h.hash FROM \
                 (SELECT aggregate_id::text AS case_id, MAX(sequence_number)::bigint AS seq \
                  FROM case_events GROUP BY aggregate_id) m \
                 LEFT JOIN event_integrity h ON h.case_id = m.case_id AND h.sequence = m.seq",
            )
            .fetch_all(&mut **c)
            .await?
        }
    };
    let events: (i64,) =
        fetch_optional!(conn.reborrow(), (i64,), "SELECT COUNT(*) FROM case_events")?
            .unwrap_or((0,));
    Ok((
        rows.into_iter()
            .map(|(case, sequence, hash)| {
                (
                    case,
                    Head {
                        sequence,
                        hash: hash.unwrap_or_default(),
                    },
                )
            })
            .collect(),
        events.0,
    ))
}

type CheckpointRow = (i64, i64, i64, i64, i64, String, String);

async fn stored(conn: &mut Conn<'_>) -> Result<Option<(Checkpoint, Heads)>, EngineError> {
    let row = fetch_optional!(
        conn.reborrow(),
        CheckpointRow,
        "SELECT epoch, seq, at, events, cases, heads_hash, signature FROM log_checkpoint WHERE id = 1",
    )?;
    let Some((epoch, seq, at, events, cases, heads_hash, signature)) = row else {
        return Ok(None);
    };
    let heads: Vec<(String, i64, String)> = fetch_all!(
        conn.reborrow(),
        (String, i64, String),
        "SELECT case_id, sequence, hash FROM log_checkpoint_heads",
    )?;
    Ok(Some((
        Checkpoint {
            epoch,
            seq,
            at: DateTime::from_timestamp_micros(at).unwrap_or_default(),
            events,
            cases,
            heads_hash,
            signature,
        },
        heads
            .into_iter()
            .map(|(c, sequence, hash)| (c, Head { sequence, hash }))
            .collect(),
    )))
}

async fn security_evidence(conn: &mut Conn<'_>) -> Result<bool, EngineError> {
    let n: Option<(i64,)> = fetch_optional!(
        conn.reborrow(),
        (i64,),
        "SELECT COUNT(*) FROM security_log WHERE kind = $1 OR kind = $2",
        KIND_STARTED,
        KIND_RESTORE,
    )?;
    Ok(n.is_some_and(|(n,)| n > 0))
}

fn read_copy(dir: Option<&Path>) -> Option<Checkpoint> {
    let text = std::fs::read_to_string(dir?.join(CHECKPOINT_FILE)).ok()?;
    // An unreadable copy counts as forged: its epoch/seq cannot be trusted; a copy that is not
    // JSON at all is reported the same way through a zero signature.
    Some(serde_json::from_str(&text).unwrap_or(Checkpoint {
        epoch: 0,
        seq: 0,
        at: DateTime::default(),
        events: 0,
        cases: 0,
        heads_hash: String::new(),
        signature: String::new(),
    }))
}

fn write_copy(dir: Option<&Path>, c: &Checkpoint) -> Result<(), EngineError> {
    let Some(dir) = dir else { return Ok(()) };
    let text = serde_json::to_string_pretty(c)
        .map_err(|e| EngineError::Internal(format!("checkpoint copy: {e}")))?;
    let tmp = dir.join(format!("{CHECKPOINT_FILE}.tmp"));
    let write = || -> std::io::Result<()> {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, dir.join(CHECKPOINT_FILE))
    };
    write().map_err(|e| {
        EngineError::Internal(format!(
            "cannot write {}: {e}",
            dir.join(CHECKPOINT_FILE).display()
        ))
    })
}

/// Compares the log now with a stored checkpoint (already read) and the evidence.
fn compare(
    key: &[u8; 32],
    stored: Option<&(Checkpoint, Heads)>,
    copy: Option<&Checkpoint>,
    evidence_in_security_log: bool,
    heads: &Heads,
    events: i64,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let Some((checkpoint, old_heads)) = stored else {
        if evidence_in_security_log {
            findings.push(Finding::CheckpointMissing {
                evidence: "security_log".into(),
            });
        } else if copy.is_some() {
            findings.push(Finding::CheckpointMissing {
                evidence: "data_directory".into(),
            });
        }
        return findings;
    };
    if !signature_holds(key, checkpoint)
        || hash_heads(key, old_heads) != checkpoint.heads_hash
        || i64::try_from(old_heads.len()).ok() != Some(checkpoint.cases)
    {
        findings.push(Finding::CheckpointForged);
        return findings;
    }
    if let Some(copy) = copy {
        if !signature_holds(key, copy)
            || (copy.epoch, copy.seq) > (checkpoint.epoch, checkpoint.seq)
        {
            findings.push(Finding::CheckpointRolledBack {
                stored: (checkpoint.epoch, checkpoint.seq),
                copy: (copy.epoch, copy.seq),
            });
        }
    }
    if events < checkpoint.events {
        findings.push(Finding::LogShorter {
            checkpoint_events: checkpoint.events,
            events,
        });
    }
    for (case, old) in old_heads {
        match heads.get(case) {
            None => findings.push(Finding::CaseMissing {
                case_id: case.clone(),
                checkpoint_sequence: old.sequence,
            }),
            Some(now) if now.sequence < old.sequence => findings.push(Finding::CaseTruncated {
                case_id: case.clone(),
                checkpoint_sequence: old.sequence,
                sequence: now.sequence,
            }),
            Some(now) if now.sequence == old.sequence && now.hash != old.hash => {
                findings.push(Finding::HeadRewritten {
                    case_id: case.clone(),
                    sequence: old.sequence,
                });
            }
            Some(_) => {}
        }
    }
    findings
}

impl Engine {
    /// The log compared with its checkpoint (see the module documentation).
    ///
    /// # Errors
    /// The store cannot be read.
    pub async fn check_log(&self) -> Result<LogCheck, EngineError> {
        let mut tx = self.db().read().await?;
        let mut conn = tx.conn();
        let (heads, events) = current_heads(&mut conn).await?;
        let stored = stored(&mut conn).await?;
        let evidence = security_evidence(&mut conn).await?;
        drop(tx);
        let key = checkpoint_key(self.keys().hash_key());
        let copy = read_copy(self.data_dir());
        let findings = compare(
            &key,
            stored.as_ref(),
            copy.as_ref(),
            evidence,
            &heads,
            events,
        );
        Ok(LogCheck {
            checkpoint: stored.map(|(c, _)| c),
            events,
            cases: i64::try_from(heads.len()).unwrap_or(i64::MAX),
            findings,
        })
    }

    /// Moves the checkpoint to the log as it is now, unless the log went backwards since (then
    /// nothing is written and the findings are returned). The first checkpoint of a store (when
    /// the log has events and nothing says a checkpoint existed) is recorded in the security log.
    /// The heads are read in a read snapshot, then written in a short write transaction that
    /// first checks that no other instance moved the checkpoint meanwhile.
    ///
    /// # Errors
    /// The store cannot be read or written, or the data directory's copy cannot be written.
    pub async fn advance_checkpoint(&self) -> Result<Advance, EngineError> {
        let mut tx = self.db().read().await?;
        let mut conn = tx.conn();
        let (heads, events) = current_heads(&mut conn).await?;
        let old = stored(&mut conn).await?;
        let evidence = security_evidence(&mut conn).await?;
        drop(tx);
        let key = checkpoint_key(self.keys().hash_key());
        let copy = read_copy(self.data_dir());
        let findings = compare(&key, old.as_ref(), copy.as_ref(), evidence, &heads, events);
        if !findings.is_empty() {
            return Ok(Advance::Refused(findings));
        }
        let now = self.clock().now();
        let next = match &old {
            None if heads.is_empty() => return Ok(Advance::Empty),
            None => signed(&key, 1, 1, now, &heads, events),
            Some((c, h)) if c.events == events && *h == heads => return Ok(Advance::Unchanged),
            Some((c, _)) => signed(&key, c.epoch, c.seq + 1, now, &heads, events),
        };
        let mut w = self.begin_write().await?;
        let mut conn = w.conn();
        if let Conn::Postgres(c) = &mut conn {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(PG_LOCK_KEY)
                .execute(&mut **c)
                .await?;
        }
        let current: Option<(i64, i64)> = fetch_optional!(
            conn.reborrow(),
            (i64, i64),
            "SELECT epoch, seq FROM log_checkpoint WHERE id = 1",
        )?;
        if current != old.as_ref().map(|(c, _)| (c.epoch, c.seq)) {
            return Ok(Advance::Unchanged);
        }
        let empty = Heads::new();
        let old_heads = old.as_ref().map_or(&empty, |(_, h)| h);
        write_heads(&mut conn, old_heads, &heads).await?;
        write_row(&mut conn, &next).await?;
        if old.is_none() {
            let entry = SecurityEntry::new(KIND_STARTED, Some("system"), None).detail(json!({
                "events": next.events,
                "cases": next.cases,
            }));
            stage_security(conn.reborrow(), self.keys().hash_key(), &entry, now).await?;
        }
        w.commit().await?;
        write_copy(self.data_dir(), &next)?;
        Ok(if old.is_none() {
            Advance::Started(next)
        } else {
            Advance::Advanced(next)
        })
    }

    /// Starts a new checkpoint epoch from the log as it is now, after an older backup was
    /// restored on purpose (`ptl verify --accept-restore`), and records it in the security log
    /// (`restore_accepted`, by `actor`, with the old and the new length).
    ///
    /// # Errors
    /// The store cannot be read or written, or the data directory's copy cannot be written.
    pub async fn accept_restore(&self, actor: &str) -> Result<Checkpoint, EngineError> {
        let key = checkpoint_key(self.keys().hash_key());
        let copy = read_copy(self.data_dir());
        let mut w = self.begin_write().await?;
        let mut conn = w.conn();
        if let Conn::Postgres(c) = &mut conn {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(PG_LOCK_KEY)
                .execute(&mut **c)
                .await?;
        }
        let (heads, events) = current_heads(&mut conn).await?;
        let old: Option<(i64, i64, i64)> = fetch_optional!(
            conn.reborrow(),
            (i64, i64, i64),
            "SELECT epoch, events, cases FROM log_checkpoint WHERE id = 1",
        )?;
        let epoch = old
            .map(|o| o.0)
            .into_iter()
            .chain(copy.as_ref().map(|c| c.epoch))
            .max()
            .unwrap_or(0)
            + 1;
        let now = self.clock().now();
        let next = signed(&key, epoch, 1, now, &heads, events);
        run!(conn.reborrow(), "DELETE FROM log_checkpoint_heads")?;
        write_heads(&mut conn, &Heads::new(), &heads).await?;
        write_row(&mut conn, &next).await?;
        let entry = SecurityEntry::new(KIND_RESTORE, Some(actor), None).detail(json!({
            "epoch": epoch,
            "previous_events": old.map(|o| o.1),
            "previous_cases": old.map(|o| o.2),
            "events": next.events,
            "cases": next.cases,
        }));
        stage_security(conn.reborrow(), self.keys().hash_key(), &entry, now).await?;
        w.commit().await?;
        write_copy(self.data_dir(), &next)?;
        Ok(next)
    }
}

async fn write_row(conn: &mut Conn<'_>, c: &Checkpoint) -> Result<(), EngineError> {
    run!(conn.reborrow(), "DELETE FROM log_checkpoint WHERE id = 1")?;
    run!(
        conn.reborrow(),
        "INSERT INTO log_checkpoint (id, epoch, seq, at, events, cases, heads_hash, signature) \
         VALUES (1, $1, $2, $3, $4, $5, $6, $7)",
        c.epoch,
        c.seq,
        c.at.timestamp_micros(),
        c.events,
        c.cases,
        &c.heads_hash,
        &c.signature,
    )?;
    Ok(())
}

/// Writes the heads that changed (new cases, longer chains), in multi-row statements.
async fn write_heads(conn: &mut Conn<'_>, old: &Heads, new: &Heads) -> Result<(), EngineError> {
    let changed: Vec<(&String, &Head)> = new
        .iter()
        .filter(|(c, h)| old.get(*c) != Some(*h))
        .collect();
    for chunk in changed.chunks(300) {
        let ids: Vec<&str> = chunk.iter().map(|(c, _)| c.as_str()).collect();
        let marks = crate::db::values_placeholders(ids.len(), 1);
        let marks = marks.replace(['(', ')'], "");
        let delete = format!("DELETE FROM log_checkpoint_heads WHERE case_id IN ({marks})");
        match conn {
            Conn::Sqlite(c) => {
                let mut q = sqlx::query(&delete);
                for id in &ids {
                    q = q.bind(*id);
                }
                q.execute(&mut **c).await?;
            }
            Conn::Postgres(c) => {
                let mut q = sqlx::query(&delete);
                for id in &ids {
                    q = q.bind(*id);
                }
                q.execute(&mut **c).await?;
            }
        }
        let insert = format!(
            "INSERT INTO log_checkpoint_heads (case_id, sequence, hash) VALUES {}",
            crate::db::values_placeholders(chunk.len(), 3)
        );
        match conn {
            Conn::Sqlite(c) => {
                let mut q = sqlx::query(&insert);
                for (id, h) in chunk {
                    q = q.bind(id.as_str()).bind(h.sequence).bind(h.hash.as_str());
                }
                q.execute(&mut **c).await?;
            }
            Conn::Postgres(c) => {
                let mut q = sqlx::query(&insert);
                for (id, h) in chunk {
                    q = q.bind(id.as_str()).bind(h.sequence).bind(h.hash.as_str());
                }
                q.execute(&mut **c).await?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const KEY: [u8; 32] = [7; 32];

    fn heads(items: &[(&str, i64, &str)]) -> Heads {
        items
            .iter()
            .map(|(c, s, h)| {
                (
                    (*c).to_string(),
                    Head {
                        sequence: *s,
                        hash: (*h).to_string(),
                    },
                )
            })
            .collect()
    }

    #[test]
    fn a_truncated_case_a_missing_case_and_a_shorter_log_are_found() {
        let key = checkpoint_key(&KEY);
        let then = heads(&[("a", 3, "h3"), ("b", 1, "b1"), ("c", 2, "c2")]);
        let cp = signed(&key, 1, 1, Utc::now(), &then, 6);
        let now = heads(&[("a", 2, "h2"), ("c", 2, "c2")]);
        let found = compare(&key, Some(&(cp.clone(), then.clone())), None, true, &now, 4);
        assert_eq!(
            found,
            vec![
                Finding::LogShorter {
                    checkpoint_events: 6,
                    events: 4
                },
                Finding::CaseTruncated {
                    case_id: "a".into(),
                    checkpoint_sequence: 3,
                    sequence: 2
                },
                Finding::CaseMissing {
                    case_id: "b".into(),
                    checkpoint_sequence: 1
                },
            ]
        );
        assert!(compare(&key, Some(&(cp, then.clone())), None, true, &then, 6).is_empty());
    }

    #[test]
    fn a_checkpoint_signed_without_the_key_or_with_other_heads_is_forged() {
        let key = checkpoint_key(&KEY);
        let then = heads(&[("a", 3, "h3")]);
        let forged = signed(&checkpoint_key(&[1; 32]), 1, 1, Utc::now(), &then, 3);
        assert_eq!(
            compare(&key, Some(&(forged, then.clone())), None, false, &then, 3),
            vec![Finding::CheckpointForged]
        );
        let cp = signed(&key, 1, 1, Utc::now(), &then, 3);
        let fewer = heads(&[("a", 2, "h2")]);
        assert_eq!(
            compare(&key, Some(&(cp, fewer.clone())), None, false, &fewer, 2),
            vec![Finding::CheckpointForged]
        );
    }

    #[test]
    fn a_missing_checkpoint_is_reported_only_with_evidence() {
        let key = checkpoint_key(&KEY);
        let now = heads(&[("a", 1, "h1")]);
        assert!(compare(&key, None, None, false, &now, 1).is_empty());
        assert_eq!(
            compare(&key, None, None, true, &now, 1),
            vec![Finding::CheckpointMissing {
                evidence: "security_log".into()
            }]
        );
        let copy = signed(&key, 1, 4, Utc::now(), &now, 1);
        assert_eq!(
            compare(&key, None, Some(&copy), false, &now, 1),
            vec![Finding::CheckpointMissing {
                evidence: "data_directory".into()
            }]
        );
        let older = signed(&key, 1, 2, Utc::now(), &now, 1);
        assert_eq!(
            compare(
                &key,
                Some(&(older, now.clone())),
                Some(&copy),
                false,
                &now,
                1
            ),
            vec![Finding::CheckpointRolledBack {
                stored: (1, 2),
                copy: (1, 4)
            }]
        );
    }
}
