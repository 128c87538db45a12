"""When batches defer the summary refresh (docs/DECISIONS.md "Deferred summaries"): above the
threshold, and once deferring until the lag is at or under a tenth of it (hysteresis)."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Counter

from certstats_projector.deferral import SummaryDeferral
from certstats_projector.retrying import Retrier


def _unused_connection() -> object:
    raise AssertionError("no catch-up expected")


def _deferral(lags: list[int], threshold: int | None) -> SummaryDeferral:
    failures = Counter("failures", "-", ["kind"], registry=CollectorRegistry())
    return SummaryDeferral(
        _unused_connection,  # type: ignore[arg-type]
        lambda: "g",
        lambda: lags[0],
        threshold,
        Retrier((0.01, 0.01), failures),
    )


@pytest.mark.parametrize(
    ("lags", "decisions"),
    [
        ([150, 50, 11, 10, 50, 100, 101], [True, True, True, False, False, False, True]),
        ([100, 0], [False, False]),
    ],
)
def test_defers_above_the_threshold_until_a_tenth_of_it(
    lags: list[int], decisions: list[bool]
) -> None:
    current = [lags[0]]
    deferral = _deferral(current, threshold=100)
    seen = []
    for lag in lags:
        current[0] = lag
        seen.append(deferral.should_defer())
    assert seen == decisions


def test_never_defers_without_a_threshold() -> None:
    deferral = _deferral([10**9], threshold=None)
    assert not deferral.should_defer()
