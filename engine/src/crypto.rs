//! Envelope encryption of personal data.
//!
//! Every case gets its own random 256-bit **data key**. Personal data of the
//! case is sealed with that data key (AES-256-GCM); the data key itself is
//! stored in the database only **wrapped** (encrypted) under the master key,
//! which lives outside the database (see `keys.rs`).
//!
//! Why envelope encryption: the right to erasure must reach every copy of the
//! data, including event history that is append-only and backups that cannot
//! be edited. Deleting one small wrapped data key ("crypto-shredding") makes
//! all of a case's ciphertext — in the live database, in the event log and in
//! every backup taken after the master key is rotated — permanently
//! unreadable, without rewriting history. Master key rotation only re-wraps
//! the small data keys; sealed records are never re-encrypted.
//!
//! Binding: the associated data of a wrapped key contains the case id, and
//! that of a sealed record contains the case id and record id, so ciphertext
//! copied to another case or record fails to open instead of silently
//! disclosing or misattributing data.
//!
//! Nonces are 96-bit random values; with one data key per case the number of
//! records sealed under one key stays far below the 2^32 limit for random
//! GCM nonces.

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use rand::rngs::OsRng;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretBox};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use zeroize::Zeroizing;

use super::keys::MasterKey;

/// Length of a data key in bytes.
pub const DATA_KEY_LEN: usize = 32;
/// Length of an AES-GCM nonce in bytes.
pub const NONCE_LEN: usize = 12;
/// Length of an AES-GCM authentication tag in bytes.
pub const TAG_LEN: usize = 16;
/// Leading format byte of records produced by [`seal`].
pub const SEALED_FORMAT_V1: u8 = 1;

const WRAP_AAD_PREFIX: &[u8] = b"ptl-dk-v1";
const SEAL_AAD_PREFIX: &[u8] = b"ptl-rec-v1";
const LEDGER_AAD_PREFIX: &[u8] = b"ptl-erasure-v1";

/// Errors from wrapping, unwrapping, sealing and opening.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// The wrapped key records a different master key id than the one given.
    #[error("data key was wrapped with master key {wrapped_with}, not with {given}")]
    WrongMasterKey {
        /// Master key id recorded in the wrapped key.
        wrapped_with: String,
        /// Id of the master key supplied.
        given: String,
    },
    /// Authentication of a wrapped key failed: it was tampered with or
    /// belongs to another case.
    #[error("wrapped data key failed authentication (tampered, or wrapped for another case)")]
    UnwrapFailed,
    /// Authentication of a sealed record failed: wrong data key (for example
    /// the case was erased), tampered ciphertext, or a different case or
    /// record id.
    #[error(
        "sealed record failed authentication (wrong or erased data key, tampering, \
         or another case/record id)"
    )]
    OpenFailed,
    /// Ciphertext is shorter than the fixed overhead.
    #[error("ciphertext too short ({len} bytes)")]
    Truncated {
        /// Actual length.
        len: usize,
    },
    /// The leading format byte of a sealed record is unknown.
    #[error("unsupported sealed record format version {0}")]
    UnsupportedVersion(u8),
    /// AES-GCM refused to encrypt (plaintext beyond the 64 GiB GCM limit).
    #[error("encryption failed: input too large for AES-GCM")]
    EncryptFailed,
}

/// A per-case 256-bit data key. Zeroized on drop; `Debug` is redacted;
/// deliberately not `Clone`.
pub struct DataKey(SecretBox<[u8; DATA_KEY_LEN]>);

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey([REDACTED])")
    }
}

impl DataKey {
    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(self.0.expose_secret()))
    }
}

/// Generates a new random data key from the operating system RNG.
#[must_use]
pub fn new_data_key() -> DataKey {
    DataKey(SecretBox::init_with_mut(|k: &mut [u8; DATA_KEY_LEN]| {
        OsRng.fill_bytes(k);
    }))
}

