-- Secondary indexes a rebuild dropped from its building generation while replaying into it, with
-- their definitions (pg_get_indexdef), to create in bulk once the replay and the summaries'
-- catch-up are done, before the promotion (docs/DECISIONS.md "Deferred indexes of a building
-- generation"). Empty in a current generation.
CREATE TABLE deferred_indexes (
    index_name  text NOT NULL PRIMARY KEY,
    table_name  text NOT NULL,
    definition  text NOT NULL
);
