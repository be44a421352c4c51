-- Read models (projections crate, `projections/src/project.rs`), written by the engine's
-- transactional handler in the same transaction as the events, and rebuilt from the event log by
-- `ptl_projections::rebuild`. Nothing here is a source of truth: every row can be deleted and
-- recomputed. Every row keeps the sequence of the last event it applied (`last_sequence`) and an
-- upsert only wins when its sequence is greater, so replays and rebuilds are harmless.
--
-- One text for both backends (this file is identical in sqlite/ and postgres/): ids are hyphenated
-- UUID text, business dates are `YYYY-MM-DD` text (sorts and compares as dates), instants BIGINT
-- microseconds since the Unix epoch (UTC). Overdue / upcoming are never stored: they are computed
-- against the caller's `today` at query time.

-- The work queue: one row per case (`GET /api/v1/cases`).
CREATE TABLE IF NOT EXISTS work_queue
(
    case_id           TEXT    NOT NULL PRIMARY KEY,
    register_no       TEXT    NOT NULL,
    office            TEXT    NOT NULL,
    stage             TEXT    NOT NULL,
    status            TEXT    NOT NULL,
    assignee          TEXT,
    procedure_id      TEXT    NOT NULL,
    received_on       TEXT    NOT NULL,
    child             BOOLEAN NOT NULL,
    foreigner         BOOLEAN NOT NULL,
    -- The deciding authority the file is with now, and every one it was ever submitted to
    -- (`,UA-MSP,UA-NSS,`: the scope of a deciding authority's officers, matched with LIKE).
    submitted_to      TEXT,
    ever_submitted_to TEXT    NOT NULL,
    -- Earliest due date among deadlines neither fulfilled nor cancelled (a recorded miss stays
    -- here until the obligation is fulfilled); NULL when none.
    next_due_on       TEXT,
    open_deadlines    BIGINT  NOT NULL,
    missed_recorded   BIGINT  NOT NULL,
    last_sequence     BIGINT  NOT NULL,
    -- Recorded time of the last event applied.
    updated_at        BIGINT  NOT NULL
);

CREATE INDEX IF NOT EXISTS work_queue_office ON work_queue (office, next_due_on);
CREATE INDEX IF NOT EXISTS work_queue_stage ON work_queue (stage);
CREATE INDEX IF NOT EXISTS work_queue_status ON work_queue (status);
CREATE INDEX IF NOT EXISTS work_queue_assignee ON work_queue (assignee);
CREATE INDEX IF NOT EXISTS work_queue_next_due_on ON work_queue (next_due_on);

-- One row per (case, deadline name): the current instance of each deadline, at rest. The state
-- shown to readers (open / met / missed / cancelled) is derived at query time against today.
CREATE TABLE IF NOT EXISTS deadlines
(
    case_id         TEXT    NOT NULL,
    name            TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    start_on        TEXT    NOT NULL,
    due_on          TEXT    NOT NULL,
    fulfilled_on    TEXT,
    cancelled_on    TEXT,
    missed_recorded BOOLEAN NOT NULL,
    -- The case's office (changes on transfer).
    office          TEXT    NOT NULL,
    last_sequence   BIGINT  NOT NULL,
    PRIMARY KEY (case_id, name)
);

-- The deadline scheduler's index: open deadlines by due date.
CREATE INDEX IF NOT EXISTS deadlines_open_due_on ON deadlines (due_on)
    WHERE fulfilled_on IS NULL AND cancelled_on IS NULL;
CREATE INDEX IF NOT EXISTS deadlines_office_due_on ON deadlines (office, due_on);

-- Statistics: one row of facts per case ...
CREATE TABLE IF NOT EXISTS case_facts
(
    case_id              TEXT    NOT NULL PRIMARY KEY,
    office               TEXT    NOT NULL,
    received_on          TEXT    NOT NULL,
    child                BOOLEAN NOT NULL,
    foreigner            BOOLEAN NOT NULL,
    citizenship          TEXT    NOT NULL,
    sex                  TEXT    NOT NULL,
    birth_year           BIGINT  NOT NULL,
    filed_by             TEXT    NOT NULL,
    referral_source      TEXT,
    exploitation_forms   TEXT    NOT NULL,
    exploitation_country TEXT    NOT NULL,
    procedure_id         TEXT    NOT NULL,
    ever_submitted_to    TEXT    NOT NULL,
    first_decided_on     TEXT,
    -- first decision date - received_on, in days (median time to decision).
    decided_days         BIGINT,
    last_sequence        BIGINT  NOT NULL
);

CREATE INDEX IF NOT EXISTS case_facts_office ON case_facts (office);

-- ... and one row per dated milestone. Figures are aggregated from these rows at query time.
-- `office` is the case's office when the milestone happened. Besides the report's kinds, `closed`
-- (withdrawal or expiry) dates the end of a case for the stock figures as of a past date.
CREATE TABLE IF NOT EXISTS case_milestones
(
    case_id  TEXT   NOT NULL,
    sequence BIGINT NOT NULL,
    kind     TEXT   NOT NULL,
    on_date  TEXT   NOT NULL,
    office   TEXT   NOT NULL,
    PRIMARY KEY (case_id, sequence, kind)
);

CREATE INDEX IF NOT EXISTS case_milestones_kind_on_date ON case_milestones (kind, on_date);
CREATE INDEX IF NOT EXISTS case_milestones_office_on_date ON case_milestones (office, on_date);
