-- The work queue page shows the count of each of its eight views over the caller's offices, on
-- every request. Counting them by a pass over `work_queue` costs time in proportion to the
-- offices' cases, so the counts are kept beside the rows, by triggers, in the transaction that
-- writes the row, whatever path writes it (live projection, rebuild, catch-up):
-- `projections::queries::queue_counts` and `case_assignees` read a few rows per office.
--
-- `work_queue_tally`: cases per office, stage and assignee ('' for nobody).
-- `work_queue_due_tally`: cases per office, earliest running deadline's due date and stage (only
-- cases with a running deadline), for the overdue and upcoming views, which depend on the day.
--
-- Several API instances write at once here, and a count row shared by every case of an office and
-- stage would make each transaction of that office wait for the one before it to commit (and two
-- transactions moving cases in opposite directions deadlock). So the triggers only append change
-- rows (`work_queue_tally_changes`: -1 for the groups a case leaves, +1 for those it joins),
-- which lock nothing; a reader adds them to the tallies in the same statement, and
-- `projections::tally::fold_tally_changes` (run by `ptl serve` every second, one instance at a
-- time under an advisory lock) folds them in. SQLite, with its single writer, updates the
-- tallies directly (its own migration 0025).
CREATE TABLE IF NOT EXISTS work_queue_tally
(
    office   TEXT   NOT NULL,
    stage    TEXT   NOT NULL,
    assignee TEXT   NOT NULL,
    cases    BIGINT NOT NULL,
    PRIMARY KEY (office, stage, assignee)
);

CREATE TABLE IF NOT EXISTS work_queue_due_tally
(
    office      TEXT   NOT NULL,
    next_due_on TEXT   NOT NULL,
    stage       TEXT   NOT NULL,
    cases       BIGINT NOT NULL,
    PRIMARY KEY (office, next_due_on, stage)
);

CREATE TABLE IF NOT EXISTS work_queue_tally_changes
(
    office      TEXT   NOT NULL,
    stage       TEXT   NOT NULL,
    assignee    TEXT   NOT NULL,
    next_due_on TEXT,
    cases       BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS work_queue_tally_changes_office
    ON work_queue_tally_changes (office);
-- Its rows are deleted about as fast as they come: vacuum it after every thousand dead rows
-- rather than after a fifth of the table.
ALTER TABLE work_queue_tally_changes SET (autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 1000, autovacuum_analyze_scale_factor = 0,
    autovacuum_analyze_threshold = 1000);

-- The tallies of the rows already there (taken with the table locked against writes, so no
-- change is counted twice or missed).
LOCK TABLE work_queue IN SHARE MODE;
DELETE FROM work_queue_tally_changes;
DELETE FROM work_queue_tally;
INSERT INTO work_queue_tally (office, stage, assignee, cases)
SELECT office, stage, COALESCE(assignee, ''), COUNT(*)
FROM work_queue
GROUP BY office, stage, COALESCE(assignee, '');
DELETE FROM work_queue_due_tally;
INSERT INTO work_queue_due_tally (office, next_due_on, stage, cases)
SELECT office, next_due_on, stage, COUNT(*)
FROM work_queue
WHERE next_due_on IS NOT NULL
GROUP BY office, next_due_on, stage;

CREATE OR REPLACE FUNCTION work_queue_tally_change() RETURNS trigger
    LANGUAGE plpgsql AS
$$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO work_queue_tally_changes (office, stage, assignee, next_due_on, cases)
        VALUES (OLD.office, OLD.stage, COALESCE(OLD.assignee, ''), OLD.next_due_on, -1);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO work_queue_tally_changes (office, stage, assignee, next_due_on, cases)
        VALUES (NEW.office, NEW.stage, COALESCE(NEW.assignee, ''), NEW.next_due_on, 1);
    END IF;
    RETURN NULL;
END;
$$;

DROP TRIGGER IF EXISTS work_queue_tally_rows ON work_queue;
CREATE TRIGGER work_queue_tally_rows
    AFTER INSERT OR DELETE
    ON work_queue
    FOR EACH ROW
EXECUTE FUNCTION work_queue_tally_change();

-- An update moves the case only when a grouped column changed (most events change none).
DROP TRIGGER IF EXISTS work_queue_tally_update ON work_queue;
CREATE TRIGGER work_queue_tally_update
    AFTER UPDATE OF office, stage, assignee, next_due_on
    ON work_queue
    FOR EACH ROW
    WHEN (OLD.office IS DISTINCT FROM NEW.office
        OR OLD.stage IS DISTINCT FROM NEW.stage
        OR OLD.assignee IS DISTINCT FROM NEW.assignee
        OR OLD.next_due_on IS DISTINCT FROM NEW.next_due_on)
EXECUTE FUNCTION work_queue_tally_change();
