-- Event ids are opaque: compare them bytewise. The dedup insert of every batch probes this
-- primary key once per event, and "C" comparisons are cheaper than the database's collation.
ALTER TABLE applied_events
    ALTER COLUMN platform_id TYPE text COLLATE "C",
    ALTER COLUMN event_id TYPE text COLLATE "C";
