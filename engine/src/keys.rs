//! Key material that lives **outside** the database.
//!
//! Why outside: the database holds the event history, the wrapped (encrypted)
//! per-case data keys and the keyed search hashes. If the keys that protect
//! those were stored in the same database, anyone able to write to it (a
//! compromised service account, a restored backup, a careless migration) could
//! decrypt every case, recompute a valid hash chain over forged events and
//! re-derive search hashes. Keeping the keys in files (or environment
//! variables in production) separates "can write rows" from "can produce valid
//! ciphertext and hashes".
//!
//! The key ring holds four secrets:
//!
//! * the **master key** (AES-256), which only wraps the small per-case data
//!   keys (see `crypto.rs`); its id (`mk-<8 hex>`) is a keyed fingerprint of
//!   the key itself, so every wrapped data key can record which master key
//!   wrapped it;
//! * the **hash key** (HMAC-SHA-256) for the event hash chain and access log;
//! * the **search key** (HMAC-SHA-256) for keyed hashes of identity fields;
//! * the **JWT secret** for signing session tokens.
//!
//! Files are `master.key`, `hash.key`, `search.key` and `jwt.secret` in the
//! data directory, hex-encoded, mode `0600`. They are created on first start
//! and refused if group- or world-accessible. The environment variables
//! `PTL_MASTER_KEY`, `PTL_HASH_KEY`, `PTL_SEARCH_KEY` and `PTL_JWT_SECRET`
//! (hex) take precedence over the files.
//!
//! Master key rotation is two-phase so that a crash can never lose the key
//! that some data keys are wrapped with: [`prepare_rotation`] writes
//! `master.key.next`, the caller re-wraps every data key in one database
//! transaction, and [`commit_rotation`] renames `master.key.next` over
//! `master.key`. While `master.key.next` exists, [`load_or_create`] refuses to
//! start and tells the operator to finish the rotation.

use std::fmt;
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use hmac::Mac;
use rand::rngs::OsRng;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretBox, SecretSlice};
use zeroize::Zeroizing;

use super::integrity::keyed_hmac;

/// Length in bytes of the master, hash and search keys.
pub const KEY_LEN: usize = 32;
/// Length in bytes of a freshly generated JWT secret.
pub const JWT_SECRET_LEN: usize = 64;
/// Minimum accepted length in bytes of a JWT secret loaded from a file or the
/// environment.
pub const JWT_SECRET_MIN_LEN: usize = 32;

/// File name of the master key in the data directory.
pub const MASTER_KEY_FILE: &str = "master.key";
/// File name of the next master key while a rotation is in progress.
pub const MASTER_KEY_NEXT_FILE: &str = "master.key.next";
/// File name of the hash-chain key.
pub const HASH_KEY_FILE: &str = "hash.key";
/// File name of the search-hash key.
pub const SEARCH_KEY_FILE: &str = "search.key";
/// File name of the JWT signing secret.
pub const JWT_SECRET_FILE: &str = "jwt.secret";

/// Environment variable overriding `master.key` (hex, 32 bytes).
pub const ENV_MASTER_KEY: &str = "PTL_MASTER_KEY";
/// Environment variable overriding `hash.key` (hex, 32 bytes).
pub const ENV_HASH_KEY: &str = "PTL_HASH_KEY";
/// Environment variable overriding `search.key` (hex, 32 bytes).
pub const ENV_SEARCH_KEY: &str = "PTL_SEARCH_KEY";
/// Environment variable overriding `jwt.secret` (hex, at least 32 bytes).
pub const ENV_JWT_SECRET: &str = "PTL_JWT_SECRET";

