-- The work queue page counts its views (open, mine, unassigned, overdue, submitted, returned,
-- closed) in one pass over the caller's offices (`projections::queries::queue_counts`): this index
-- covers every column that pass reads, so it never touches the table's rows.
CREATE INDEX IF NOT EXISTS work_queue_views ON work_queue (office, stage, assignee, next_due_on);
