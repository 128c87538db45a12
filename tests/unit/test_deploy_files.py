"""deploy/ (no Docker engine here to run it): what the compose file and the image name must
exist and hold — every ``CERTSTATS_*`` variable is a setting of the service it configures,
the shared env file gives both services valid settings, every command and option the
containers run exists in the ``certstats`` CLI, and the files the Dockerfile copies exist."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from pydantic_settings import BaseSettings
from typer.testing import CliRunner

from certstats_cli.main import app
from certstats_projector.settings import ProjectorSettings
from certstats_query_api.settings import ApiSettings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
ENV_FILE = DEPLOY / "certstats.env"
COMPOSE = (DEPLOY / "compose.yaml").read_text()
SETTINGS: dict[str, type[BaseSettings]] = {
    "projector": ProjectorSettings,
    "api": ApiSettings,
    "migrate": ProjectorSettings,
}


def _env_file() -> dict[str, str]:
    lines = ENV_FILE.read_text().splitlines()
    pairs = (line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))
    return {name.strip(): value.strip() for name, value in pairs}


def _service(name: str) -> str:
    """The compose block of service ``name`` (its indented lines)."""
    match = re.search(rf"^  {name}:\n((?:    .*\n?)*)", COMPOSE, re.MULTILINE)
    assert match, f"no service {name} in compose.yaml"
    return match.group(1)


def _command(service: str) -> list[str]:
    match = re.search(r"command: \[(.*)\]", _service(service))
    assert match, f"service {service} has no command"
    return [part.strip().strip('"') for part in match.group(1).split(",")]


def _environment(service: str) -> dict[str, str]:
    block = _service(service)
    return dict(re.findall(r"^      (CERTSTATS_\w+): (.*)$", block, re.MULTILINE))


def _field_names(settings: type[BaseSettings]) -> set[str]:
    return {f"CERTSTATS_{name.upper()}" for name in settings.model_fields}


def test_every_shared_variable_is_a_setting_of_some_service() -> None:
    known = _field_names(ProjectorSettings) | _field_names(ApiSettings)
    assert set(_env_file()) - known == set()


@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_every_variable_of_a_service_is_one_of_its_settings(service: str) -> None:
    assert set(_environment(service)) - _field_names(SETTINGS[service]) == set()


@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_the_deployed_settings_are_valid(service: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("CERTSTATS_")]:
        monkeypatch.delenv(name)
    for name, value in (_env_file() | _environment(service)).items():
        monkeypatch.setenv(name, value)
    settings = SETTINGS[service]()
    assert "postgres:5432" in str(getattr(settings, "database_url", ""))


@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_every_command_the_containers_run_exists(service: str) -> None:
    command = _command(service)
    result = CliRunner().invoke(app, [command[0], "--help"])
    assert result.exit_code == 0, result.output
    for option in (part for part in command[1:] if part.startswith("--")):
        assert option in result.output, f"certstats {command[0]} has no {option}"


def test_the_image_copies_files_that_exist() -> None:
    root = DEPLOY.parent
    copied = re.findall(r"^COPY (.+) \S+$", (DEPLOY / "Dockerfile").read_text(), re.MULTILINE)
    sources = [source for line in copied for source in line.split()]
    assert sources
    assert [source for source in sources if not (root / source).exists()] == []


def test_the_database_runs_with_the_deployed_server_settings() -> None:
    postgres = _service("postgres")
    mounted = re.search(r'"\./(\S+):(\S+):ro"', postgres)
    assert mounted, "compose.yaml mounts no server configuration"
    assert (DEPLOY / mounted.group(1)).is_file()
    assert _command("postgres") == ["postgres", "-c", f"config_file={mounted.group(2)}"]