/// A data key encrypted under a master key, as stored in the database.
///
/// `bytes` is `nonce (12) || ciphertext (32) || tag (16)`. Not secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrappedKey {
    /// Id (`mk-<8 hex>`) of the master key this data key is wrapped with.
    pub master_key_id: String,
    /// `nonce || ciphertext || tag`.
    pub bytes: Vec<u8>,
}

fn wrap_aad(case_id: Uuid) -> Vec<u8> {
    let mut aad = Vec::with_capacity(WRAP_AAD_PREFIX.len() + 16);
    aad.extend_from_slice(WRAP_AAD_PREFIX);
    aad.extend_from_slice(case_id.as_bytes());
    aad
}

fn seal_aad(case_id: Uuid, record_id: &str) -> Vec<u8> {
    // The prefix and case id are fixed-length, so appending the record id
    // last is unambiguous.
    let mut aad = Vec::with_capacity(SEAL_AAD_PREFIX.len() + 16 + record_id.len());
    aad.extend_from_slice(SEAL_AAD_PREFIX);
    aad.extend_from_slice(case_id.as_bytes());
    aad.extend_from_slice(record_id.as_bytes());
    aad
}

fn random_nonce() -> [u8; NONCE_LEN] {
    let mut nonce = [0u8; NONCE_LEN];
    OsRng.fill_bytes(&mut nonce);
    nonce
}

/// Wraps `dk` under `master` for case `case_id` (AES-256-GCM, random nonce,
/// AAD `"ptl-dk-v1" || case_id`).
///
/// # Errors
///
/// [`CryptoError::EncryptFailed`] only if AES-GCM refuses the input, which
/// cannot happen for a 32-byte key; the `Result` avoids a panic path.
pub fn wrap(master: &MasterKey, dk: &DataKey, case_id: Uuid) -> Result<WrappedKey, CryptoError> {
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(master.expose()));
    let nonce = random_nonce();
    let aad = wrap_aad(case_id);
    let ct = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: dk.0.expose_secret(),
                aad: &aad,
            },
        )
        .map_err(|_| CryptoError::EncryptFailed)?;
    let mut bytes = Vec::with_capacity(NONCE_LEN + ct.len());
    bytes.extend_from_slice(&nonce);
    bytes.extend_from_slice(&ct);
    Ok(WrappedKey {
        master_key_id: master.id().to_owned(),
        bytes,
    })
}

/// Unwraps a data key wrapped for case `case_id`.
///
/// # Errors
///
/// * [`CryptoError::WrongMasterKey`] if `wrapped.master_key_id` is not
///   `master.id()` (checked before any decryption);
/// * [`CryptoError::Truncated`] if the bytes are not 60 long;
/// * [`CryptoError::UnwrapFailed`] if authentication fails (tampering, or the
///   key belongs to another case).
pub fn unwrap(
    master: &MasterKey,
    wrapped: &WrappedKey,
    case_id: Uuid,
) -> Result<DataKey, CryptoError> {
    if wrapped.master_key_id != master.id() {
        return Err(CryptoError::WrongMasterKey {
            wrapped_with: wrapped.master_key_id.clone(),
            given: master.id().to_owned(),
        });
    }
    let len = wrapped.bytes.len();
    if len != NONCE_LEN + DATA_KEY_LEN + TAG_LEN {
        return Err(CryptoError::Truncated { len });
    }
    let (nonce, ct) = wrapped.bytes.split_at(NONCE_LEN);
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(master.expose()));
    let aad = wrap_aad(case_id);
    let plain = Zeroizing::new(
        cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad: &aad })
            .map_err(|_| CryptoError::UnwrapFailed)?,
    );
    if plain.len() != DATA_KEY_LEN {
        return Err(CryptoError::UnwrapFailed);
    }
    Ok(DataKey(SecretBox::init_with_mut(
        |k: &mut [u8; DATA_KEY_LEN]| k.copy_from_slice(&plain),
    )))
}

