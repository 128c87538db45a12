"""Retrying a projector step until it succeeds (SPEC.md §1: nothing is committed past a
failed batch, and no batch is ever skipped)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg
import structlog
from aiokafka.errors import KafkaError
from prometheus_client import Counter

log = structlog.get_logger("certstats.projector")

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.DeadlockDetectedError,
    asyncpg.SerializationError,
    asyncpg.OperatorInterventionError,
    asyncpg.TooManyConnectionsError,
    OSError,
    TimeoutError,
    KafkaError,
)
"""Failures expected to pass: connection loss, deadlock, serialization, broker hiccups."""

T = TypeVar("T")


class Retrier:
    """Runs steps with capped exponential back-off; ``failing`` is true while one retries."""

    def __init__(self, backoff: tuple[float, float], failures: Counter) -> None:
        """``backoff`` = (first delay, ceiling) in seconds; ``failures`` is labelled by kind."""
        self._backoff = backoff
        self._failures = failures
        self.failing = False

    async def __call__(self, attempt: Callable[[], Awaitable[T]], **context: object) -> T:
        """Run ``attempt`` until it succeeds, sleeping between tries.

        Every failure is retried; transient ones are logged as warnings, others as errors
        with their traceback; ``context`` (step, coordinates) goes into the log.
        """
        delay, ceiling = self._backoff
        while True:
            try:
                result = await attempt()
            except Exception as exc:
                self.failing = True
                kind = "transient" if isinstance(exc, TRANSIENT_ERRORS) else "other"
                self._failures.labels(kind).inc()
                log.log(
                    logging.WARNING if kind == "transient" else logging.ERROR,
                    "projector step failed, retrying",
                    kind=kind,
                    error=repr(exc),
                    retry_in_s=delay,
                    exc_info=kind != "transient",
                    **context,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, ceiling)
            else:
                self.failing = False
                return result
