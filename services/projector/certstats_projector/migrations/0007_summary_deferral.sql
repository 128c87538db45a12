-- Catch-up mode (docs/DECISIONS.md "Deferred summaries"): while the projector is far behind its
-- topics, batches skip the per-batch summary refresh and list their platforms here; once caught
-- up, one set-based rebuild recomputes those platforms' summaries and deletes their rows. The
-- query API answers a listed platform from its normalized SQL (exact, slower) meanwhile.
CREATE TABLE summary_deferred (
    platform_id text        NOT NULL PRIMARY KEY,
    since       timestamptz NOT NULL DEFAULT now()
);
