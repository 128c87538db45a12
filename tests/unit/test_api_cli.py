"""``certstats token`` mints a token the query API accepts; ``certstats api`` is registered."""

from __future__ import annotations

import jwt
from typer.testing import CliRunner

from certstats_cli.main import app
from certstats_query_api.auth import TokenVerifier
from certstats_query_api.settings import ApiSettings

SECRET = "cli-test-secret-of-at-least-32-bytes"


def test_token_round_trips_through_the_verifier() -> None:
    result = CliRunner().invoke(
        app,
        ["token", "--sub", "u-1", "--platform-id", "acme", "--platform-admin", "--ttl", "60"],
        env={"CERTSTATS_JWT_SECRET": SECRET},
    )
    assert result.exit_code == 0, result.output
    raw = result.output.strip()
    assert jwt.decode(raw, SECRET, algorithms=["HS256"])["roles"] == ["platform_admin"]
    verifier = TokenVerifier(ApiSettings(database_url="postgresql://x/y", jwt_secret=SECRET))
    requester = verifier.requester(f"Bearer {raw}")
    assert (requester.user_id, requester.platform_id, requester.platform_admin) == (
        "u-1",
        "acme",
        True,
    )


def test_api_command_is_registered() -> None:
    result = CliRunner().invoke(app, ["api", "--help"])
    assert result.exit_code == 0 and "--port" in result.output


def test_token_refuses_a_secret_the_api_would_refuse() -> None:
    result = CliRunner().invoke(
        app, ["token", "--sub", "u-1", "--platform-id", "acme"], env={"CERTSTATS_JWT_SECRET": "x"}
    )
    assert result.exit_code == 2
    assert "at least 32 bytes" in result.output and "--secret" in result.output


def test_token_refuses_a_lifetime_below_one_second() -> None:
    """An already expired token would only fail later, as a 401 from the API."""
    result = CliRunner().invoke(
        app,
        ["token", "--sub", "u-1", "--platform-id", "acme", "--ttl", "-10"],
        env={"CERTSTATS_JWT_SECRET": SECRET},
    )
    assert result.exit_code == 2
    assert "--ttl" in result.output
