-- What operators read (`GET /api/v1/status`, `/readyz`, `ptl status`; projections/src/ops.rs).
-- One text for both backends (identical in sqlite/ and postgres/). Instants: BIGINT
-- microseconds since the Unix epoch (UTC).

-- The last rebuild or catch-up of each read model (`ptl projections rebuild|catch-up`), written
-- by the run itself after each batch, so that every instance on the store sees that a read
-- model is not complete yet. A model without a row, or whose row is `done`, is kept in the same
-- transaction as the events.
CREATE TABLE IF NOT EXISTS projection_runs
(
    model       TEXT   NOT NULL PRIMARY KEY,
    -- `rebuild` or `catch_up`.
    mode        TEXT   NOT NULL,
    -- `running`, `done` or `failed`.
    state       TEXT   NOT NULL,
    started_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    finished_at BIGINT,
    -- Events applied so far, and the events in the log when the run started.
    applied     BIGINT NOT NULL,
    target      BIGINT NOT NULL,
    -- The global position of the last event applied, and when that event was recorded.
    position    BIGINT NOT NULL,
    position_at BIGINT,
    last_error  TEXT
);

-- The legal clock's last run (the deadline scheduler of `ptl serve`, or `ptl deadlines run`):
-- one row.
CREATE TABLE IF NOT EXISTS clock_runs
(
    id            BIGINT NOT NULL PRIMARY KEY,
    last_run_at   BIGINT NOT NULL,
    next_wake_at  BIGINT,
    -- The Kyiv date of `records_today`, and the records written on it.
    day           TEXT   NOT NULL,
    records_today BIGINT NOT NULL,
    last_error    TEXT
);
