-- The registers of Order 366 (projections crate, `projections/src/registers.rs`): the register of
-- applications and the register of issued certificates. Read models like those of 0004: written
-- in the same transaction as the events and rebuilt from the event log (`ptl projections
-- rebuild`). One text for both backends (identical in sqlite/ and postgres/).

-- One row per case: register number, date received, receiving office, how the application was
-- filed, and its outcome so far (the case's status and the date of its decision or closing).
CREATE TABLE IF NOT EXISTS application_register
(
    case_id           TEXT   NOT NULL PRIMARY KEY,
    register_no       TEXT   NOT NULL,
    received_on       TEXT   NOT NULL,
    -- The office that received the application (the register is kept by it) ...
    received_by       TEXT   NOT NULL,
    -- ... and the case's office now (the scope of the list, as the work queue's).
    office            TEXT   NOT NULL,
    ever_submitted_to TEXT   NOT NULL,
    filed_by          TEXT   NOT NULL,
    outcome           TEXT   NOT NULL,
    outcome_on        TEXT,
    last_sequence     BIGINT NOT NULL
);

CREATE INDEX IF NOT EXISTS application_register_order ON application_register (received_on, register_no);

-- One row per certificate issued: keyed by the event that issued it. A certificate number is
-- unique per issuing authority (`procedure.md`, step 7): the engine looks the number up before
-- a grant, and this unique index refuses a race between two grants (the command rolls back).
CREATE TABLE IF NOT EXISTS certificate_register
(
    case_id        TEXT   NOT NULL,
    sequence       BIGINT NOT NULL,
    authority      TEXT   NOT NULL,
    certificate_no TEXT   NOT NULL,
    issued_on      TEXT   NOT NULL,
    register_no    TEXT   NOT NULL,
    handed_over_on TEXT,
    PRIMARY KEY (case_id, sequence)
);

CREATE UNIQUE INDEX IF NOT EXISTS certificate_register_number ON certificate_register (authority, certificate_no);
CREATE INDEX IF NOT EXISTS certificate_register_order ON certificate_register (issued_on, authority, certificate_no);
