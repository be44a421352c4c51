-- The work queue's own order (projections crate, `projections/src/queries.rs`, `list_cases`):
-- earliest next due date first, cases with nothing due last ('9999-12-31'), then case id. With
-- this index a page of an office's queue is read in order and the scan stops after the page;
-- without it every read sorted all of the office's cases. The expression must stay the query's
-- text exactly.
CREATE INDEX IF NOT EXISTS work_queue_office_order
    ON work_queue (office, COALESCE(next_due_on, '9999-12-31'), case_id);
