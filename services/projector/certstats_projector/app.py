"""The projector's composition root: settings -> pool -> FastStream broker -> ops server.

:func:`run_projector` runs until SIGTERM/SIGINT; :func:`project_until_caught_up` runs until
every partition's stored offset reaches its high watermark (demo, tests, rebuild).
SPEC.md sections 1, 3 and 6.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aiokafka import ConsumerRecord
from faststream import AckPolicy, FastStream
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.message import StreamMessage

from certstats_projector import dlq, generations
from certstats_projector.consumer import BatchApplier, pooled
from certstats_projector.health import OpsServer, build_ops_app
from certstats_projector.metrics import ProjectorMetrics
from certstats_projector.progress import CatchUpProgress, high_watermarks, measure_progress
from certstats_projector.projection import stored_lag
from certstats_projector.rebalance import ResumeFromStoredOffsets
from certstats_projector.settings import ProjectorSettings

_FASTSTREAM_LOG = logging.getLogger("certstats.faststream")
"""FastStream's logs go through the root handler (JSON) instead of its own colour handler."""


class Projector:
    """One projector instance: a FastStream app whose batch subscriber applies every batch
    to the read-model generation ``schema`` (default: the current one, after migrating)."""

    def __init__(self, settings: ProjectorSettings, schema: str | None = None) -> None:
        self.settings = settings
        self.metrics = ProjectorMetrics()
        self._schema = schema
        self._pool: asyncpg.Pool | None = None
        self._applier: BatchApplier | None = None
        self._ops: OpsServer | None = None
        self._gauges: asyncio.Task[None] | None = None
        self.broker = KafkaBroker(
            settings.kafka_bootstrap_servers,
            graceful_timeout=settings.revoke_wait_s,
            logger=_FASTSTREAM_LOG,
            log_level=logging.DEBUG,  # per-batch access logs
        )
        self._listener = ResumeFromStoredOffsets(
            lambda: self.subscriber.consumer,
            lambda: self.applier,
            settings.topics,
            settings.revoke_wait_s,
        )
        self.subscriber = self.broker.subscriber(
            *settings.topics,
            batch=True,
            group_id=settings.consumer_group,
            max_records=settings.batch_max_records,
            batch_timeout_ms=settings.batch_timeout_ms,
            max_partition_fetch_bytes=settings.max_partition_fetch_bytes,
            fetch_max_bytes=settings.fetch_max_bytes,
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.ACK_FIRST,  # Kafka commits are advisory (background)
            listener=self._listener,
        )
        self.subscriber(self._on_batch, decoder=_undecoded)
        self.app = FastStream(
            self.broker,
            logger=_FASTSTREAM_LOG,
            on_startup=[self._open],
            after_startup=[self._serve],
            on_shutdown=[self._drain_and_stop_serving],
            after_shutdown=[self._close],
        )

    @property
    def applier(self) -> BatchApplier:
        """The batch applier (available once the app started)."""
        if self._applier is None:
            raise RuntimeError("the projector is not started")
        return self._applier

    @property
    def ops_port(self) -> int | None:
        """Port of the ops HTTP server, or None when disabled."""
        return self._ops.port if self._ops else None

    def progress(self) -> CatchUpProgress:
        """Stored offsets against high watermarks of every subscribed partition."""
        return measure_progress(self.subscriber.consumer, self.settings.topics, self.applier.stored)

    async def _lag_elsewhere(self) -> int:
        """Messages left over the partitions of the subscribed topics that are not assigned to
        this instance, as the instances that hold them last stored (their offsets and high
        watermarks). Only partitions the broker's metadata lists: a stored row of a partition
        that no longer exists would hold the catch-up back for ever."""
        consumer = self.subscriber.consumer
        if consumer is None:
            return 0
        assigned = {(tp.topic, tp.partition) for tp in consumer.assignment()}
        others = [
            (topic, partition)
            for topic in self.settings.topics
            for partition in sorted(consumer.partitions_for_topic(topic) or ())
            if (topic, partition) not in assigned
        ]
        if not others:
            return 0
        assert self._pool is not None  # the applier (our caller) exists
        async with pooled(self._pool) as conn:
            return await stored_lag(conn, self.applier.schema, others)

    async def wait_caught_up(
        self, on_progress: Callable[[CatchUpProgress], None] | None = None, poll_s: float = 0.2
    ) -> CatchUpProgress:
        """Poll :meth:`progress` every ``poll_s`` seconds until caught up and no summaries are
        deferred (their catch-up done, :mod:`certstats_projector.deferral`); returns the last."""
        while True:
            progress = self.progress()
            if on_progress is not None:
                on_progress(progress)
            if progress.caught_up:
                self.applier.summaries.poke()
                if not self.applier.summaries.busy:
                    return progress
            await asyncio.sleep(poll_s)

    async def _on_batch(self, msg: KafkaMessage) -> None:
        records: tuple[ConsumerRecord[Any, Any], ...] = msg.raw_message
        await self.applier.handle(records)

    async def _open(self) -> None:
        s = self.settings
        self._pool = await asyncpg.create_pool(
            s.database_url, min_size=s.pool_min_size, max_size=s.pool_max_size
        )
        async with pooled(self._pool) as conn:
            current = await generations.migrate(conn)
        self._applier = BatchApplier(
            self._pool,
            self._schema or current,
            self.metrics,
            lambda rejected: dlq.dead_letter(self.broker, rejected),
            (s.retry_initial_s, s.retry_max_s),
            follow=None if self._schema else self._listener.reseek,  # live: follow promotions
            lanes=s.commit_lanes,
            queued=s.queued_batches_per_lane,
            lag=lambda: self.progress().total_lag,
            summary_deferral_lag=s.summary_deferral_lag,
            lag_elsewhere=self._lag_elsewhere,
            high_watermarks=lambda: high_watermarks(self.subscriber.consumer),
        )
        await self._applier.summaries.check()
        if s.gc_gen0_threshold is not None:
            gc.freeze()  # what start-up allocated (modules, models) is never garbage
            gc.set_threshold(s.gc_gen0_threshold, 20, 100)
        if s.create_dlq_topics:
            await dlq.ensure_dlq_topics(
                s.kafka_bootstrap_servers, s.topics, s.dlq_replication_factor
            )

    async def _serve(self) -> None:
        s = self.settings
        self._gauges = asyncio.create_task(self._refresh_gauges_forever())
        if s.http_port is not None:
            self._ops = OpsServer(
                build_ops_app(self.metrics.registry, self._readiness), s.http_host, s.http_port
            )
            await self._ops.start()

    async def _drain_and_stop_serving(self) -> None:
        if self._applier is not None:  # None when the start failed
            await self._applier.close()
        if self._gauges is not None:
            self._gauges.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._gauges
        if self._ops is not None:
            await self._ops.stop()

    async def _close(self) -> None:
        if self._pool is not None:
            await self._pool.close()

    async def _refresh_gauges_forever(self) -> None:
        while True:
            with contextlib.suppress(Exception):
                self.metrics.set_lag(self.progress().lag)
                self.applier.summaries.poke()
                self.metrics.summaries_deferred.set(await self.applier.summaries.listed())
                watermark = await self.applier.newest_watermark()
                self.metrics.set_watermark(watermark, datetime.now(UTC))
            await asyncio.sleep(self.settings.lag_refresh_s)

    async def _readiness(self) -> dict[str, bool]:
        database = False
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2):
                assert self._pool is not None
                database = await self._pool.fetchval("SELECT true") is True
        consumer = self.subscriber.running and self.subscriber.consumer is not None
        return {"database": database, "consumer": consumer, "projecting": not self.applier.failing}


async def _undecoded(message: StreamMessage[Any]) -> None:
    """FastStream decoder that skips decoding: the handler reads the raw records itself."""


async def run_projector(settings: ProjectorSettings) -> None:
    """Run the projector until SIGTERM/SIGINT, then stop cleanly (in-flight batch first)."""
    await Projector(settings).app.run()


async def project_until_caught_up(
    settings: ProjectorSettings,
    on_progress: Callable[[CatchUpProgress], None] | None = None,
    *,
    timeout_s: float = 600.0,
    schema: str | None = None,
    poll_s: float = 0.2,
) -> CatchUpProgress:
    """Project until every partition of the subscribed topics has a stored next offset at or
    beyond its high watermark, then stop. ``schema`` targets another generation (rebuild).

    Raises:
        TimeoutError: not caught up within ``timeout_s`` seconds.
    """
    projector = Projector(settings, schema=schema)
    async with projector.app, asyncio.timeout(timeout_s):
        return await projector.wait_caught_up(on_progress, poll_s)
