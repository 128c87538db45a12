-- Secondary indexes a rebuild dropped from its building generation while replaying into it, with
-- their definitions (pg_get_indexdef), to create in bulk once the replay and the summaries'
-- catch-up are done, before the promotion (docs/DECISIONS.md "Deferred indexes of a building
-- generation"). In a current generation, only the two summary indexes a catch-up of every
-- platform drops for its rebuild (docs/DECISIONS.md "Deferred summaries").
CREATE TABLE deferred_indexes (
    index_name  text NOT NULL PRIMARY KEY,
    table_name  text NOT NULL,
    definition  text NOT NULL
);
