-- Snapshots of case states (engine/src/snapshot.rs).
--
-- One text for both backends (this file is identical in sqlite/ and postgres/).
--
-- Not a source of truth: the events are. A snapshot only spares a cold load the fold of a long
-- stream. It is written in the same transaction as the event that completes it, keyed to the
-- hash chain: `mac` = HMAC(hash key, chain hash of event `version`, format, case, version,
-- state), so a snapshot edited in the database, or left behind by other code (`format`), is
-- ignored and the stream replayed. One row per case: the latest snapshot replaces the previous.
CREATE TABLE IF NOT EXISTS case_snapshots
(
    case_id  TEXT   NOT NULL PRIMARY KEY,
    version  BIGINT NOT NULL,
    format   TEXT   NOT NULL,
    state    TEXT   NOT NULL,
    mac      TEXT   NOT NULL,
    taken_at BIGINT NOT NULL
);
