-- An erasure's security-log entry is written just after the erasure commits (the log's hash
-- chain reads its last entry, which the erasure's prepared rows cannot). The ledger row now
-- records when that entry was written, in the entry's own transaction, so that a start finds an
-- erasure whose entry a crash prevented and writes it then (`Engine::log_unlogged_erasures`).
-- Erasures already in the security log are marked; the others get their entry at the next start.
ALTER TABLE erasure_ledger ADD COLUMN IF NOT EXISTS security_logged_at BIGINT;
UPDATE erasure_ledger
SET security_logged_at = erased_at
WHERE EXISTS (SELECT 1
              FROM security_log s
              WHERE s.kind IN ('personal_data_erased', 'personal_data_erasure_repaired')
                AND strpos(s.detail, erasure_ledger.case_id) > 0);
