"""Hypothesis strategies: small, colliding event histories and random requests (SPEC.md 2-5).

Id pools are tiny so entities collide; envelope times come from four instants so last-writer-
wins ties happen; payload instants come from a 10-day grid around the query instants so the
30-day window boundaries are hit exactly. Every v1 event type appears, including deletions,
toggles, revocations and references to entities that never arrive (ids ending in ``9``).
Each enrollment and grant belongs to one user for the whole history, so every last-writer-wins
race stays inside one message key, as it does in production.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from certstats_contracts.envelope import DomainEvent
from tests.reference.builders import event
from tests.reference.facts import LEARNER_FACTS, fact_strategies, ownerships
from tests.reference.model import Query
from tests.reference.pools import (
    AS_OF,
    CUSTOM,
    EVENT_TIMES,
    GROUPS,
    LEARNERS,
    PLATFORMS,
    REGISTRATION_DATES,
    STAFF,
    STATE_KINDS,
    TIMEZONES,
    unknown,
)

INTEGRATION_SETTINGS = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
"""Hypothesis settings of the database-backed property tests (one fixture, reset per example)."""


@st.composite
def _platform_events(draw: st.DrawFn, platform_id: str) -> list[DomainEvent]:
    """State events for every pooled entity of one platform, then random facts and changes.

    Entities that never arrive are the ``*9`` ids; late arrivals come from the permutation.
    """
    owners = draw(ownerships())
    counter = iter(range(10_000))

    def make(kind: str, data: dict[str, Any]) -> DomainEvent:
        time = draw(st.sampled_from(EVENT_TIMES))
        return event(kind, time, platform_id, f"ev-{next(counter)}", **data)

    facts = st.one_of(*fact_strategies(owners))
    created = [
        make(kind, draw(strategy(entity_id)))
        for kind, strategy, pool in STATE_KINDS
        for entity_id in pool
    ] + [make(kind, draw(strategy(owners))) for kind, strategy in LEARNER_FACTS for _ in range(8)]
    changes = [make(kind, data) for kind, data in draw(st.lists(facts, min_size=5, max_size=40))]
    return created + changes


@st.composite
def histories(draw: st.DrawFn) -> list[DomainEvent]:
    """Events of one or two platforms (same id pools), in a random consumption order."""
    platforms = draw(st.sampled_from((PLATFORMS[:1], PLATFORMS)))
    events = [e for p in platforms for e in draw(_platform_events(p))]
    return draw(st.permutations(events))


def _sometimes(strategy: st.SearchStrategy[Any], otherwise: Any) -> st.SearchStrategy[Any]:
    """``strategy`` one time in four, else ``otherwise`` (filters are optional)."""
    return st.sampled_from((0, 0, 0, 1)).flatmap(lambda n: strategy if n else st.just(otherwise))


_CUSTOM_FILTERS = st.dictionaries(
    st.sampled_from(tuple(CUSTOM)),
    st.lists(st.sampled_from(("ops", "it", "north")), min_size=1, max_size=2, unique=True),
    min_size=1,
    max_size=2,
)


@st.composite
def queries(draw: st.DrawFn, platforms: tuple[str, ...] = PLATFORMS) -> Query:
    """A requester (admin, role holder, learner or nobody) and random filters."""
    dates = st.sampled_from(REGISTRATION_DATES)
    first, last = draw(_sometimes(dates, None)), draw(_sometimes(dates, None))
    if first and last and last < first:  # a reversed range is a 400 (docs/DECISIONS.md)
        first, last = last, first
    return Query(
        platform_id=draw(st.sampled_from(platforms)),
        requester_id=draw(st.sampled_from(STAFF + STAFF + LEARNERS[:1])),
        platform_admin=draw(st.sampled_from((False, False, True))),
        as_of=draw(st.sampled_from(AS_OF)),
        registered_from=first,
        registered_to=last,
        group_ids=draw(
            _sometimes(st.lists(unknown(GROUPS), min_size=1, max_size=2, unique=True), ())
        ),
        custom_fields=draw(_sometimes(_CUSTOM_FILTERS, {})),
        user_status=draw(st.sampled_from(("active", "active", "deleted", "all", "all"))),
        tz=draw(st.sampled_from(TIMEZONES)),
        expiring_within_days=draw(st.sampled_from((30, 30, 0, 45))),
        q=draw(st.sampled_from((None,) * 8 + ("a", "LI", "example", "zz", "saf"))),
    )