/// Errors while loading, creating or rotating key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// An I/O operation on a key file or the data directory failed.
    #[error("key file {path}: {source}")]
    Io {
        /// File or directory involved.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: io::Error,
    },
    /// A key file can be read by its group or by others.
    #[error(
        "key file {path} is accessible by group or others (mode {mode:03o}); \
         restrict it with `chmod 600 {path}`"
    )]
    InsecurePermissions {
        /// The offending file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A key path exists but is not a regular file.
    #[error("key path {path} is not a regular file")]
    NotAFile {
        /// The offending path.
        path: PathBuf,
    },
    /// A key file or environment variable does not contain valid key material.
    #[error("key from {origin} is malformed: {reason}")]
    Malformed {
        /// File path or environment variable name.
        origin: String,
        /// What is wrong (never contains key material).
        reason: String,
    },
    /// Keys were needed from files but no data directory was given.
    #[error("no data directory given and environment variable(s) {} not set", .names.join(", "))]
    MissingKey {
        /// Environment variables that would have supplied the missing keys.
        names: Vec<String>,
    },
    /// Some key files exist and others do not; creating the missing ones
    /// would silently invalidate existing data, so start-up is refused.
    #[error(
        "incomplete key set in data directory: missing {} while {} exist; \
         restore the missing file(s) from backup (new keys would not match existing data)",
        display_paths(.missing), display_paths(.present)
    )]
    IncompleteKeySet {
        /// Key files that exist.
        present: Vec<PathBuf>,
        /// Key files that are missing.
        missing: Vec<PathBuf>,
    },
    /// `master.key.next` exists: a master key rotation was interrupted.
    #[error(
        "master key rotation was interrupted: {path} exists; \
         run `ptl keys rotate` again to finish it before starting the service"
    )]
    RotationPending {
        /// Path of the `master.key.next` file.
        path: PathBuf,
    },
    /// [`commit_rotation`] was called but there is no `master.key.next`.
    #[error("no master key rotation in progress: {path} does not exist")]
    NoPendingRotation {
        /// Path of the expected `master.key.next` file.
        path: PathBuf,
    },
    /// [`commit_rotation`] found a different next key than the caller
    /// re-wrapped the data keys with.
    #[error("pending master key is {found}, but the data keys were re-wrapped with {expected}")]
    RotationMismatch {
        /// Id the caller re-wrapped with.
        expected: String,
        /// Id of the key in `master.key.next`.
        found: String,
    },
    /// [`prepare_rotation`] needs an existing `master.key`.
    #[error("no master key file at {path}; rotation needs the current key")]
    NoMasterKeyFile {
        /// Path of the expected `master.key`.
        path: PathBuf,
    },
}

fn display_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The AES-256 master key that wraps per-case data keys, with its id.
///
/// The id is `mk-` followed by the first 4 bytes (8 hex digits) of
/// HMAC-SHA-256(key, `"ptl-master-key-id-v1"`): stable for a given key,
/// without revealing it, and needing no extra storage.
pub struct MasterKey {
    id: String,
    key: SecretBox<[u8; KEY_LEN]>,
}

impl MasterKey {
    /// Generates a new random master key from the operating system RNG.
    #[must_use]
    pub fn generate() -> Self {
        let key = SecretBox::init_with_mut(|k: &mut [u8; KEY_LEN]| OsRng.fill_bytes(k));
        Self::from_secret(key)
    }

    /// Builds a master key from raw bytes (for example from a key management
    /// system). The caller should zeroize its copy.
    #[must_use]
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        let mut bytes = Zeroizing::new(bytes);
        let key = SecretBox::init_with_mut(|k: &mut [u8; KEY_LEN]| k.copy_from_slice(&*bytes));
        zeroize::Zeroize::zeroize(&mut *bytes);
        Self::from_secret(key)
    }

    fn from_secret(key: SecretBox<[u8; KEY_LEN]>) -> Self {
        let id = master_key_id(key.expose_secret());
        Self { id, key }
    }

    /// The key id, `mk-<8 hex>`.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The raw key bytes, for the envelope-encryption module only.
    pub(crate) fn expose(&self) -> &[u8; KEY_LEN] {
        self.key.expose_secret()
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey")
            .field("id", &self.id)
            .field("key", &"[REDACTED]")
            .finish()
    }
}

fn master_key_id(key: &[u8; KEY_LEN]) -> String {
    let mut mac = keyed_hmac(key);
    mac.update(b"ptl-master-key-id-v1");
    let tag = mac.finalize().into_bytes();
    format!("mk-{}", hex::encode(&tag[..4]))
}

/// All secrets the engine needs, loaded from files and/or the environment.
///
/// `Debug` prints only the master key id.
pub struct KeyRing {
    master: MasterKey,
    hash_key: SecretBox<[u8; KEY_LEN]>,
    search_key: SecretBox<[u8; KEY_LEN]>,
    jwt_secret: SecretSlice<u8>,
}

