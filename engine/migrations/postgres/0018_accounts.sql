-- The web application's accounts, sessions and security log (`engine/src/accounts.rs`,
-- `engine/src/security.rs`). One text for both backends (identical in sqlite/ and postgres/).

-- Local accounts (and accounts first seen through single sign-on, without a password). The login
-- is stored lower-cased; the password as an Argon2id PHC string computed by the API crate.
CREATE TABLE IF NOT EXISTS users
(
    id                   TEXT    NOT NULL PRIMARY KEY,
    login                TEXT    NOT NULL UNIQUE,
    display_name         TEXT    NOT NULL,
    role                 TEXT    NOT NULL,
    office               TEXT    NOT NULL,
    password_hash        TEXT,
    must_change_password BOOLEAN NOT NULL,
    disabled             BOOLEAN NOT NULL,
    sso                  BOOLEAN NOT NULL,
    -- Consecutive failed sign-ins, reset by a successful one; the lock's end (µs since the epoch).
    failed_signins       BIGINT  NOT NULL,
    locked_until         BIGINT,
    -- The confidentiality undertaking last acknowledged: its text version and when.
    undertaking_version  TEXT,
    undertaking_at       BIGINT,
    created_at           BIGINT  NOT NULL,
    updated_at           BIGINT  NOT NULL
);

-- Every acknowledgement of the undertaking (user, text version, time), kept.
CREATE TABLE IF NOT EXISTS undertaking_acks
(
    user_id TEXT   NOT NULL,
    version TEXT   NOT NULL,
    at      BIGINT NOT NULL,
    PRIMARY KEY (user_id, version, at)
);

-- Server-side sessions: the cookie carries a random token, the table only its SHA-256, so a copy
-- of the database opens no session.
CREATE TABLE IF NOT EXISTS web_sessions
(
    id_hash      TEXT   NOT NULL PRIMARY KEY,
    user_id      TEXT   NOT NULL,
    csrf_token   TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    ended_at     BIGINT,
    address      TEXT
);

CREATE INDEX IF NOT EXISTS web_sessions_user ON web_sessions (user_id);

-- Failed sign-ins by address (µs since the epoch), for the per-address lock.
CREATE TABLE IF NOT EXISTS signin_failures
(
    address TEXT   NOT NULL,
    at      BIGINT NOT NULL
);

CREATE INDEX IF NOT EXISTS signin_failures_address ON signin_failures (address, at);

-- The security log: sign-ins, failures, locks, sign-outs, password and account changes, exports.
-- One hash chain over the whole log (gapless `seq` from 1, each hash keyed by the installation's
-- hash key over the canonical entry and the previous hash), like the events and the access log.
CREATE TABLE IF NOT EXISTS security_log
(
    seq       BIGINT NOT NULL PRIMARY KEY,
    at        BIGINT NOT NULL,
    kind      TEXT   NOT NULL,
    actor     TEXT,
    address   TEXT,
    outcome   TEXT   NOT NULL,
    detail    TEXT   NOT NULL,
    hash      TEXT   NOT NULL,
    prev_hash TEXT
);