/// Re-wraps a data key during master key rotation.
///
/// Idempotent, so an interrupted rotation can simply be run again: a key
/// already wrapped with `new` is returned unchanged; a key wrapped with `old`
/// is unwrapped and wrapped with `new`.
///
/// # Errors
///
/// [`CryptoError::WrongMasterKey`] if the key is wrapped with neither master
/// key, and the errors of [`unwrap`] and [`wrap`].
pub fn rewrap(
    old: &MasterKey,
    new: &MasterKey,
    wrapped: &WrappedKey,
    case_id: Uuid,
) -> Result<WrappedKey, CryptoError> {
    if wrapped.master_key_id == new.id() {
        return Ok(wrapped.clone());
    }
    let dk = unwrap(old, wrapped, case_id)?;
    wrap(new, &dk, case_id)
}

/// Seals one record of personal data.
///
/// Output: `0x01 || nonce (12) || ciphertext || tag (16)`, AES-256-GCM with
/// AAD `"ptl-rec-v1" || case_id (16 bytes) || record_id`.
///
/// # Errors
///
/// [`CryptoError::EncryptFailed`] if the plaintext exceeds the AES-GCM limit
/// (about 64 GiB).
pub fn seal(
    dk: &DataKey,
    case_id: Uuid,
    record_id: &str,
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let nonce = random_nonce();
    let aad = seal_aad(case_id, record_id);
    let ct = dk
        .cipher()
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad: &aad,
            },
        )
        .map_err(|_| CryptoError::EncryptFailed)?;
    let mut out = Vec::with_capacity(1 + NONCE_LEN + ct.len());
    out.push(SEALED_FORMAT_V1);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    Ok(out)
}

/// Opens a record sealed by [`seal`] for the same case and record id.
///
/// The plaintext is personal data: wrap it in `Zeroizing` or a secret type if
/// it is kept around.
///
/// # Errors
///
/// * [`CryptoError::Truncated`] if shorter than the fixed overhead;
/// * [`CryptoError::UnsupportedVersion`] for an unknown leading byte;
/// * [`CryptoError::OpenFailed`] if authentication fails (wrong or erased
///   data key, tampering, other case or record id).
pub fn open(
    dk: &DataKey,
    case_id: Uuid,
    record_id: &str,
    ciphertext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let len = ciphertext.len();
    let Some((&version, rest)) = ciphertext.split_first() else {
        return Err(CryptoError::Truncated { len });
    };
    if version != SEALED_FORMAT_V1 {
        return Err(CryptoError::UnsupportedVersion(version));
    }
    if rest.len() < NONCE_LEN + TAG_LEN {
        return Err(CryptoError::Truncated { len });
    }
    let (nonce, ct) = rest.split_at(NONCE_LEN);
    let aad = seal_aad(case_id, record_id);
    dk.cipher()
        .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad: &aad })
        .map_err(|_| CryptoError::OpenFailed)
}

/// Text sealed directly under a master key, as stored in the erasure ledger: the free-text
/// reason of an erasure, which must outlive the case's data key that the same erasure destroys.
///
/// `bytes` is `nonce (12) || ciphertext || tag (16)`, AES-256-GCM with AAD
/// `"ptl-erasure-v1" || case_id` (so a wrapped data key and a ledger text never open as each
/// other, and a text copied to another case fails to open).
#[derive(Clone, PartialEq, Eq)]
pub struct MasterSealed {
    /// Id (`mk-<8 hex>`) of the master key it is sealed with.
    pub master_key_id: String,
    /// `nonce || ciphertext || tag`.
    pub bytes: Vec<u8>,
}

impl fmt::Debug for MasterSealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterSealed")
            .field("master_key_id", &self.master_key_id)
            .field("len", &self.bytes.len())
            .finish()
    }
}