impl KeyRing {
    /// Assembles a key ring from parts (for a key management system or tests).
    #[must_use]
    pub fn from_parts(
        master: MasterKey,
        hash_key: [u8; KEY_LEN],
        search_key: [u8; KEY_LEN],
        jwt_secret: Vec<u8>,
    ) -> Self {
        let hash_key = Zeroizing::new(hash_key);
        let search_key = Zeroizing::new(search_key);
        Self {
            master,
            hash_key: SecretBox::init_with_mut(|k: &mut [u8; KEY_LEN]| {
                k.copy_from_slice(&*hash_key)
            }),
            search_key: SecretBox::init_with_mut(|k: &mut [u8; KEY_LEN]| {
                k.copy_from_slice(&*search_key)
            }),
            jwt_secret: SecretSlice::from(jwt_secret),
        }
    }

    /// Generates an ephemeral in-memory key ring with random keys. For tests
    /// and throw-away development instances only: nothing is persisted.
    #[must_use]
    pub fn generate() -> Self {
        let mut jwt = vec![0u8; JWT_SECRET_LEN];
        OsRng.fill_bytes(&mut jwt);
        Self {
            master: MasterKey::generate(),
            hash_key: random_key(),
            search_key: random_key(),
            jwt_secret: SecretSlice::from(jwt),
        }
    }

    /// The master key that wraps per-case data keys.
    #[must_use]
    pub fn master(&self) -> &MasterKey {
        &self.master
    }

    /// The HMAC key for the event hash chain and the access log.
    #[must_use]
    pub fn hash_key(&self) -> &[u8; KEY_LEN] {
        self.hash_key.expose_secret()
    }

    /// The HMAC key for keyed hashes of identity fields.
    #[must_use]
    pub fn search_key(&self) -> &[u8; KEY_LEN] {
        self.search_key.expose_secret()
    }

    /// The JWT signing secret.
    #[must_use]
    pub fn jwt_secret(&self) -> &[u8] {
        self.jwt_secret.expose_secret()
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("master", &self.master)
            .field("hash_key", &"[REDACTED]")
            .field("search_key", &"[REDACTED]")
            .field("jwt_secret", &"[REDACTED]")
            .finish()
    }
}

fn random_key() -> SecretBox<[u8; KEY_LEN]> {
    SecretBox::init_with_mut(|k: &mut [u8; KEY_LEN]| OsRng.fill_bytes(k))
}

/// Loads the key ring from `data_dir`, creating the key files on first start,
/// with the process environment (`PTL_*` variables) taking precedence.
///
/// Returns the key ring and the paths of the files it created (empty when all
/// keys already existed or came from the environment), so the caller can log
/// "created new keys, back them up".
///
/// # Errors
///
/// See [`from_sources`].
pub fn load_or_create(data_dir: &Path) -> Result<(KeyRing, Vec<PathBuf>), KeyError> {
    from_sources(Some(data_dir), &|name| std::env::var(name).ok())
}

#[derive(Clone, Copy)]
enum Slot {
    Master,
    Hash,
    Search,
    Jwt,
}

impl Slot {
    const ALL: [Slot; 4] = [Slot::Master, Slot::Hash, Slot::Search, Slot::Jwt];

    fn env_name(self) -> &'static str {
        match self {
            Slot::Master => ENV_MASTER_KEY,
            Slot::Hash => ENV_HASH_KEY,
            Slot::Search => ENV_SEARCH_KEY,
            Slot::Jwt => ENV_JWT_SECRET,
        }
    }

    fn file_name(self) -> &'static str {
        match self {
            Slot::Master => MASTER_KEY_FILE,
            Slot::Hash => HASH_KEY_FILE,
            Slot::Search => SEARCH_KEY_FILE,
            Slot::Jwt => JWT_SECRET_FILE,
        }
    }

    fn generate_len(self) -> usize {
        match self {
            Slot::Jwt => JWT_SECRET_LEN,
            _ => KEY_LEN,
        }
    }
}

