"""Rebuild without downtime: replay every subscribed topic into a new read-model generation,
then promote it atomically and drop the old one (SPEC.md section 6).

1. Take the rebuild lock (one rebuild per database); resume the ``building`` generation if
   one exists (an interrupted rebuild), else create one.
2. Replay (:class:`~certstats_projector.replay.Replayer`) up to the live generation's stored
   offsets, re-reading them until fewer than ``tail_max`` records remain: the live projector
   and the query API keep working on the current generation meanwhile. Batches defer the
   summary refresh (unless ``summary_deferral_lag`` is None), and one catch-up rebuilds the
   summaries once replayed (docs/DECISIONS.md "Deferred summaries"). The secondary indexes
   that neither uses are dropped before the replay and created again after the catch-up
   (:mod:`~certstats_projector.deferred_indexes`), then the tables are analyzed.
3. Promote in one transaction holding the generation lock exclusively (live batches wait):
   apply the last records up to the live offsets, which are final under the lock, and flip
   ``current``. The query API sees the old or the new generation, never a mix; the live
   projector resumes on the new one from the same offsets (``BatchApplier`` follows).
4. Drop the old generation once no transaction begun before the promotion is running.

Cancelling (Ctrl-C) at any point before the promotion commits leaves the current generation
untouched and the building one with its committed batches; ``rebuild`` again resumes it.
"""

from __future__ import annotations

import gc
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg
import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition

from certstats_projector import generations, promotion
from certstats_projector.consumer import pooled
from certstats_projector.deferral import catch_up
from certstats_projector.deferred_indexes import (
    create_deferred_indexes,
    defer_indexes,
    deferrable,
)
from certstats_projector.projection import stored_offsets
from certstats_projector.projection.summaries import ANALYZED_BY_CATCH_UP
from certstats_projector.replay import Offsets, Replayer, topic_partitions
from certstats_projector.settings import ProjectorSettings

log = structlog.get_logger("certstats.rebuild")

REBUILD_LOCK = 0x63657262
"""Session advisory lock key held by the running rebuild."""

_BUILDING_SQL = (
    f"SELECT schema_name FROM {generations.META_SCHEMA}.generations"
    " WHERE state = 'building' ORDER BY generation DESC LIMIT 1"
)


class RebuildBusy(RuntimeError):
    """Another rebuild is running on this database."""


@dataclass(frozen=True)
class RebuildProgress:
    """Where a rebuild stands. Offsets are summed over every partition (≈ records).

    ``done``: next offsets stored in the building generation; ``target``: the live
    generation's (it moves while the live projector runs); ``resumed_from``: ``done`` when
    this run started; ``elapsed_s``: seconds since this run started; ``promoted``: the
    building generation is current now (only the old one's drop is left).
    """

    schema: str
    done: int
    target: int
    resumed_from: int
    elapsed_s: float
    promoted: bool = False

    @property
    def rate(self) -> float:
        """Records replayed per second in this run."""
        return (self.done - self.resumed_from) / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        """Seconds left at the current rate (None before the first batch)."""
        return max(self.target - self.done, 0) / self.rate if self.rate > 0 else None


@dataclass(frozen=True)
class RebuildResult:
    """A finished rebuild: the promoted ``schema``, the dropped ``retired`` one, whether it
    ``resumed`` an earlier run, records replayed by this run, and its duration (s)."""

    schema: str
    retired: str
    resumed: bool
    replayed: int
    seconds: float


class _Reporter:
    """Builds :class:`RebuildProgress` snapshots for the ``on_progress`` callback."""

    def __init__(self, schema: str, on_progress: Callable[[RebuildProgress], None]) -> None:
        self.schema, self._on_progress = schema, on_progress
        self.started, self.resumed_from, self.done, self.target = time.monotonic(), 0, 0, 0
        self.promoted = False

    def report(self, done: int | None = None, target: int | None = None) -> None:
        self.done = self.done if done is None else done
        self.target = self.target if target is None else target
        elapsed = time.monotonic() - self.started
        self._on_progress(
            RebuildProgress(
                self.schema, self.done, self.target, self.resumed_from, elapsed, self.promoted
            )
        )


async def rebuild(
    settings: ProjectorSettings,
    on_progress: Callable[[RebuildProgress], None] = lambda progress: None,
    *,
    batch_max_records: int = 10_000,
    tail_max: int | None = None,
    drop_wait_s: float = 60.0,
) -> RebuildResult:
    """Rebuild the read models of ``settings.topics`` into a new generation and promote it.

    ``tail_max`` (default ``batch_max_records``): most records left to apply under the
    generation lock; ``drop_wait_s``: longest wait for old transactions before the drop.

    Raises:
        RebuildBusy: another rebuild holds the rebuild lock.
        MissingTopics: a subscribed topic does not exist (checked first: nothing created).
        LogBehindTarget: a partition lost records the live generation consumed.
        asyncpg.PostgresError, aiokafka.errors.KafkaError, OSError: the rebuild stopped;
            run it again to resume.
    """
    if settings.gc_gen0_threshold is not None:  # as the live projector (many short-lived objects)
        gc.freeze()
        gc.set_threshold(settings.gc_gen0_threshold, 20, 100)
    partitions = await topic_partitions(settings.kafka_bootstrap_servers, settings.topics)
    async with _rebuild_lock(settings.database_url) as conn:
        schema, resumed = await _building_generation(conn)
        reporter = _Reporter(schema, on_progress)
        size = settings.commit_lanes + 1
        pool = await asyncpg.create_pool(settings.database_url, min_size=1, max_size=size)
        try:
            retired = await _replay_and_promote(
                settings, partitions, pool, reporter, batch_max_records, tail_max
            )
        finally:
            await pool.close()
        reporter.promoted = True
        reporter.report()
        await promotion.drop_when_unread(conn, retired, wait_s=drop_wait_s)
    seconds = time.monotonic() - reporter.started
    return RebuildResult(schema, retired, resumed, reporter.done - reporter.resumed_from, seconds)


