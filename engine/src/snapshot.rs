//! Snapshots of case states: what esrs lacks for long streams.
//!
//! A cold load of a case folds its whole stream; for a long case (a shelter stay with years of
//! services and notes) that is the bulk of the work. The engine therefore keeps, per case, the
//! state after every `snapshot_every`-th event
//! ([`crate::pipeline::EngineOptions::snapshot_every`]), written in the same transaction as that
//! event, and a cold load folds only the events after it.
//!
//! The events stay the only source of truth: a snapshot is trusted only when
//!
//! * its `format` is this build's [`ptl_domain::STATE_FORMAT`] (other code may fold differently),
//! * its MAC verifies: HMAC with the hash-chain key over the chain hash of the event it stands
//!   after, the format, the case, the version and the state text. Someone who can write to the
//!   database but has no key cannot plant a state; a snapshot cannot be moved to another case or
//!   version, and it stops verifying if the events before it are re-hashed;
//! * its version is not beyond the stored stream.
//!
//! Anything else is ignored (with a warning) and the stream replayed from the start; `verify`
//! still recomputes every chain from the events alone.

use chrono::{DateTime, Utc};
use ptl_domain::{CaseState, STATE_FORMAT};
use uuid::Uuid;

use crate::db::{Batch, Conn};
use crate::fetch_optional;
use crate::integrity::chain_hash;
use crate::keys::KeyRing;

/// The MAC of a snapshot: bound to the chain hash of its last event.
fn snapshot_mac(
    keys: &KeyRing,
    chain_hash_at_version: &str,
    format: &str,
    case_id: Uuid,
    version: u64,
    state: &str,
) -> String {
    let content = format!("ptl-snapshot\n{format}\n{case_id}\n{version}\n{state}");
    chain_hash(keys.hash_key(), Some(chain_hash_at_version), &content)
}

/// Adds the statement that writes (replaces) the case's snapshot to `batch`: `state` after event
/// `version`, whose chain hash is `hash`. The engine runs it inside the event transaction; it is
/// public for tools and tests, and a caller that passes a state the events do not fold to
/// corrupts every later cold load.
///
/// # Errors
/// The state cannot be encoded.
pub fn write(
    batch: &mut Batch,
    keys: &KeyRing,
    case_id: Uuid,
    version: u64,
    hash: &str,
    state: &CaseState,
    now: DateTime<Utc>,
) -> Result<(), String> {
    let text = serde_json::to_string(state).map_err(|e| e.to_string())?;
    let mac = snapshot_mac(keys, hash, STATE_FORMAT, case_id, version, &text);
    batch.push(
        "INSERT INTO case_snapshots (case_id, version, format, state, mac, taken_at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (case_id) DO UPDATE SET version = excluded.version, format = excluded.format, state = excluded.state, mac = excluded.mac, taken_at = excluded.taken_at",
        vec![
            case_id.to_string().into(),
            i64::try_from(version).unwrap_or(i64::MAX).into(),
            STATE_FORMAT.into(),
            text.into(),
            mac.into(),
            now.timestamp_micros().into(),
        ],
    );
    Ok(())
}

/// A verified snapshot.
#[derive(Debug)]
pub struct Snapshot {
    /// Events folded into it.
    pub version: u64,
    /// The state after them.
    pub state: CaseState,
    /// The chain hash of event `version`.
    pub hash: String,
}

/// The case's snapshot if it can be trusted (see the module docs), at most `stored` events long.
///
/// # Errors
/// The store cannot be read. An untrustworthy snapshot is not an error: `None`.
pub async fn read(
    conn: Conn<'_>,
    keys: &KeyRing,
    case_id: Uuid,
    stored: u64,
) -> Result<Option<Snapshot>, sqlx::Error> {
    let row: Option<(i64, String, String, String, String)> = fetch_optional!(
        conn,
        (i64, String, String, String, String),
        "SELECT s.version, s.format, s.state, s.mac, i.hash FROM case_snapshots s \
         JOIN event_integrity i ON i.case_id = s.case_id AND i.sequence = s.version \
         WHERE s.case_id = $1",
        case_id.to_string()
    )?;
    let Some((version, format, text, mac, hash)) = row else {
        return Ok(None);
    };
    let Ok(version) = u64::try_from(version) else {
        return Ok(None);
    };
    if format != STATE_FORMAT {
        tracing::debug!(%case_id, %format, "snapshot of another format ignored");
        return Ok(None);
    }
    if version == 0 || version > stored {
        tracing::warn!(%case_id, version, stored, "snapshot beyond the stream ignored");
        return Ok(None);
    }
    let expected = snapshot_mac(keys, &hash, &format, case_id, version, &text);
    if !constant_time_eq(expected.as_bytes(), mac.as_bytes()) {
        tracing::warn!(%case_id, version, "snapshot with a bad MAC ignored: the stream is replayed");
        return Ok(None);
    }
    match serde_json::from_str::<CaseState>(&text) {
        Ok(state) if state.version == version => Ok(Some(Snapshot {
            version,
            state,
            hash,
        })),
        Ok(_) | Err(_) => {
            tracing::warn!(%case_id, version, "undecodable snapshot ignored");
            Ok(None)
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
