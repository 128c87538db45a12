"""Comparable answers to every statistics request of one query (SPEC.md 5, 5.4).

A *request* is ``(method, args)`` of the reference model's interface (``certificate_list``,
``certificate``, ``certificate_paths``, ``certified_learners``, ``learners``, ``history``). An
*answer* is the normalized result: rows sorted canonically, or ``"forbidden"`` / ``"not_found"``.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from tests.reference import pools
from tests.reference.history import local_date
from tests.reference.model import Forbidden, NotFound, Query, ReferenceModel

Request = tuple[str, tuple[str, ...]]
Answer = Any

PER_CERTIFICATE = ("certificate", "certificate_paths", "certified_learners", "learners")


def requests_for(
    certificates: tuple[str, ...] = (*pools.CERTS, "c9"),
    learners: tuple[str, ...] = pools.LEARNERS,
) -> list[Request]:
    """The list, every per-certificate request, and every (certificate, learner) history."""
    return [
        ("certificate_list", ()),
        *((name, (c,)) for c in certificates for name in PER_CERTIFICATE),
        *(("history", (c, u)) for c in certificates for u in learners),
    ]


def normalize(result: Any) -> Answer:
    """Rows in a canonical order (lists are unsorted sets of rows); single rows unchanged."""
    if isinstance(result, list):
        return sorted(result, key=lambda row: json.dumps(row, sort_keys=True))
    return result


def model_answer(model: ReferenceModel, query: Query, request: Request) -> Answer:
    """The reference model's answer to ``request``."""
    name, args = request
    try:
        return normalize(getattr(model, name)(query, *args))
    except Forbidden:
        return "forbidden"
    except NotFound:
        return "not_found"


class Asker(Protocol):
    """Anything answering requests like the reference model (e.g. the HTTP API)."""

    async def answer(self, query: Query, request: Request) -> Answer: ...


async def compare_all(
    model: ReferenceModel, implementation: Asker, query: Query, requests: list[Request]
) -> dict[Request, Answer]:
    """Assert the implementation answers every request like the model, naming the first
    mismatch; returns the answers."""
    answers = {}
    for request in requests:
        want, got = model_answer(model, query, request), await implementation.answer(query, request)
        assert got == want, f"{request} of {query}: implementation {got!r} != model {want!r}"
        answers[request] = got
    return answers


def drill_down_invariants(answers: dict[Request, Answer]) -> None:
    """SPEC.md 5.4: a count column equals the number of rows of its drill-down.

    Only for queries without ``q`` (search narrows drill-down rows, not the counts).
    """
    for (name, args), row in answers.items():
        if name != "certificate" or not isinstance(row, dict):
            continue
        assert row["certified_learners"] == len(answers[("certified_learners", args)]), args
        assert row["associated_paths"] == len(answers[("certificate_paths", args)]), args
        breakdown = ("valid_learners", "expiring_soon_learners", "expired_learners")
        assert sum(row[k] for k in breakdown) == row["certified_learners"], args


def history_newest_first(model: ReferenceModel, query: Query, rows: list[dict[str, Any]]) -> None:
    """SPEC.md 5.3: history rows newest first (enrollment rows by ``enrolled_at``, grant rows
    by delivery; DECISIONS "Pages"), checked on calendar dates in ``tz``."""
    enrollments = model.states[query.platform_id].enrollments
    days = [
        (
            local_date(enrollments[r["enrollment_id"]].enrolled_at, query.tz)
            if r["enrollment_id"] is not None
            else r["delivery_date"]
        )
        or ""
        for r in rows
    ]
    assert days == sorted(days, reverse=True), f"history not newest first: {days}"