fn ledger_aad(case_id: Uuid) -> Vec<u8> {
    let mut aad = Vec::with_capacity(LEDGER_AAD_PREFIX.len() + 16);
    aad.extend_from_slice(LEDGER_AAD_PREFIX);
    aad.extend_from_slice(case_id.as_bytes());
    aad
}

/// Seals an erasure-ledger text of case `case_id` under `master` (see [`MasterSealed`]).
///
/// # Errors
///
/// [`CryptoError::EncryptFailed`] if the plaintext exceeds the AES-GCM limit.
pub fn seal_for_ledger(
    master: &MasterKey,
    case_id: Uuid,
    plaintext: &[u8],
) -> Result<MasterSealed, CryptoError> {
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(master.expose()));
    let nonce = random_nonce();
    let aad = ledger_aad(case_id);
    let ct = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad: &aad,
            },
        )
        .map_err(|_| CryptoError::EncryptFailed)?;
    let mut bytes = Vec::with_capacity(NONCE_LEN + ct.len());
    bytes.extend_from_slice(&nonce);
    bytes.extend_from_slice(&ct);
    Ok(MasterSealed {
        master_key_id: master.id().to_owned(),
        bytes,
    })
}

/// Opens a text sealed by [`seal_for_ledger`] for the same case.
///
/// # Errors
///
/// [`CryptoError::WrongMasterKey`] if it is sealed with another master key,
/// [`CryptoError::Truncated`] if too short, [`CryptoError::OpenFailed`] if authentication fails
/// (tampering, another case).
pub fn open_from_ledger(
    master: &MasterKey,
    sealed: &MasterSealed,
    case_id: Uuid,
) -> Result<Vec<u8>, CryptoError> {
    if sealed.master_key_id != master.id() {
        return Err(CryptoError::WrongMasterKey {
            wrapped_with: sealed.master_key_id.clone(),
            given: master.id().to_owned(),
        });
    }
    let len = sealed.bytes.len();
    if len < NONCE_LEN + TAG_LEN {
        return Err(CryptoError::Truncated { len });
    }
    let (nonce, ct) = sealed.bytes.split_at(NONCE_LEN);
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(master.expose()));
    let aad = ledger_aad(case_id);
    cipher
        .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad: &aad })
        .map_err(|_| CryptoError::OpenFailed)
}