@asynccontextmanager
async def _rebuild_lock(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection holding the rebuild lock (released when the connection closes)."""
    conn = await asyncpg.connect(database_url)
    try:
        if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", REBUILD_LOCK):
            raise RebuildBusy("another rebuild is running on this database")
        yield conn
    finally:
        await conn.close()


async def _building_generation(conn: asyncpg.Connection) -> tuple[str, bool]:
    """Migrate, drop orphan schemas, then (the building generation's schema, resumed?): the
    newest building generation if one exists, else a new one."""
    await generations.migrate(conn)
    await promotion.drop_orphans(conn)
    schema: str | None = await conn.fetchval(_BUILDING_SQL)
    if schema is not None:
        return schema, True
    return await generations.create_building_generation(conn), False


async def _replay_and_promote(
    settings: ProjectorSettings,
    partitions: Sequence[TopicPartition],
    pool: asyncpg.Pool,
    reporter: _Reporter,
    batch_max_records: int,
    tail_max: int | None,
) -> str:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        enable_auto_commit=False,
        max_partition_fetch_bytes=settings.max_partition_fetch_bytes,
        fetch_max_bytes=settings.fetch_max_bytes,
    )
    await consumer.start()
    try:
        replayer = Replayer(
            consumer,
            pool,
            reporter.schema,
            batch_max_records,
            lambda: reporter.report(replayer.done),
            lanes=settings.commit_lanes,
        )
        await replayer.assign(partitions)
        reporter.resumed_from = replayer.done
        replayer.defer_summaries = settings.summary_deferral_lag is not None
        async with pooled(pool) as conn:
            await defer_indexes(conn, reporter.schema, deferrable(replayer.defer_summaries))
        await _catch_up(pool, replayer, settings.topics, reporter, tail_max or batch_max_records)
        replayer.defer_summaries = False  # the tail, applied at the promotion, refreshes
        started = time.perf_counter()
        caught_up = await catch_up(lambda: pooled(pool), reporter.schema)
        caught_up_at = time.perf_counter()
        indexes = await create_deferred_indexes(
            lambda: pooled(pool), reporter.schema, pool.get_max_size()
        )
        indexed_at = time.perf_counter()
        await _analyze(pool, reporter.schema, skip=ANALYZED_BY_CATCH_UP if caught_up else ())
        log.info(
            "rebuild replayed",
            summaries_caught_up_s=round(caught_up_at - started, 2),
            indexes_created=len(indexes),
            indexes_s=round(indexed_at - caught_up_at, 2),
            analyze_s=round(time.perf_counter() - indexed_at, 2),
        )
        return await _promote(pool, replayer, settings.topics, reporter)
    finally:
        await consumer.stop()


async def _catch_up(
    pool: asyncpg.Pool,
    replayer: Replayer,
    topics: Sequence[str],
    reporter: _Reporter,
    tail_max: int,
) -> None:
    """Replay to the live offsets, re-read, until at most ``tail_max`` records remain."""
    while True:
        targets = await _live_offsets(pool, topics)
        reporter.report(replayer.done, sum(targets.values()))
        if replayer.remaining(targets) <= tail_max:
            return
        await replayer.replay_to(targets)


async def _analyze(pool: asyncpg.Pool, schema: str, skip: Sequence[str] = ()) -> None:
    """Collect the planner statistics of the building generation before it goes live: its
    tables were filled faster than autovacuum looks, and the live projector's and the API's
    statements would otherwise plan on guesses for a while after the promotion. ``skip``:
    tables analyzed already (by the summaries' catch-up)."""
    async with pooled(pool) as conn:
        tables = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = $1", schema)
        for row in tables:
            if row["tablename"] not in skip:
                await conn.execute(f'ANALYZE "{schema}"."{row["tablename"]}"')


async def _live_offsets(pool: asyncpg.Pool, topics: Sequence[str]) -> Offsets:
    async with pooled(pool) as conn:
        return await stored_offsets(conn, await generations.current_schema(conn), topics)


async def _promote(
    pool: asyncpg.Pool, replayer: Replayer, topics: Sequence[str], reporter: _Reporter
) -> str:
    """Apply the tail and flip ``current`` in one transaction; returns the retired schema."""
    async with pooled(pool) as conn, conn.transaction():
        await promotion.lock_generations(conn)
        targets = await stored_offsets(conn, await generations.current_schema(conn), topics)
        reporter.report(target=sum(targets.values()))
        await replayer.replay_to(targets, conn)
        return await promotion.make_current(conn, reporter.schema)
