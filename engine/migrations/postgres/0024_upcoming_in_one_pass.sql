-- The work queue page counts all eight views, the upcoming one included, in one pass over the
-- caller's offices (`projections::queries::queue_counts`). A case is upcoming when a running
-- deadline falls due between today and the window's end: when its earliest running deadline
-- (`next_due_on`) is not overdue that is a test on the index alone; only for a case with an
-- overdue deadline are its other running deadlines looked up, by case. The view index gains the
-- case id so that the pass can stay on the index, and the running deadlines get an index by case
-- for that lookup.
DROP INDEX IF EXISTS work_queue_views;
CREATE INDEX IF NOT EXISTS work_queue_views
    ON work_queue (office, stage, assignee, next_due_on, case_id);
CREATE INDEX IF NOT EXISTS deadlines_running_by_case
    ON deadlines (case_id, due_on)
    WHERE fulfilled_on IS NULL AND cancelled_on IS NULL;