/// Loads the key ring from an optional data directory and an environment
/// lookup function (inject a closure in tests; [`load_or_create`] passes
/// `std::env::var`).
///
/// For each key, a non-empty environment variable wins over the file. Keys not
/// given by the environment are read from `data_dir`; if **none** of those
/// files exists they are all created (mode `0600`, never overwriting an
/// existing file, safe against a concurrent start). If only some exist,
/// start-up is refused rather than silently generating a key that would not
/// match existing data.
///
/// When the master key comes from the data directory and `master.key.next`
/// exists there, an interrupted rotation is reported.
///
/// # Errors
///
/// * [`KeyError::MissingKey`]: a key is not in the environment and no
///   `data_dir` was given;
/// * [`KeyError::RotationPending`]: `master.key.next` exists;
/// * [`KeyError::IncompleteKeySet`]: some key files are missing;
/// * [`KeyError::InsecurePermissions`]: a key file is group/world-accessible;
/// * [`KeyError::Malformed`]: a key is not hex or has the wrong length;
/// * [`KeyError::Io`], [`KeyError::NotAFile`]: file system problems.
pub fn from_sources(
    data_dir: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(KeyRing, Vec<PathBuf>), KeyError> {
    // Raw key bytes per slot, in `Slot::ALL` order.
    let mut values: Vec<Option<Zeroizing<Vec<u8>>>> = Vec::with_capacity(4);
    for slot in Slot::ALL {
        let value = match env(slot.env_name()).map(Zeroizing::new) {
            Some(v) if !v.trim().is_empty() => Some(parse_key(slot, slot.env_name(), &v)?),
            _ => None,
        };
        values.push(value);
    }

    let from_files: Vec<Slot> = Slot::ALL
        .iter()
        .zip(&values)
        .filter(|(_, v)| v.is_none())
        .map(|(s, _)| *s)
        .collect();

    let mut created = Vec::new();
    if !from_files.is_empty() {
        let Some(dir) = data_dir else {
            return Err(KeyError::MissingKey {
                names: from_files.iter().map(|s| s.env_name().to_owned()).collect(),
            });
        };
        if from_files.iter().any(|s| matches!(s, Slot::Master)) {
            let next = dir.join(MASTER_KEY_NEXT_FILE);
            if exists(&next)? {
                return Err(KeyError::RotationPending { path: next });
            }
        }
        ensure_dir(dir)?;

        let mut present = Vec::new();
        let mut missing = Vec::new();
        for slot in &from_files {
            let path = dir.join(slot.file_name());
            if exists(&path)? {
                present.push(path);
            } else {
                missing.push(path);
            }
        }
        if !present.is_empty() && !missing.is_empty() {
            return Err(KeyError::IncompleteKeySet { present, missing });
        }
        if present.is_empty() {
            for slot in &from_files {
                let path = dir.join(slot.file_name());
                let mut bytes = Zeroizing::new(vec![0u8; slot.generate_len()]);
                OsRng.fill_bytes(&mut bytes);
                if write_new_secret_file(&path, &bytes)? {
                    created.push(path);
                }
            }
        }

        // Always read back from disk: if another process won a creation race,
        // its key is the one that counts.
        for (slot, value) in Slot::ALL.iter().zip(values.iter_mut()) {
            if value.is_none() {
                let path = dir.join(slot.file_name());
                let text = read_secret_file(&path)?;
                *value = Some(parse_key(*slot, &path.display().to_string(), &text)?);
            }
        }
    }

    let mut it = values.into_iter().flatten();
    let (Some(master), Some(hash), Some(search), Some(jwt)) =
        (it.next(), it.next(), it.next(), it.next())
    else {
        // Every slot was filled from the environment or a file above.
        return Err(KeyError::MissingKey {
            names: Slot::ALL.iter().map(|s| s.env_name().to_owned()).collect(),
        });
    };

    let ring = KeyRing {
        master: MasterKey::from_secret(fixed_secret(&master)),
        hash_key: fixed_secret(&hash),
        search_key: fixed_secret(&search),
        jwt_secret: SecretSlice::from(jwt.to_vec()),
    };
    Ok((ring, created))
}

/// Copies bytes already length-checked by [`parse_key`] into a boxed secret.
fn fixed_secret(bytes: &[u8]) -> SecretBox<[u8; KEY_LEN]> {
    SecretBox::init_with_mut(|k: &mut [u8; KEY_LEN]| {
        let n = bytes.len().min(KEY_LEN);
        k[..n].copy_from_slice(&bytes[..n]);
    })
}

fn parse_key(slot: Slot, origin: &str, text: &str) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let bytes = Zeroizing::new(hex::decode(text.trim()).map_err(|e| KeyError::Malformed {
        origin: origin.to_owned(),
        reason: format!("not hex ({e})"),
    })?);
    let ok = match slot {
        Slot::Jwt => bytes.len() >= JWT_SECRET_MIN_LEN,
        _ => bytes.len() == KEY_LEN,
    };
    if !ok {
        let expected = match slot {
            Slot::Jwt => format!("at least {JWT_SECRET_MIN_LEN}"),
            _ => KEY_LEN.to_string(),
        };
        return Err(KeyError::Malformed {
            origin: origin.to_owned(),
            reason: format!("{} bytes, expected {expected}", bytes.len()),
        });
    }
    Ok(bytes)
}

