-- The erasure ledger keeps why and, after a repair, when the start-up check found the case's key
-- still readable (engine/src/vault.rs, "Erasure").
--
--   * category: the event's reason category (`retention_ended`, `person_request`, ...); NULL for
--     erasures recorded before it existed and for re-applied ones;
--   * reason_key_id, reason: the free-text reason sealed under the master key (AES-256-GCM,
--     bound to the case), re-sealed by `ptl keys rotate` like the case keys; not under the
--     case's data key, which the same erasure destroys;
--   * repaired_at: set when a case whose history says erased still had a readable key (a crash
--     between the two steps of the code before erasure was one transaction) and the key was
--     destroyed at start or by `ptl verify`.
ALTER TABLE erasure_ledger ADD COLUMN IF NOT EXISTS category TEXT;
ALTER TABLE erasure_ledger ADD COLUMN IF NOT EXISTS reason_key_id TEXT;
ALTER TABLE erasure_ledger ADD COLUMN IF NOT EXISTS reason BYTEA;
ALTER TABLE erasure_ledger ADD COLUMN IF NOT EXISTS repaired_at BIGINT;
