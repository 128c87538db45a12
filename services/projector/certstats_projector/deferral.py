"""Catch-up mode of the summary read models (docs/DECISIONS.md "Deferred summaries").

While the projector is far behind its topics (a replay, a rebuild, a first start on a
backlog), refreshing the summaries batch by batch recomputes the same learners again and
again, and costs PostgreSQL more than every other write of the batch together. So a batch
committed while the lag exceeds ``threshold`` defers the refresh (its platforms are listed in
``summary_deferred``, the query API answers them from the normalized tables meanwhile), and
once the lag is back at or under a tenth of it, one set-based rebuild per listing catches them
up (:func:`~certstats_projector.projection.catch_up_summaries`). Between the two, batches
refresh, which leaves out the learners of listed platforms: the catch-up waits for the last
stretch, and a platform another instance has caught up meanwhile is not listed again (each
instance decides to defer on the lag of its own partitions).

The catch-up waits for the whole consumer group: its own lag plus the other instances' (each
partition's high watermark stored with its offset, as of its last commit) must be under the
bar. An instance that caught up its own partitions first would otherwise rebuild while the
others still have a long stretch to apply, which after the rebuild is refreshed batch by batch,
about three times the PostgreSQL work of a deferred batch per event.

When every platform is listed (a replay, a first start on a backlog), nothing reads the query
API's indexes of ``certificate_learners`` until the catch-up ends: the API answers listed
platforms from the normalized tables. The live projector's catch-up then drops them before its
rebuild and creates them after it (one sort each instead of an index insertion per row),
recorded in ``deferred_indexes`` so that a run stopped in between creates them at its next
start (:mod:`certstats_projector.deferred_indexes`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from functools import partial

import asyncpg
import structlog

from certstats_projector.deferred_indexes import create_deferred_indexes, defer_indexes
from certstats_projector.projection import (
    catch_up_summaries,
    deferred_platforms,
    every_platform_listed,
)
from certstats_projector.projection.sql import SET_SEARCH_PATH_SQL
from certstats_projector.retrying import Retrier

log = structlog.get_logger("certstats.projector")

SUMMARY_INDEXES = ("certificate_learners_by_last_name", "certificate_learners_expiry")
"""The query API's indexes of ``certificate_learners``, created after a catch-up that rebuilds
every platform instead of maintained row by row during it. Its primary key (platform, learner,
certificate; the refresh's conflict target and learner lookups) stays: batches refresh the
platforms the moment their rebuild commits, before these exist again, and without an index
by learner the refresh scanned the platform's rows per learner (13 s for one batch, seen in
the benchmark)."""

INDEX_LOCK_TIMEOUT = "2s"
"""How long a catch-up waits for the lock to drop the summary indexes (a query reading
``certificate_learners`` may hold it): beyond it, the rebuild maintains them row by row."""

CATCH_UP_LOCK_CLASS = 0x63657563
"""First key of the two-int session advisory lock serializing the catch-ups of a generation
(the second is ``hashtext`` of its schema)."""

_CATCH_UP_LOCK_SQL = "SELECT pg_advisory_lock($1, hashtext($2))"
_TRY_CATCH_UP_LOCK_SQL = "SELECT pg_try_advisory_lock($1, hashtext($2))"
_CATCH_UP_UNLOCK_SQL = "SELECT pg_advisory_unlock($1, hashtext($2))"

CATCH_UP_CONNECTIONS = 3
"""Concurrent transactions of a catch-up (the listed platforms and the tables to analyze are
spread over them): the batches of the listed platforms wait for it and the projector's Python
idles, while one ``INSERT .. SELECT`` or ``ANALYZE`` uses one core of PostgreSQL. Three rather
than two: platforms rarely split evenly in two (the benchmark's three took 3.7 s over three
connections, 4.1 s over two, 5.7 s over one)."""


class SummaryDeferral:
    """Decides which batches defer the summary refresh, and runs the catch-up rebuilds.

    ``connect``: a pooled connection; ``schema``: the generation applied to now (it changes
    when the projector follows a promotion); ``lag``: messages left to apply over the assigned
    partitions (stored next offsets against high watermarks); ``threshold``: the lag above which
    batches defer (None: never); ``elsewhere``: messages left over the partitions of the other
    instances of the group, as stored (None: no other instance to wait for);
    ``bulk_indexes``: a catch-up of every platform creates the summary indexes after its
    rebuild (the live projector's current generation; a rebuild defers its own indexes).
    """

    def __init__(
        self,
        connect: Callable[[], AbstractAsyncContextManager[asyncpg.Connection]],
        schema: Callable[[], str],
        lag: Callable[[], int],
        threshold: int | None,
        retry: Retrier,
        elsewhere: Callable[[], Awaitable[int]] | None = None,
        bulk_indexes: bool = False,
    ) -> None:
        self._connect = connect
        self._schema = schema
        self._lag = lag
        self._threshold = threshold
        self._retry = retry
        self._elsewhere = elsewhere
        self._bulk_indexes = bulk_indexes
        self._pending = True
        """Some platform may be deferred: set by deferring batches, and at start (a previous
        run may have stopped before its catch-up); cleared when a catch-up starts."""
        self._task: asyncio.Task[None] | None = None

    def should_defer(self) -> bool:
        """Whether the next batch should defer its summary refresh: the lag is above the
        threshold. Marks the summaries pending when it should.

        Under the threshold a batch refreshes, but its learners of listed platforms are left
        to the catch-up, which waits for a tenth of the threshold: the last stretch of a
        replay costs no more than deferring, and a platform that another instance caught up
        meanwhile is refreshed instead of listed again (a second rebuild of the whole
        platform)."""
        defer = self._threshold is not None and self._lag() > self._threshold
        self._pending |= defer
        return defer

    @property
    def busy(self) -> bool:
        """Whether summaries may still be deferred: a catch-up is due or running."""
        return self._pending or (self._task is not None and not self._task.done())

    async def check(self) -> None:
        """At start: whether the generation has deferred platforms (one query); with
        ``bulk_indexes``, first create the summary indexes a stopped catch-up left dropped
        (unless a catch-up of the generation is in flight: it creates them at its end)."""
        if self._bulk_indexes:
            await _create_leftover_indexes(self._connect, self._schema())
        async with self._connect() as conn:
            self._pending = bool(await deferred_platforms(conn, self._schema()))

    def recheck(self) -> None:
        """Look for deferred platforms at the next poke: another generation is followed, or
        partitions were reassigned (an instance that left may have listed some)."""
        self._pending = True

    async def listed(self) -> int:
        """How many platforms the generation lists as deferred, by any instance (one query)."""
        async with self._connect() as conn:
            return len(await deferred_platforms(conn, self._schema()))

    @property
    def catch_up_due(self) -> bool:
        """Whether :meth:`poke` starts a catch-up now: some platform may be listed, none is
        running, and the lag is at or under a tenth of the threshold. The catch-up first reads
        the other instances' lag, and waits for the next poke while the group's is above that
        bar."""
        running = self._task is not None and not self._task.done()
        return self._pending and not running and not self._behind()

    def poke(self) -> None:
        """After a commit (and periodically): start the catch-up when it is due."""
        if self.catch_up_due:
            self._task = asyncio.create_task(self._catch_up())

    async def close(self) -> None:
        """Stop a catch-up in flight (rolled back: its platforms stay listed for the next
        start)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _bar(self) -> int | None:
        """The lag at or under which a catch-up may start: a tenth of the threshold, whoever
        deferred (None: no threshold, no lag to wait for). One bar for every instance of
        the group: with the full threshold as the bar of an instance that never deferred,
        it rebuilt while the group was still up to the threshold behind."""
        if self._threshold is None:
            return None
        return self._threshold // 10

    def _behind(self) -> bool:
        """This instance's lag is above the bar."""
        bar = self._bar()
        return bar is not None and self._lag() > bar

    async def _group_behind(self) -> bool:
        """The lag of the whole group (this instance's, plus the other instances' as stored)
        is above the bar."""
        bar = self._bar()
        if bar is None or self._elsewhere is None:
            return False
        elsewhere = await self._retry(self._elsewhere, step="summary catch-up")
        return self._lag() + elsewhere > bar

    async def _catch_up(self) -> None:
        while self._pending and not self._behind():
            if await self._group_behind():
                return  # poked again after the next commit or lag refresh
            self._pending = False
            started, schema = time.perf_counter(), self._schema()
            platforms = await self._retry(partial(self._rebuild, schema), step="summary catch-up")
            if platforms:
                seconds = round(time.perf_counter() - started, 3)
                log.info("deferred summaries caught up", platforms=platforms, seconds=seconds)

    async def _rebuild(self, schema: str) -> list[str]:
        try:
            return await catch_up(self._connect, schema, bulk_indexes=self._bulk_indexes)
        except (asyncpg.InvalidSchemaNameError, asyncpg.UndefinedTableError):
            if schema == self._schema():
                raise
            return []  # a promotion retired that generation meanwhile (and recheck()ed)


async def catch_up(
    connect: Callable[[], AbstractAsyncContextManager[asyncpg.Connection]],
    schema: str,
    *,
    bulk_indexes: bool = False,
) -> list[str]:
    """:func:`catch_up_summaries` of generation ``schema`` on ``CATCH_UP_CONNECTIONS``
    connections from ``connect``, one catch-up of the generation at a time (across instances);
    returns the platforms rebuilt. With ``bulk_indexes``, when every platform is listed, the
    summary indexes are dropped before the rebuild and created after it (recorded in between:
    :mod:`certstats_projector.deferred_indexes`)."""
    async with connect() as conn, _catch_up_lock(conn, schema, wait=True):
        async with contextlib.AsyncExitStack() as stack:
            also = [
                await stack.enter_async_context(connect()) for _ in range(CATCH_UP_CONNECTIONS - 1)
            ]
            if bulk_indexes:
                await _defer_summary_indexes(conn, schema)
            platforms = await catch_up_summaries(conn, schema, also=also)
        if bulk_indexes:  # also those an earlier, failed attempt dropped
            await create_deferred_indexes(connect, schema, CATCH_UP_CONNECTIONS)
    return platforms


@contextlib.asynccontextmanager
async def _catch_up_lock(
    conn: asyncpg.Connection, schema: str, *, wait: bool
) -> AsyncIterator[bool]:
    """Hold the catch-up lock of generation ``schema`` on ``conn`` (a session advisory lock)
    if granted: waited for with ``wait``, else only if free at once. Yields whether it is
    held. A catch-up holds it throughout: the instances of a group reach the bar within
    moments of each other, and the second one's catch-up then waits for the first and finds
    nothing listed. Concurrently, it analyzed the six tables again while the first one rebuilt
    (~0.9 s of PostgreSQL's two cores, seen in the benchmark) only to wait for the platform
    locks and rebuild nothing; and two drops of the summary indexes at once failed ("cache
    lookup failed for attribute 1": one's ``pg_get_indexdef`` read an index the other was
    dropping, 8 of 30 rounds)."""
    if wait:
        await conn.execute(_CATCH_UP_LOCK_SQL, CATCH_UP_LOCK_CLASS, schema)
        held = True
    else:
        held = await conn.fetchval(_TRY_CATCH_UP_LOCK_SQL, CATCH_UP_LOCK_CLASS, schema)
    try:
        yield held
    finally:
        if held and not conn.is_closed():  # else its session, and the lock, ended with it
            await conn.execute(_CATCH_UP_UNLOCK_SQL, CATCH_UP_LOCK_CLASS, schema)


async def _create_leftover_indexes(
    connect: Callable[[], AbstractAsyncContextManager[asyncpg.Connection]], schema: str
) -> None:
    """At start: create the summary indexes a stopped catch-up left dropped (recorded), unless
    a catch-up of the generation is in flight, which creates them at its end. Unordered with
    it, this start created them between the catch-up's reading of the records and its
    ``DROP INDEX``, which then dropped them for good (found by trying to break the lock)."""
    async with connect() as conn, _catch_up_lock(conn, schema, wait=False) as held:
        if held:
            await create_deferred_indexes(connect, schema, CATCH_UP_CONNECTIONS)


async def _defer_summary_indexes(conn: asyncpg.Connection, schema: str) -> None:
    """Drop (recording them) the summary indexes when every platform is listed, unless the
    lock is not granted within ``INDEX_LOCK_TIMEOUT``."""
    try:
        async with conn.transaction():
            await conn.execute(SET_SEARCH_PATH_SQL, schema)
            if await every_platform_listed(conn, schema):
                await conn.execute(
                    "SELECT set_config('lock_timeout', $1, true)", INDEX_LOCK_TIMEOUT
                )
                await defer_indexes(conn, schema, SUMMARY_INDEXES)
    except asyncpg.LockNotAvailableError:
        log.info("summary indexes kept: certificate_learners is in use")