fn exists(path: &Path) -> Result<bool, KeyError> {
    match fs::symlink_metadata(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_err(path)(e)),
    }
}

fn ensure_dir(dir: &Path) -> Result<(), KeyError> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io_err(dir))
}

fn sync_dir(dir: &Path) -> Result<(), KeyError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}

/// Reads a key file, refusing it if it is not a regular file or is
/// accessible by group or others. Permissions are checked on the opened
/// handle, so the file cannot be swapped between check and read.
fn read_secret_file(path: &Path) -> Result<Zeroizing<String>, KeyError> {
    let mut file = File::open(path).map_err(io_err(path))?;
    let meta = file.metadata().map_err(io_err(path))?;
    if !meta.is_file() {
        return Err(KeyError::NotAFile {
            path: path.to_path_buf(),
        });
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyError::InsecurePermissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    let capacity = usize::try_from(meta.len()).unwrap_or(0).saturating_add(1);
    let mut text = Zeroizing::new(String::with_capacity(capacity));
    file.read_to_string(&mut text).map_err(io_err(path))?;
    Ok(text)
}

/// Writes `bytes` hex-encoded to `path` with mode `0600`, never overwriting.
///
/// The content goes to a uniquely named temporary file (created with
/// `create_new` and mode `0600`, fsynced), which is then hard-linked to
/// `path`. `link` fails if `path` exists, so a concurrent writer can never be
/// overwritten and no reader ever sees a half-written file. Returns `false`
/// when `path` already existed (another process won the race).
fn write_new_secret_file(path: &Path, bytes: &[u8]) -> Result<bool, KeyError> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut suffix = [0u8; 8];
    OsRng.fill_bytes(&mut suffix);
    let tmp = dir.join(format!(".{file_name}.tmp-{}", hex::encode(suffix)));

    let mut contents = Zeroizing::new(hex::encode(bytes));
    contents.push('\n');
    let write = || -> io::Result<()> {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(contents.as_bytes())?;
        f.sync_all()
    };
    if let Err(e) = write() {
        let _ = fs::remove_file(&tmp);
        return Err(io_err(&tmp)(e));
    }
    let linked = fs::hard_link(&tmp, path);
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            sync_dir(dir)?;
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(io_err(path)(e)),
    }
}

fn read_master_file(path: &Path) -> Result<MasterKey, KeyError> {
    let text = read_secret_file(path)?;
    let bytes = parse_key(Slot::Master, &path.display().to_string(), &text)?;
    Ok(MasterKey::from_secret(fixed_secret(&bytes)))
}

/// The hash key alone (`PTL_HASH_KEY`, else `hash.key` in `data_dir`), for a tool that must
/// write to a hash chain while the master key is being rotated (`ptl keys rotate` logs the
/// rotation in the security log), when [`load_or_create`] would refuse the pending rotation.
///
/// # Errors
///
/// The file errors of [`from_sources`]; [`KeyError::Malformed`] for a bad key.
pub fn load_hash_key(data_dir: &Path) -> Result<Zeroizing<[u8; KEY_LEN]>, KeyError> {
    let bytes = match std::env::var(ENV_HASH_KEY).map(Zeroizing::new) {
        Ok(v) if !v.trim().is_empty() => parse_key(Slot::Hash, ENV_HASH_KEY, &v)?,
        _ => {
            let path = data_dir.join(HASH_KEY_FILE);
            let text = read_secret_file(&path)?;
            parse_key(Slot::Hash, &path.display().to_string(), &text)?
        }
    };
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    let n = bytes.len().min(KEY_LEN);
    key[..n].copy_from_slice(&bytes[..n]);
    Ok(key)
}