/// Re-seals a ledger text during master key rotation; idempotent like [`rewrap`] (a text
/// already sealed with `new` is returned unchanged).
///
/// # Errors
///
/// [`CryptoError::WrongMasterKey`] if it is sealed with neither master key, and the errors of
/// [`open_from_ledger`] and [`seal_for_ledger`].
pub fn reseal_for_ledger(
    old: &MasterKey,
    new: &MasterKey,
    sealed: &MasterSealed,
    case_id: Uuid,
) -> Result<MasterSealed, CryptoError> {
    if sealed.master_key_id == new.id() {
        return Ok(sealed.clone());
    }
    let plain = Zeroizing::new(open_from_ledger(old, sealed, case_id)?);
    seal_for_ledger(new, case_id, &plain)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    const NAME: &[u8] = "Марʼяна Коваль, 1999-03-14".as_bytes();

    #[test]
    fn a_sealed_record_opens_with_its_key_case_and_record_id() {
        let dk = new_data_key();
        let case = Uuid::new_v4();
        let sealed = seal(&dk, case, "person/name", NAME).unwrap();
        assert_eq!(sealed[0], SEALED_FORMAT_V1);
        assert_eq!(sealed.len(), 1 + NONCE_LEN + NAME.len() + TAG_LEN);
        assert_eq!(open(&dk, case, "person/name", &sealed).unwrap(), NAME);
    }

    #[test]
    fn a_ledger_text_opens_under_its_master_key_and_case_only_and_survives_rotation() {
        let old = MasterKey::generate();
        let new = MasterKey::generate();
        let case = Uuid::new_v4();
        let sealed = seal_for_ledger(&old, case, b"court order 12/34").unwrap();
        assert_eq!(
            open_from_ledger(&old, &sealed, case).unwrap(),
            b"court order 12/34"
        );
        assert_eq!(
            open_from_ledger(&old, &sealed, Uuid::new_v4()),
            Err(CryptoError::OpenFailed)
        );
        assert!(matches!(
            open_from_ledger(&new, &sealed, case),
            Err(CryptoError::WrongMasterKey { .. })
        ));
        let resealed = reseal_for_ledger(&old, &new, &sealed, case).unwrap();
        assert_eq!(resealed.master_key_id, new.id());
        assert_eq!(
            open_from_ledger(&new, &resealed, case).unwrap(),
            b"court order 12/34"
        );
        assert_eq!(
            reseal_for_ledger(&old, &new, &resealed, case).unwrap(),
            resealed
        );
        // Not a wrapped data key: the two never open as each other.
        let as_key = WrappedKey {
            master_key_id: sealed.master_key_id.clone(),
            bytes: sealed.bytes.clone(),
        };
        assert!(unwrap(&old, &as_key, case).is_err());
    }

    #[test]
    fn sealing_twice_gives_different_ciphertexts() {
        let dk = new_data_key();
        let case = Uuid::new_v4();
        assert_ne!(
            seal(&dk, case, "r", NAME).unwrap(),
            seal(&dk, case, "r", NAME).unwrap()
        );
    }

    #[test]
    fn a_record_cannot_be_opened_once_its_data_key_is_destroyed() {
        let case = Uuid::new_v4();
        let sealed = {
            let dk = new_data_key();
            seal(&dk, case, "person/name", NAME).unwrap()
            // `dk` is dropped (and zeroized) here: the case is erased.
        };
        let other = new_data_key();
        assert_eq!(
            open(&other, case, "person/name", &sealed),
            Err(CryptoError::OpenFailed)
        );
    }

    #[test]
    fn tampering_with_any_single_byte_is_detected() {
        let dk = new_data_key();
        let case = Uuid::new_v4();
        let sealed = seal(&dk, case, "r1", NAME).unwrap();
        for i in 1..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            assert_eq!(
                open(&dk, case, "r1", &bad),
                Err(CryptoError::OpenFailed),
                "byte {i}"
            );
        }
        let mut bad_version = sealed.clone();
        bad_version[0] = 2;
        assert_eq!(
            open(&dk, case, "r1", &bad_version),
            Err(CryptoError::UnsupportedVersion(2))
        );
        assert!(matches!(
            open(&dk, case, "r1", &sealed[..20]),
            Err(CryptoError::Truncated { .. })
        ));
        assert!(matches!(
            open(&dk, case, "r1", &[]),
            Err(CryptoError::Truncated { len: 0 })
        ));
    }

    #[test]
    fn a_record_moved_to_another_case_or_record_id_fails_to_open() {
        let dk = new_data_key();
        let case = Uuid::new_v4();
        let sealed = seal(&dk, case, "r1", NAME).unwrap();
        assert_eq!(
            open(&dk, Uuid::new_v4(), "r1", &sealed),
            Err(CryptoError::OpenFailed)
        );
        assert_eq!(open(&dk, case, "r2", &sealed), Err(CryptoError::OpenFailed));
    }

    #[test]
    fn an_empty_plaintext_round_trips() {
        let dk = new_data_key();
        let case = Uuid::new_v4();
        let sealed = seal(&dk, case, "", b"").unwrap();
        assert_eq!(open(&dk, case, "", &sealed).unwrap(), b"");
    }

    #[test]
    fn a_wrapped_data_key_unwraps_to_a_key_that_opens_the_records() {
        let master = MasterKey::generate();
        let case = Uuid::new_v4();
        let dk = new_data_key();
        let sealed = seal(&dk, case, "r", NAME).unwrap();
        let wrapped = wrap(&master, &dk, case).unwrap();
        assert_eq!(wrapped.master_key_id, master.id());
        assert_eq!(wrapped.bytes.len(), NONCE_LEN + DATA_KEY_LEN + TAG_LEN);
        drop(dk);
        let back = unwrap(&master, &wrapped, case).unwrap();
        assert_eq!(open(&back, case, "r", &sealed).unwrap(), NAME);
    }

    #[test]
    fn a_wrapped_key_moved_to_another_case_fails_to_unwrap() {
        let master = MasterKey::generate();
        let wrapped = wrap(&master, &new_data_key(), Uuid::new_v4()).unwrap();
        assert_eq!(
            unwrap(&master, &wrapped, Uuid::new_v4()).unwrap_err(),
            CryptoError::UnwrapFailed
        );
    }

    #[test]
    fn a_tampered_wrapped_key_fails_to_unwrap() {
        let master = MasterKey::generate();
        let case = Uuid::new_v4();
        let mut wrapped = wrap(&master, &new_data_key(), case).unwrap();
        wrapped.bytes[20] ^= 0x80;
        assert_eq!(
            unwrap(&master, &wrapped, case).unwrap_err(),
            CryptoError::UnwrapFailed
        );
        wrapped.bytes.pop();
        assert!(matches!(
            unwrap(&master, &wrapped, case),
            Err(CryptoError::Truncated { len: 59 })
        ));
    }

    #[test]
    fn unwrapping_with_another_master_key_names_both_key_ids() {
        let master = MasterKey::generate();
        let other = MasterKey::generate();
        let case = Uuid::new_v4();
        let wrapped = wrap(&master, &new_data_key(), case).unwrap();
        let err = unwrap(&other, &wrapped, case).unwrap_err();
        assert_eq!(
            err,
            CryptoError::WrongMasterKey {
                wrapped_with: master.id().to_owned(),
                given: other.id().to_owned(),
            }
        );
        let msg = err.to_string();
        assert!(
            msg.contains(master.id()) && msg.contains(other.id()),
            "{msg}"
        );
    }

    #[test]
    fn a_forged_master_key_id_does_not_bypass_authentication() {
        let master = MasterKey::generate();
        let other = MasterKey::generate();
        let case = Uuid::new_v4();
        let mut wrapped = wrap(&master, &new_data_key(), case).unwrap();
        wrapped.master_key_id = other.id().to_owned();
        assert_eq!(
            unwrap(&other, &wrapped, case).unwrap_err(),
            CryptoError::UnwrapFailed
        );
    }

    #[test]
    fn a_key_wrapped_under_the_old_master_is_rewrapped_under_the_new_one() {
        let old = MasterKey::generate();
        let new = MasterKey::generate();
        let case = Uuid::new_v4();
        let dk = new_data_key();
        let sealed = seal(&dk, case, "r", NAME).unwrap();
        let wrapped_old = wrap(&old, &dk, case).unwrap();

        let wrapped_new = rewrap(&old, &new, &wrapped_old, case).unwrap();
        assert_eq!(wrapped_new.master_key_id, new.id());
        let dk_new = unwrap(&new, &wrapped_new, case).unwrap();
        assert_eq!(open(&dk_new, case, "r", &sealed).unwrap(), NAME);

        // Running the rotation again leaves already re-wrapped keys alone.
        assert_eq!(rewrap(&old, &new, &wrapped_new, case).unwrap(), wrapped_new);
        // Once the old master is gone, the old wrapping is useless.
        assert!(matches!(
            unwrap(&new, &wrapped_old, case),
            Err(CryptoError::WrongMasterKey { .. })
        ));
    }

    #[test]
    fn data_key_debug_output_is_redacted() {
        assert_eq!(format!("{:?}", new_data_key()), "DataKey([REDACTED])");
    }
}
