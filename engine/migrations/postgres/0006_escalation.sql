-- Escalation of missed deadlines (projections crate, `projections/src/project.rs`).
--
-- One text for both backends (this file is identical in sqlite/ and postgres/).
--
-- `first_missed_on`: the business date of the earliest `deadline_missed` event among the case's
-- deadlines still running (a miss stays running until the obligation is fulfilled late); NULL
-- when none. The escalation level (1 = supervisor of the office, 2 = regional office) is derived
-- from it against the caller's `today` at query time, never stored.
ALTER TABLE work_queue ADD COLUMN first_missed_on TEXT;

CREATE INDEX IF NOT EXISTS work_queue_first_missed_on ON work_queue (first_missed_on);

-- Webhook outbox: one row per recorded miss, written by the projector in the same transaction as
-- the `deadline_missed` event, delivered by `ptl_projections::webhook::WebhookSender` (retried
-- with exponential backoff, so nothing is lost across restarts). No personal data: ids, the
-- deadline's name and dates, the office. Not a read model: a rebuild neither clears nor refills it.
CREATE TABLE IF NOT EXISTS webhook_outbox
(
    case_id         TEXT   NOT NULL,
    sequence        BIGINT NOT NULL,
    deadline        TEXT   NOT NULL,
    due_on          TEXT   NOT NULL,
    missed_on       TEXT   NOT NULL,
    office          TEXT   NOT NULL,
    level           BIGINT NOT NULL,
    -- Instants: BIGINT microseconds since the Unix epoch (UTC).
    created_at      BIGINT NOT NULL,
    attempts        BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    delivered_at    BIGINT,
    last_error      TEXT,
    PRIMARY KEY (case_id, sequence)
);

CREATE INDEX IF NOT EXISTS webhook_outbox_pending ON webhook_outbox (next_attempt_at)
    WHERE delivered_at IS NULL;