/// Phase one of `ptl keys rotate`: returns `(current, next)` master keys.
///
/// Writes a new random key to `master.key.next` (mode `0600`). If that file
/// already exists (an earlier rotation crashed), it is **reused**, never
/// replaced: some data keys may already be wrapped with it.
///
/// The caller must then, in one database transaction, re-wrap every data key
/// whose `master_key_id` is `current.id()` with `next` (keys already carrying
/// `next.id()` are left alone; see `crypto::rewrap`), commit, and only then
/// call [`commit_rotation`] with `next.id()`.
///
/// This works on the data directory only; a master key supplied through
/// `PTL_MASTER_KEY` is rotated by the operator's secret store.
///
/// # Errors
///
/// [`KeyError::NoMasterKeyFile`] if `master.key` is missing, and the file
/// errors of [`from_sources`] for either file.
pub fn prepare_rotation(data_dir: &Path) -> Result<(MasterKey, MasterKey), KeyError> {
    let current_path = data_dir.join(MASTER_KEY_FILE);
    if !exists(&current_path)? {
        return Err(KeyError::NoMasterKeyFile { path: current_path });
    }
    let current = read_master_file(&current_path)?;
    let next_path = data_dir.join(MASTER_KEY_NEXT_FILE);
    if !exists(&next_path)? {
        // A new key whose id collides with the current one (chance 2^-32)
        // would make re-wrapped and old keys indistinguishable: draw again.
        let next = loop {
            let k = MasterKey::generate();
            if k.id() != current.id() {
                break k;
            }
        };
        // `false` means a concurrent rotation created the file first: we read
        // that one back below.
        write_new_secret_file(&next_path, next.expose())?;
    }
    let next = read_master_file(&next_path)?;
    Ok((current, next))
}

