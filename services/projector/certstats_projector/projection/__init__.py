"""The projection: consumed events -> read-model writes, exactly once in effect (SPEC.md §2-§3).

``apply_batch`` writes one batch (dedup, read models, offsets, watermark) in one transaction;
``stored_offsets`` tells a consumer where to resume, ``stored_lag`` how far the partitions
of other consumers are behind; ``rebuild_summaries`` recomputes the
summary read models from scratch, ``catch_up_summaries`` those of the platforms whose
summaries batches deferred (catch-up mode).
"""

from .batch import AppliedBatch, InvalidSchemaName, apply_batch, stored_lag, stored_offsets
from .references import KnownUsers
from .summaries import (
    catch_up_summaries,
    deferred_platforms,
    every_platform_listed,
    rebuild_summaries,
    summary_slot,
)

__all__ = [
    "AppliedBatch",
    "InvalidSchemaName",
    "KnownUsers",
    "apply_batch",
    "catch_up_summaries",
    "deferred_platforms",
    "every_platform_listed",
    "rebuild_summaries",
    "stored_lag",
    "stored_offsets",
    "summary_slot",
]
