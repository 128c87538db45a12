"""Projector settings from the environment (prefix ``CERTSTATS_``), SPEC.md sections 1, 3, 6."""

from __future__ import annotations

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from certstats_contracts.envelope import DEFAULT_TOPIC


class ProjectorSettings(BaseSettings):
    """Everything the projector needs to run; one instance per process.

    Example: ``CERTSTATS_DATABASE_URL=postgresql://postgres@127.0.0.1/certstats``,
    ``CERTSTATS_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092``, ``CERTSTATS_TOPICS='["lms.events"]'``.
    """

    model_config = SettingsConfigDict(
        env_prefix="CERTSTATS_", frozen=True, populate_by_name=True, env_parse_none_str="null"
    )

    database_url: str = Field(
        description="asyncpg DSN of the read-model database.",
        examples=["postgresql://postgres@127.0.0.1:5432/certstats"],
    )
    kafka_bootstrap_servers: str = Field(
        validation_alias=AliasChoices(
            "kafka_bootstrap_servers",
            "CERTSTATS_KAFKA_BOOTSTRAP_SERVERS",
            "CERTSTATS_KAFKA_BOOTSTRAP",  # the importer's name for it
        ),
        description="Comma-separated host:port list of Kafka brokers.",
        examples=["127.0.0.1:9092"],
    )
    topics: list[str] = Field(
        default=[DEFAULT_TOPIC], min_length=1, description="Topics to project (SPEC.md §3)."
    )
    consumer_group: str = Field(default="certstats-projector", min_length=1)
    batch_max_records: int = Field(
        default=100_000,
        ge=1,
        description="Most records applied in one PostgreSQL transaction. Live traffic makes "
        "small batches anyway; a backlog (a replay, a restart) is applied in large ones, which "
        "cost PostgreSQL about a third less per event than 5,000-record batches (fewer rows "
        "written per event, writes in key order). Memory grows with it: about 1.3 KB per record "
        "of the batches in flight (up to commit_lanes x (queued_batches_per_lane + 1) + 1).",
    )
    batch_timeout_ms: int = Field(
        default=200, ge=0, description="How long a fetch waits for records when none are buffered."
    )
    max_partition_fetch_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    fetch_max_bytes: int = Field(
        default=4 * 1024 * 1024,
        ge=1024,
        description="Most bytes of one fetch response over all partitions: it bounds the batch "
        "a backlog gives (4 MiB of gzip-compressed events is about 75,000 records).",
    )
    commit_lanes: int = Field(
        default=2,
        ge=1,
        le=32,
        description="Concurrent batch transactions; each partition always uses the same lane.",
    )
    queued_batches_per_lane: int = Field(
        default=1,
        ge=0,
        le=8,
        description="Decoded batches that may wait behind the one a lane is committing "
        "(the next batches are fetched and decoded meanwhile).",
    )
    summary_deferral_lag: int | None = Field(
        default=100_000,
        ge=0,
        description="Catch-up mode: while more messages than this are left to apply over the "
        "assigned partitions, batches defer the summary refresh, and one set-based rebuild "
        "per platform catches the summaries up once the lag is back under it (meanwhile the "
        "query API answers those platforms from the normalized tables). None: never defer; "
        "0: every batch defers and each catch-up rebuilds (bulk loads and tests, not live).",
    )
    pool_min_size: int = Field(default=1, ge=1)
    pool_max_size: int = Field(
        default=6,
        ge=2,
        description="Pooled connections: one per commit lane, three for a summary catch-up, "
        "one for offsets loads, gauges and readiness (fewer only make them wait).",
    )
    retry_initial_s: float = Field(
        default=0.2, gt=0, description="First back-off after a failed batch transaction (s)."
    )
    retry_max_s: float = Field(default=10.0, gt=0, description="Back-off ceiling (s).")
    revoke_wait_s: float = Field(
        default=30.0,
        gt=0,
        description="On a rebalance, how long to wait for the in-flight batch to commit (s).",
    )
    create_dlq_topics: bool = Field(
        default=True, description="Create missing `<topic>.dlq` topics on start (1 partition)."
    )
    dlq_replication_factor: int = Field(default=1, ge=1)
    http_host: str = Field(default="127.0.0.1")
    http_port: int | None = Field(
        default=8081, ge=0, le=65535, description="/healthz, /readyz, /metrics; None disables."
    )
    lag_refresh_s: float = Field(default=2.0, gt=0, description="Lag gauge refresh period (s).")
    log_level: str = Field(default="INFO")
    gc_gen0_threshold: int | None = Field(
        default=500_000,
        ge=700,
        description="Python GC generation-0 threshold once started (objects). Above the "
        "objects of the batches in flight (about 10 per event, up to lanes x (queued + 2) "
        "batches): a lower one makes every young collection walk live events (at 50,000 "
        "they took ~20% of the projector's CPU). None keeps the interpreter's default.",
    )

    @model_validator(mode="after")
    def _pool_fits_lanes(self) -> ProjectorSettings:
        if self.pool_max_size < self.commit_lanes + 1:
            raise ValueError("pool_max_size must exceed commit_lanes (offset loads, readiness)")
        return self

    @field_validator("database_url")
    @classmethod
    def _postgres_dsn(cls, value: str) -> str:
        if not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("database_url must be a postgresql:// DSN")
        return value
