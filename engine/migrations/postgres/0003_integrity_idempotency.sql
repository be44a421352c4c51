-- Tamper evidence: one row per event with its keyed hash (HMAC-SHA-256 over the previous hash and
-- the event's RFC 8785 canonical content; the key lives outside the database). Written by the
-- engine's transactional handler in the same transaction as the event.
CREATE TABLE IF NOT EXISTS event_integrity
(
    case_id   TEXT   NOT NULL,
    sequence  BIGINT NOT NULL,
    event_id  TEXT   NOT NULL,
    hash      TEXT   NOT NULL,
    prev_hash TEXT,
    PRIMARY KEY (case_id, sequence)
);

-- Idempotency keys, scoped to the caller. Written in the same transaction as the events, so a
-- command committed whose acknowledgement never reached the client is recognised on retry.
CREATE TABLE IF NOT EXISTS idempotency_keys
(
    scope       TEXT   NOT NULL,
    idem_key    TEXT   NOT NULL,
    fingerprint TEXT   NOT NULL,
    case_id     TEXT   NOT NULL,
    version     BIGINT NOT NULL,
    status      BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (scope, idem_key)
);

-- Register numbers: `<office>-<year>-<6-digit sequence>`.
CREATE TABLE IF NOT EXISTS register_counters
(
    office TEXT    NOT NULL,
    year   INTEGER NOT NULL,
    last   BIGINT  NOT NULL,
    PRIMARY KEY (office, year)
);

-- Revoked token ids (`ptl token revoke <jti>`).
CREATE TABLE IF NOT EXISTS revoked_tokens
(
    jti        TEXT   NOT NULL PRIMARY KEY,
    revoked_at BIGINT NOT NULL
);
