-- Event store for the `case` aggregate (esrs aggregate NAME = "case").
--
-- Mirrors the columns of esrs's PostgreSQL `{NAME}_events` table, adapted to SQLite:
--   * ids are hyphenated UUID text,
--   * payload is JSON text (checked with json_valid),
--   * occurred_on is INTEGER microseconds since the Unix epoch, UTC (esrs stores
--     persistence time here; business time lives in the payloads),
--   * global_position is the rowid. AUTOINCREMENT guarantees a rowid is never reused,
--     even after the newest row is deleted, so the global log cursor never goes back.
--     All writers hold the database write lock (BEGIN IMMEDIATE) before a rowid is
--     allocated, so rowid order is commit order.
CREATE TABLE IF NOT EXISTS case_events
(
    global_position INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT    NOT NULL UNIQUE,
    aggregate_id    TEXT    NOT NULL,
    payload         TEXT    NOT NULL CHECK (json_valid(payload)),
    occurred_on     INTEGER NOT NULL,
    sequence_number INTEGER NOT NULL CHECK (sequence_number >= 1),
    version         INTEGER
) STRICT;

-- Optimistic concurrency: two writers that loaded the same aggregate version cannot both
-- append the same sequence number. Also serves lookups by aggregate_id (leading column).
CREATE UNIQUE INDEX IF NOT EXISTS case_events_aggregate_id_sequence_number
    ON case_events (aggregate_id, sequence_number);
