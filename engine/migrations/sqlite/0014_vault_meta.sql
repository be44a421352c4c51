-- Facts about the vault's derived tables, by name. `person_index_normalisation`: the version of
-- the name normalisation the person index was built with (`integrity::NORMALISATION_VERSION`);
-- when the code's version differs, the engine rebuilds the index from the vault at start.
CREATE TABLE IF NOT EXISTS vault_meta
(
    name  TEXT    NOT NULL PRIMARY KEY,
    value INTEGER NOT NULL
) STRICT;