/// Phase two of `ptl keys rotate`: atomically renames `master.key.next` over
/// `master.key` after checking that it holds the key with id `next_id` (the
/// one the caller re-wrapped the data keys with).
///
/// Call only after the re-wrapping transaction has committed. The old master
/// key is then gone from the data directory, which also makes wrapped keys in
/// old database backups unreadable (erasure reaches backups).
///
/// # Errors
///
/// [`KeyError::NoPendingRotation`] if there is no `master.key.next`,
/// [`KeyError::RotationMismatch`] if its id differs from `next_id`, and file
/// errors.
pub fn commit_rotation(data_dir: &Path, next_id: &str) -> Result<(), KeyError> {
    let next_path = data_dir.join(MASTER_KEY_NEXT_FILE);
    if !exists(&next_path)? {
        return Err(KeyError::NoPendingRotation { path: next_path });
    }
    let next = read_master_file(&next_path)?;
    if next.id() != next_id {
        return Err(KeyError::RotationMismatch {
            expected: next_id.to_owned(),
            found: next.id().to_owned(),
        });
    }
    let current_path = data_dir.join(MASTER_KEY_FILE);
    fs::rename(&next_path, &current_path).map_err(io_err(&current_path))?;
    sync_dir(data_dir)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use std::collections::HashMap;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn mode_of(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn first_start_creates_four_key_files_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let (ring, created) = from_sources(Some(dir.path()), &no_env).unwrap();
        assert_eq!(created.len(), 4);
        for name in [
            MASTER_KEY_FILE,
            HASH_KEY_FILE,
            SEARCH_KEY_FILE,
            JWT_SECRET_FILE,
        ] {
            let path = dir.path().join(name);
            assert!(created.contains(&path), "{name} not reported as created");
            assert_eq!(mode_of(&path), 0o600, "{name}");
        }
        assert!(ring.master().id().starts_with("mk-"));
        assert_eq!(ring.master().id().len(), 11);
        assert_eq!(ring.jwt_secret().len(), JWT_SECRET_LEN);
        // No temporary files are left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 4);
    }

    #[test]
    fn second_start_loads_the_same_keys_and_creates_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (first, _) = from_sources(Some(dir.path()), &no_env).unwrap();
        let (second, created) = load_or_create(dir.path()).unwrap();
        assert!(created.is_empty());
        assert_eq!(first.master().id(), second.master().id());
        assert_eq!(first.hash_key(), second.hash_key());
        assert_eq!(first.search_key(), second.search_key());
        assert_eq!(first.jwt_secret(), second.jwt_secret());
    }

    #[test]
    fn a_group_readable_key_file_is_refused_with_a_chmod_hint() {
        let dir = tempfile::tempdir().unwrap();
        from_sources(Some(dir.path()), &no_env).unwrap();
        let path = dir.path().join(HASH_KEY_FILE);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        let err = from_sources(Some(dir.path()), &no_env).unwrap_err();
        assert!(matches!(
            err,
            KeyError::InsecurePermissions { mode: 0o640, .. }
        ));
        let msg = err.to_string();
        assert!(msg.contains("hash.key"), "{msg}");
        assert!(msg.contains("chmod 600"), "{msg}");
    }

    #[test]
    fn a_world_readable_key_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        from_sources(Some(dir.path()), &no_env).unwrap();
        let path = dir.path().join(MASTER_KEY_FILE);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o604)).unwrap();
        assert!(matches!(
            from_sources(Some(dir.path()), &no_env),
            Err(KeyError::InsecurePermissions { .. })
        ));
    }

    #[test]
    fn environment_variables_take_precedence_over_files() {
        let dir = tempfile::tempdir().unwrap();
        let (from_file, _) = from_sources(Some(dir.path()), &no_env).unwrap();
        let env: HashMap<&str, String> = HashMap::from([
            (ENV_MASTER_KEY, "11".repeat(32)),
            (ENV_SEARCH_KEY, "22".repeat(32)),
        ]);
        let lookup = |k: &str| env.get(k).cloned();
        let (ring, created) = from_sources(Some(dir.path()), &lookup).unwrap();
        assert!(created.is_empty());
        assert_eq!(ring.master().id(), MasterKey::from_bytes([0x11; 32]).id());
        assert_eq!(ring.search_key(), &[0x22; 32]);
        assert_eq!(ring.hash_key(), from_file.hash_key());
    }

    #[test]
    fn all_keys_from_the_environment_need_no_data_directory() {
        let env: HashMap<&str, String> = HashMap::from([
            (ENV_MASTER_KEY, "01".repeat(32)),
            (ENV_HASH_KEY, "02".repeat(32)),
            (ENV_SEARCH_KEY, "03".repeat(32)),
            (ENV_JWT_SECRET, "04".repeat(48)),
        ]);
        let lookup = |k: &str| env.get(k).cloned();
        let (ring, created) = from_sources(None, &lookup).unwrap();
        assert!(created.is_empty());
        assert_eq!(ring.hash_key(), &[2; 32]);
        assert_eq!(ring.jwt_secret(), &[4; 48][..]);
    }

    #[test]
    fn a_missing_environment_key_without_data_directory_names_the_variable() {
        let env: HashMap<&str, String> = HashMap::from([
            (ENV_MASTER_KEY, "01".repeat(32)),
            (ENV_HASH_KEY, "02".repeat(32)),
            (ENV_SEARCH_KEY, "03".repeat(32)),
        ]);
        let lookup = |k: &str| env.get(k).cloned();
        let err = from_sources(None, &lookup).unwrap_err();
        assert!(err.to_string().contains(ENV_JWT_SECRET), "{err}");
    }

    #[test]
    fn a_malformed_environment_key_is_refused_without_echoing_it() {
        let env: HashMap<&str, String> = HashMap::from([(ENV_HASH_KEY, "abcd".repeat(4))]);
        let lookup = |k: &str| env.get(k).cloned();
        let dir = tempfile::tempdir().unwrap();
        let err = from_sources(Some(dir.path()), &lookup).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(ENV_HASH_KEY), "{msg}");
        assert!(!msg.contains("abcdabcd"), "{msg}");
    }

    #[test]
    fn a_partly_missing_key_set_is_refused_instead_of_regenerated() {
        let dir = tempfile::tempdir().unwrap();
        from_sources(Some(dir.path()), &no_env).unwrap();
        fs::remove_file(dir.path().join(SEARCH_KEY_FILE)).unwrap();
        let err = from_sources(Some(dir.path()), &no_env).unwrap_err();
        assert!(matches!(err, KeyError::IncompleteKeySet { .. }), "{err}");
        assert!(!dir.path().join(SEARCH_KEY_FILE).exists());
    }

    #[test]
    fn debug_output_never_shows_key_material() {
        let ring = KeyRing::from_parts(
            MasterKey::from_bytes([0xAB; 32]),
            [0xCD; 32],
            [0xEF; 32],
            vec![0x42; 32],
        );
        let shown = format!("{ring:?}");
        assert!(shown.contains("[REDACTED]"));
        assert!(shown.contains(ring.master().id()));
        for needle in [
            "ab, ab", "171", "abab", "205", "cdcd", "239", "efef", "66, 66",
        ] {
            assert!(!shown.to_lowercase().contains(needle), "{shown}");
        }
    }

    #[test]
    fn master_key_ids_are_stable_and_differ_between_keys() {
        let a = MasterKey::from_bytes([1; 32]);
        let b = MasterKey::from_bytes([1; 32]);
        let c = MasterKey::from_bytes([2; 32]);
        assert_eq!(a.id(), b.id());
        assert_ne!(a.id(), c.id());
    }

    #[test]
    fn rotation_writes_next_then_commit_replaces_the_master_key() {
        let dir = tempfile::tempdir().unwrap();
        let (ring, _) = from_sources(Some(dir.path()), &no_env).unwrap();
        let (old, new) = prepare_rotation(dir.path()).unwrap();
        assert_eq!(old.id(), ring.master().id());
        assert_ne!(old.id(), new.id());
        let next_path = dir.path().join(MASTER_KEY_NEXT_FILE);
        assert_eq!(mode_of(&next_path), 0o600);

        commit_rotation(dir.path(), new.id()).unwrap();
        assert!(!next_path.exists());
        let (after, created) = from_sources(Some(dir.path()), &no_env).unwrap();
        assert!(created.is_empty());
        assert_eq!(after.master().id(), new.id());
        assert_eq!(after.hash_key(), ring.hash_key());
    }

    #[test]
    fn an_interrupted_rotation_blocks_start_up_and_is_resumed_with_the_same_next_key() {
        let dir = tempfile::tempdir().unwrap();
        from_sources(Some(dir.path()), &no_env).unwrap();
        let (_, first_next) = prepare_rotation(dir.path()).unwrap();
        // Crash here: the service must not start with only the old key.
        let err = from_sources(Some(dir.path()), &no_env).unwrap_err();
        assert!(matches!(err, KeyError::RotationPending { .. }));
        assert!(err.to_string().contains("ptl keys rotate"), "{err}");
        // Re-running rotate reuses the pending key rather than replacing it.
        let (_, second_next) = prepare_rotation(dir.path()).unwrap();
        assert_eq!(first_next.id(), second_next.id());
        commit_rotation(dir.path(), second_next.id()).unwrap();
        assert!(from_sources(Some(dir.path()), &no_env).is_ok());
    }

    #[test]
    fn commit_refuses_a_next_key_other_than_the_one_used_for_rewrapping() {
        let dir = tempfile::tempdir().unwrap();
        from_sources(Some(dir.path()), &no_env).unwrap();
        prepare_rotation(dir.path()).unwrap();
        let err = commit_rotation(dir.path(), "mk-00000000").unwrap_err();
        assert!(matches!(err, KeyError::RotationMismatch { .. }));
        assert!(dir.path().join(MASTER_KEY_NEXT_FILE).exists());
    }

    #[test]
    fn commit_without_a_prepared_rotation_fails() {
        let dir = tempfile::tempdir().unwrap();
        from_sources(Some(dir.path()), &no_env).unwrap();
        assert!(matches!(
            commit_rotation(dir.path(), "mk-00000000"),
            Err(KeyError::NoPendingRotation { .. })
        ));
    }

    #[test]
    fn writing_a_key_file_never_overwrites_an_existing_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.key");
        assert!(write_new_secret_file(&path, &[1; 32]).unwrap());
        assert!(!write_new_secret_file(&path, &[2; 32]).unwrap());
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(text.trim(), "01".repeat(32));
    }
}
