"""deploy/postgresql.conf, the server configuration the compose file runs PostgreSQL with:
every line sets a parameter this PostgreSQL knows, to a value within its bounds."""

from __future__ import annotations

import asyncpg

from bench.projector_throughput import deployed_server_settings

PARAMETER_SQL = "SELECT unit, min_val::numeric, max_val::numeric FROM pg_settings WHERE name = $1"

SIZE_RATIO_SQL = "SELECT pg_size_bytes($1)::numeric / pg_size_bytes($2)"

TIME_UNITS = {"ms": 0.001, "s": 1, "min": 60}


async def _in_unit(conn: asyncpg.Connection, value: str, unit: str) -> float:
    """``value`` (``2GB``, ``15min``...) in ``unit`` (pg_settings: ``8kB``, ``MB``, ``s``...)."""
    if unit in TIME_UNITS:
        seconds: float = await conn.fetchval("SELECT extract(epoch FROM $1::text::interval)", value)
        return float(seconds) / TIME_UNITS[unit]
    size = unit if unit[0].isdigit() else f"1{unit}"
    ratio = await conn.fetchval(SIZE_RATIO_SQL, value, size)
    return float(ratio)


async def test_every_deployed_server_setting_is_a_known_parameter_within_bounds(
    pg_admin_dsn: str,
) -> None:
    conn = await asyncpg.connect(pg_admin_dsn)
    try:
        for name, value in deployed_server_settings().items():
            row = await conn.fetchrow(PARAMETER_SQL, name)
            assert row is not None, f"{name} is not a PostgreSQL parameter"
            if row["unit"] is not None:
                amount = await _in_unit(conn, value, row["unit"])
                assert row["min_val"] <= amount <= row["max_val"], (name, value)
    finally:
        await conn.close()
