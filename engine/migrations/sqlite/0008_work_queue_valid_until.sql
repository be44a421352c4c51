-- The status validity in the work queue (projections crate, `projections/src/project.rs`), so
-- that the deadline scheduler finds expiring statuses by an index instead of reading every event
-- of every granted case (which it did after each command).
--
-- `valid_until`: the case's current `valid_until` (end of a limited status), NULL when none.
-- Rows written before this migration are filled from the latest recorded `valid_until` of the
-- case's events; the scheduler confirms every candidate on the case's state, so such a value is
-- only ever a candidate. A rebuild writes the exact value.
ALTER TABLE work_queue ADD COLUMN valid_until TEXT;

UPDATE work_queue SET valid_until = (
    SELECT json_extract(e.payload, '$.body.data.valid_until')
    FROM case_events e
    WHERE e.aggregate_id = work_queue.case_id
      AND json_extract(e.payload, '$.body.data.valid_until') IS NOT NULL
    ORDER BY e.sequence_number DESC
    LIMIT 1
);

CREATE INDEX IF NOT EXISTS work_queue_status_valid_until ON work_queue (status, valid_until);
