"""Projector settings from the environment (README "Configuration")."""

from __future__ import annotations

import pytest

from certstats_projector.settings import ProjectorSettings


def _settings() -> ProjectorSettings:
    return ProjectorSettings(database_url="postgresql://h/db", kafka_bootstrap_servers="h:9092")


def test_summary_deferral_lag_defaults_and_null_disables_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CERTSTATS_SUMMARY_DEFERRAL_LAG", raising=False)
    assert _settings().summary_deferral_lag == 100_000
    monkeypatch.setenv("CERTSTATS_SUMMARY_DEFERRAL_LAG", "null")
    assert _settings().summary_deferral_lag is None
    monkeypatch.setenv("CERTSTATS_SUMMARY_DEFERRAL_LAG", "2500")
    assert _settings().summary_deferral_lag == 2500
