"""When batches defer the summary refresh and when the catch-up starts (docs/DECISIONS.md
"Deferred summaries"): batches defer above the threshold only; once one deferred, the catch-up
waits until the lag is at or under a tenth of it (hysteresis), while the batches in between
refresh (leaving listed platforms to the catch-up)."""

from __future__ import annotations

import asyncio

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
        ([150, 50, 11, 10, 50, 100, 101], [True, False, False, False, False, False, True]),
        ([100, 0], [False, False]),
    ],
)
def test_defers_above_the_threshold_only(lags: list[int], decisions: list[bool]) -> None:
    current = [lags[0]]
    deferral = _deferral(current, threshold=100)
    seen = []
    for lag in lags:
        current[0] = lag
        seen.append(deferral.should_defer())
    assert seen == decisions


def test_once_a_batch_deferred_the_catch_up_waits_for_a_tenth_of_the_threshold() -> None:
    current = [150]
    deferral = _deferral(current, threshold=100)
    assert deferral.should_defer()
    due = []
    for lag in (150, 100, 50, 11, 10, 0):
        current[0] = lag
        deferral.should_defer()
        due.append(deferral.catch_up_due)
    assert due == [False, False, False, False, True, True]


def test_without_a_deferred_batch_of_its_own_the_catch_up_waits_for_a_tenth_too() -> None:
    """Pending from the start (another instance, or a stopped run, may have listed
    platforms): the same bar as every instance of the group."""
    current = [100]
    deferral = _deferral(current, threshold=100)
    assert not deferral.catch_up_due
    current[0] = 10
    assert deferral.catch_up_due


def test_never_defers_without_a_threshold() -> None:
    deferral = _deferral([10**9], threshold=None)
    assert not deferral.should_defer()


@pytest.mark.parametrize("deferred_here", [True, False])
async def test_the_catch_up_waits_for_the_other_instances_lag(
    monkeypatch: pytest.MonkeyPatch, deferred_here: bool
) -> None:
    """Own lag under the bar is not enough: the other instances' stored lag counts too, or a
    rebuild would leave them a long stretch to refresh batch by batch; and the bar is the
    same whether this instance deferred or not."""
    rebuilt: list[str] = []

    async def rebuild(_connect: object, schema: str, *, bulk_indexes: bool) -> list[str]:
        rebuilt.append(schema)
        return ["p1"]

    monkeypatch.setattr("certstats_projector.deferral.catch_up", rebuild)
    own, others = [150 if deferred_here else 0], [5_000]

    async def elsewhere() -> int:
        return others[0]

    failures = Counter("failures", "-", ["kind"], registry=CollectorRegistry())
    deferral = SummaryDeferral(
        _unused_connection,  # type: ignore[arg-type]
        lambda: "g",
        lambda: own[0],
        100,
        Retrier((0.01, 0.01), failures),
        elsewhere,
    )
    assert deferral.should_defer() is deferred_here
    own[0] = 4
    for waiting in (5_000, 50, 7):  # 4 + 7 > 10: still behind as a group
        others[0] = waiting
        assert deferral.catch_up_due
        deferral.poke()
        await _settled(deferral)
        assert rebuilt == []
        assert deferral.busy
    others[0] = 6
    deferral.poke()
    await _settled(deferral)
    assert rebuilt == ["g"]
    assert not deferral.busy


async def _settled(deferral: SummaryDeferral) -> None:
    """Let the poked catch-up task run to its end (it awaits only the stubs)."""
    for _ in range(100):
        await asyncio.sleep(0)
        if deferral.catch_up_due or not deferral.busy:
            return
    raise AssertionError("the catch-up task did not end")
