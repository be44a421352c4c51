-- The work queue page shows the count of each of its eight views over the caller's offices, on
-- every request. Counting them by a pass over `work_queue` costs time in proportion to the
-- offices' cases (7 ms for 10,000 on a 2-core machine), so on SQLite the counts are kept beside
-- the rows by triggers, in the transaction that writes the row, whatever path writes it (live
-- projection, rebuild, a restored file's catch-up): `projections::queries::queue_counts` and
-- `case_assignees` then read a few rows per office.
--
-- `work_queue_tally`: cases per office, stage and assignee ('' for nobody).
-- `work_queue_due_tally`: cases per office, earliest running deadline's due date and stage (only
-- cases with a running deadline), for the overdue and upcoming views, which depend on the day.
--
-- SQLite has one writer, so the triggers update the tallies directly. (On PostgreSQL, where
-- several API instances write at once, they append change rows instead: see its migration 0025.)
CREATE TABLE IF NOT EXISTS work_queue_tally
(
    office   TEXT   NOT NULL,
    stage    TEXT   NOT NULL,
    assignee TEXT   NOT NULL,
    cases    BIGINT NOT NULL,
    PRIMARY KEY (office, stage, assignee)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS work_queue_due_tally
(
    office      TEXT   NOT NULL,
    next_due_on TEXT   NOT NULL,
    stage       TEXT   NOT NULL,
    cases       BIGINT NOT NULL,
    PRIMARY KEY (office, next_due_on, stage)
) WITHOUT ROWID;

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

DROP TRIGGER IF EXISTS work_queue_tally_insert;
CREATE TRIGGER work_queue_tally_insert
    AFTER INSERT
    ON work_queue
BEGIN
    INSERT INTO work_queue_tally (office, stage, assignee, cases)
    VALUES (NEW.office, NEW.stage, COALESCE(NEW.assignee, ''), 1)
    ON CONFLICT (office, stage, assignee) DO UPDATE SET cases = cases + 1;
    INSERT INTO work_queue_due_tally (office, next_due_on, stage, cases)
    SELECT NEW.office, NEW.next_due_on, NEW.stage, 1
    WHERE NEW.next_due_on IS NOT NULL
    ON CONFLICT (office, next_due_on, stage) DO UPDATE SET cases = cases + 1;
END;

DROP TRIGGER IF EXISTS work_queue_tally_delete;
CREATE TRIGGER work_queue_tally_delete
    AFTER DELETE
    ON work_queue
BEGIN
    UPDATE work_queue_tally
    SET cases = cases - 1
    WHERE office = OLD.office
      AND stage = OLD.stage
      AND assignee = COALESCE(OLD.assignee, '');
    DELETE FROM work_queue_tally
    WHERE office = OLD.office
      AND stage = OLD.stage
      AND assignee = COALESCE(OLD.assignee, '')
      AND cases <= 0;
    UPDATE work_queue_due_tally
    SET cases = cases - 1
    WHERE office = OLD.office
      AND next_due_on = OLD.next_due_on
      AND stage = OLD.stage;
    DELETE FROM work_queue_due_tally
    WHERE office = OLD.office
      AND next_due_on = OLD.next_due_on
      AND stage = OLD.stage
      AND cases <= 0;
END;

-- An update moves the case from its old groups to its new ones, only when a grouped column
-- changed (most events change none of them).
DROP TRIGGER IF EXISTS work_queue_tally_update;
CREATE TRIGGER work_queue_tally_update
    AFTER UPDATE OF office, stage, assignee, next_due_on
    ON work_queue
    WHEN OLD.office IS NOT NEW.office
        OR OLD.stage IS NOT NEW.stage
        OR OLD.assignee IS NOT NEW.assignee
        OR OLD.next_due_on IS NOT NEW.next_due_on
BEGIN
    UPDATE work_queue_tally
    SET cases = cases - 1
    WHERE office = OLD.office
      AND stage = OLD.stage
      AND assignee = COALESCE(OLD.assignee, '');
    DELETE FROM work_queue_tally
    WHERE office = OLD.office
      AND stage = OLD.stage
      AND assignee = COALESCE(OLD.assignee, '')
      AND cases <= 0;
    INSERT INTO work_queue_tally (office, stage, assignee, cases)
    VALUES (NEW.office, NEW.stage, COALESCE(NEW.assignee, ''), 1)
    ON CONFLICT (office, stage, assignee) DO UPDATE SET cases = cases + 1;
    UPDATE work_queue_due_tally
    SET cases = cases - 1
    WHERE office = OLD.office
      AND next_due_on = OLD.next_due_on
      AND stage = OLD.stage;
    DELETE FROM work_queue_due_tally
    WHERE office = OLD.office
      AND next_due_on = OLD.next_due_on
      AND stage = OLD.stage
      AND cases <= 0;
    INSERT INTO work_queue_due_tally (office, next_due_on, stage, cases)
    SELECT NEW.office, NEW.next_due_on, NEW.stage, 1
    WHERE NEW.next_due_on IS NOT NULL
    ON CONFLICT (office, next_due_on, stage) DO UPDATE SET cases = cases + 1;
END;
