-- Event store for the `case` aggregate, owned by our migrations (esrs's PgStore is built
-- with `without_running_migrations()`).
--
-- The first columns, the primary key and both indexes are exactly what esrs 0.18 creates
-- (src/sql/postgres/migrations/01..04 with {0} = case_events), so esrs's statements
-- (`INSERT ... (id, aggregate_id, payload, occurred_on, sequence_number, version)`,
-- `SELECT * ... WHERE aggregate_id = $1 ORDER BY sequence_number`) work unchanged.
--
-- Two extra columns, filled by defaults because esrs names its insert columns:
--   * global_position: insert order across all cases (NOT commit order);
--   * xact_id: the inserting top-level transaction id. The global log reads only rows whose
--     transaction is older than the snapshot xmin and orders by (xact_id, global_position),
--     which is a commit-safe order (see engine/src/store/global_log.rs).
CREATE TABLE IF NOT EXISTS case_events
(
    id uuid NOT NULL,
    aggregate_id uuid NOT NULL,
    payload jsonb NOT NULL,
    occurred_on TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    sequence_number INT NOT NULL DEFAULT 1,
    CONSTRAINT case_events_pkey PRIMARY KEY (id)
);

CREATE INDEX IF NOT EXISTS case_events_aggregate_id ON case_events(aggregate_id);

CREATE UNIQUE INDEX IF NOT EXISTS case_events_aggregate_id_sequence_number ON case_events(aggregate_id, sequence_number);

ALTER TABLE case_events ADD COLUMN IF NOT EXISTS version INTEGER;

ALTER TABLE case_events ADD COLUMN IF NOT EXISTS global_position BIGINT GENERATED ALWAYS AS IDENTITY;

ALTER TABLE case_events ADD COLUMN IF NOT EXISTS xact_id xid8 NOT NULL DEFAULT pg_current_xact_id();

CREATE UNIQUE INDEX IF NOT EXISTS case_events_global_position ON case_events(global_position);

CREATE INDEX IF NOT EXISTS case_events_xact_id_global_position ON case_events(xact_id, global_position);
