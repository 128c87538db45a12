-- The partition's high watermark as its instance knew it when it stored next_offset: any
-- instance can then read how far the others are behind (high_watermark - next_offset), and the
-- summaries' catch-up waits until the whole group is near caught up, not only its own partitions
-- (docs/DECISIONS.md "Deferred summaries"). NULL: stored before this column, or not known then.
ALTER TABLE consumer_offsets ADD COLUMN high_watermark bigint;
