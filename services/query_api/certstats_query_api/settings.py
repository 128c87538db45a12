"""Settings of the query API, from ``CERTSTATS_*`` environment variables."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIN_SECRET_BYTES = 32
"""Shortest HS256 secret accepted: the hash size (RFC 7518 §3.2)."""


class ApiSettings(BaseSettings):
    """Configuration of one query API process.

    At least one JWT key is required (SPEC.md §4): ``jwt_secret`` (HS256, at least 32 bytes)
    and/or ``jwt_jwks_file`` (a JWKS JSON file of RS256/ES256 public keys).

    Raises:
        pydantic.ValidationError: no JWT key, a short secret or an unknown default time zone.
    """

    model_config = SettingsConfigDict(env_prefix="CERTSTATS_", extra="ignore")

    database_url: str = Field(description="asyncpg DSN of the read-model database.")
    pool_min_size: int = Field(default=1, ge=0)
    pool_max_size: int = Field(default=10, ge=1)
    jwt_secret: str | None = Field(default=None, description="HS256 shared secret.")
    jwt_jwks_file: Path | None = Field(default=None, description="JWKS file (RS256/ES256).")
    tz: str = Field(default="UTC", description="Default IANA time zone of dates (SPEC.md §2).")
    work_mem: str = Field(
        default="32MB",
        pattern=r"^\d+(kB|MB|GB)$",
        description="PostgreSQL work_mem of API sessions: statistics sort and hash whole "
        "platforms; too small spills them to disk.",
    )
    summaries: bool = Field(
        default=True,
        description="Answer from the projector's summary read models when they are exact at "
        "the request's as_of; false answers every request from the normalized tables (the "
        "same rows, much slower at scale: for comparison, or while a summary is suspect).",
    )

    @field_validator("jwt_secret")
    @classmethod
    def _long_secret(cls, value: str | None) -> str | None:
        if value is not None and len(value.encode()) < MIN_SECRET_BYTES:
            raise ValueError(
                f"jwt_secret must be at least {MIN_SECRET_BYTES} bytes (RFC 7518 §3.2)"
            )
        return value

    @field_validator("tz")
    @classmethod
    def _known_tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r}") from error
        return value

    @model_validator(mode="after")
    def _has_jwt_key(self) -> ApiSettings:
        if self.jwt_secret is None and self.jwt_jwks_file is None:
            raise ValueError("set CERTSTATS_JWT_SECRET or CERTSTATS_JWT_JWKS_FILE")
        return self
