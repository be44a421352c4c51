-- Personal-data vault (see engine/src/vault.rs).
--
-- Envelope encryption: every case has one data key, stored only wrapped (encrypted) by the
-- master key, which lives outside the database. Personal records are sealed with the case's
-- data key. Erasure destroys the wrapped key (wrapped = NULL) and leaves the ciphertext, the
-- events and the access log in place: the history stays verifiable, the data is unreadable.
--
-- Ids are text (hyphenated UUIDs), times BIGINT microseconds since the Unix epoch, UTC.

CREATE TABLE IF NOT EXISTS case_keys
(
    case_id       TEXT    NOT NULL PRIMARY KEY,
    master_key_id TEXT,
    wrapped       BYTEA,
    erased_at     BIGINT,
    -- Live: a wrapped key and no erasure time. Erased: no key, an erasure time.
    CHECK ((wrapped IS NULL) = (erased_at IS NOT NULL)),
    CHECK (wrapped IS NULL OR master_key_id IS NOT NULL)
);

CREATE TABLE IF NOT EXISTS personal_records
(
    case_id    TEXT    NOT NULL,
    record_id  TEXT    NOT NULL,
    ciphertext BYTEA    NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (case_id, record_id)
);

-- Keyed hash (search.key, outside the database) of normalised name + birth date.
CREATE TABLE IF NOT EXISTS person_index
(
    search_hash TEXT NOT NULL,
    case_id     TEXT NOT NULL,
    PRIMARY KEY (search_hash, case_id)
);

CREATE INDEX IF NOT EXISTS person_index_case_id ON person_index (case_id);

-- Every read of personal data, HMAC-chained per case (seq is gapless from 1).
CREATE TABLE IF NOT EXISTS access_log
(
    case_id   TEXT    NOT NULL,
    seq       BIGINT NOT NULL CHECK (seq >= 1),
    at        BIGINT NOT NULL,
    sub       TEXT    NOT NULL,
    role      TEXT    NOT NULL,
    office    TEXT,
    reason    TEXT,
    what      TEXT    NOT NULL,
    hash      TEXT    NOT NULL,
    prev_hash TEXT,
    PRIMARY KEY (case_id, seq)
);

-- Erasures, re-applied at start (together with the erasures.log file in the data directory,
-- which survives a database restore).
CREATE TABLE IF NOT EXISTS erasure_ledger
(
    case_id   TEXT    NOT NULL PRIMARY KEY,
    erased_at BIGINT NOT NULL,
    by_sub    TEXT    NOT NULL
);
