-- The signed checkpoint of the global log (issue 16): its length, and the chain head of every case
-- (its last sequence and hash), so that deleting the last events of a chain or a whole case, which
-- the hash chains alone cannot show, is reported by `ptl verify` and the integrity report. Kept
-- outside the event tables; the row's signature is an HMAC under a key derived from the hash key
-- (outside the database), over the length, the number of cases and a hash over the heads.
CREATE TABLE IF NOT EXISTS log_checkpoint
(
    id         BIGINT NOT NULL PRIMARY KEY,
    epoch      BIGINT NOT NULL,
    seq        BIGINT NOT NULL,
    at         BIGINT NOT NULL,
    events     BIGINT NOT NULL,
    cases      BIGINT NOT NULL,
    heads_hash TEXT   NOT NULL,
    signature  TEXT   NOT NULL
);

CREATE TABLE IF NOT EXISTS log_checkpoint_heads
(
    case_id  TEXT   NOT NULL PRIMARY KEY,
    sequence BIGINT NOT NULL,
    hash     TEXT   NOT NULL
);

-- Integrity reports (verifying every case in a scope), run in the background by one instance and
-- read by all: progress while running, the whole report as JSON when done.
CREATE TABLE IF NOT EXISTS integrity_reports
(
    id           TEXT   NOT NULL PRIMARY KEY,
    requested_by TEXT   NOT NULL,
    scope        TEXT   NOT NULL,
    status       TEXT   NOT NULL,
    started_at   BIGINT NOT NULL,
    heartbeat    BIGINT NOT NULL,
    finished_at  BIGINT,
    total        BIGINT NOT NULL,
    done         BIGINT NOT NULL,
    events       BIGINT NOT NULL,
    invalid      BIGINT NOT NULL,
    result       TEXT
);
