"""Rebuild progress figures shown by ``certstats rebuild`` (SPEC.md §6): rate and ETA."""

from __future__ import annotations

import pytest

from certstats_projector.rebuild import RebuildProgress


def test_rate_counts_only_this_run() -> None:
    progress = RebuildProgress(
        "certstats_g2", done=7000, target=10_000, resumed_from=5000, elapsed_s=4.0
    )

    assert progress.rate == 500.0
    assert progress.eta_s == pytest.approx(6.0)


def test_no_rate_or_eta_before_the_first_batch() -> None:
    progress = RebuildProgress(
        "certstats_g2", done=5000, target=10_000, resumed_from=5000, elapsed_s=0.0
    )

    assert (progress.rate, progress.eta_s) == (0.0, None)


def test_eta_is_zero_once_past_a_moving_target() -> None:
    progress = RebuildProgress(
        "certstats_g2", done=12_000, target=10_000, resumed_from=0, elapsed_s=2.0
    )

    assert progress.eta_s == 0.0
