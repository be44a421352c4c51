-- Facts about the vault's derived tables, by name. `person_index_normalisation`: the version of
-- the name normalisation the person index was built with (`integrity::NORMALISATION_VERSION`);
-- when the code's version differs, the engine rebuilds the index from the vault at start.
CREATE TABLE IF NOT EXISTS vault_meta
(
    name  TEXT   NOT NULL PRIMARY KEY,
    value BIGINT NOT NULL
);

-- An index that holds entries now was built with normalisation 1 (before versions were
-- recorded): the next start rebuilds it. An empty one is current (normalisation 2, the version
-- when this migration was written): whatever indexes it from now on uses the code's version.
INSERT INTO vault_meta (name, value)
SELECT 'person_index_normalisation', CASE WHEN EXISTS (SELECT 1 FROM person_index) THEN 1 ELSE 2 END
WHERE true
ON CONFLICT (name) DO NOTHING;
