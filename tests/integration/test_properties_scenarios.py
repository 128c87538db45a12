"""Hand-picked histories on the edges random generation rarely reaches (a deleted group in the
middle of a chain, registration dates moved by the time zone, a session starting exactly at
``as_of``, archived sessions), answered by the API exactly like the reference model, for
every requester and a grid of filters (SPEC.md 2, 4, 5; DECISIONS.md)."""

from __future__ import annotations

from datetime import date
from itertools import product

import pytest

from certstats_contracts.envelope import DomainEvent
from certstats_projector.projection import apply_batch
from tests.integration.test_api_harness import (  # noqa: F401 (fixture)
    SECRET,
    Api,
    api,
    on_both_paths,
)
from tests.reference.api import ApiAsker
from tests.reference.builders import as_consumed, at, event
from tests.reference.compare import compare_all, drill_down_invariants, requests_for
from tests.reference.model import Query, ReferenceModel

pytest_generate_tests = on_both_paths

AS_OF = at("2026-03-01")


def _edges() -> list[DomainEvent]:
    """g1 > g2 (deleted) > g3; u1 in g3, u2 in g2, u3 in g1; coach k of g1, instructor i."""
    t = "2026-01-01"
    return [
        *(event("group.created", t, group_id=g, name=g.upper(), parent_group_id=p)
          for g, p in (("g1", None), ("g2", "g1"), ("g3", "g2"))),
        event("group.deleted", "2026-01-02", group_id="g2"),
        event("group.role_granted", t, group_id="g1", user_id="k", role="coach"),
        event("certificate.created", t, certificate_id="c1", title="Safety", owner_group_id="g3",
              validity_months=12),
        event("path.created", t, path_id="pa1", name="Intro", certificate_id="c1"),
        event("path_session.created", t, session_id="s1", path_id="pa1", name="Now",
              starts_at=AS_OF, instructor_ids=["i"]),
        event("path_session.created", t, session_id="s2", path_id="pa1", name="Old",
              starts_at=t),
        event("path_session.archived", "2026-01-03", session_id="s2", archived_at="2026-01-03"),
        *(event("user.registered", t, user_id=u, first_name="Ann", last_name=u,
                email=f"{u}@x.example", registered_at=r, group_ids=[g])
          for u, r, g in (("u1", "2026-01-01T00:00Z", "g3"), ("u2", "2025-12-31T23:00Z", "g2"),
                          ("u3", "2026-01-10T23:00Z", "g1"))),
        event("enrollment.created", t, enrollment_id="e1", user_id="u1", session_id="s1",
              enrolled_at=t, method="assigned"),
        event("enrollment.created", t, enrollment_id="e2", user_id="u2", session_id="s2",
              enrolled_at=t, method="assigned"),
        event("enrollment.created", t, enrollment_id="e3", user_id="u3", session_id="s1",
              enrolled_at=t, method="assigned"),
        event("certificate.granted", t, grant_id="gr2", certificate_id="c1", user_id="u2",
              enrollment_id="e2", delivered_at="2026-01-20", expires_at="2026-03-31"),
    ]  # fmt: skip


QUERIES = [
    Query(platform_id="acme", requester_id=who, platform_admin=admin, as_of=AS_OF, tz=tz,
          registered_from=start, registered_to=end, group_ids=groups, user_status="all")
    for (who, admin), tz, (start, end), groups in product(
        (("k", False), ("i", False), ("boss", True)),
        ("UTC", "America/New_York", "Europe/Paris"),
        ((None, None), (date(2026, 1, 1), None), (None, date(2025, 12, 31)),
         (date(2026, 1, 11), date(2026, 1, 11))),
        ((), ("g1",), ("g2",)),
    )
]  # fmt: skip


@pytest.mark.parametrize("group_ids", [(), ("g1",), ("g2",)])
async def test_edge_histories_answer_like_the_reference_model(
    api: Api,  # noqa: F811
    group_ids: tuple[str, ...],
) -> None:
    events = _edges()
    await apply_batch(api.conn, api.schema, as_consumed(events), {})
    model, asker = ReferenceModel(events), ApiAsker(api.client, SECRET)
    requests = requests_for(("c1",), ("u1", "u2", "u3"))
    for query in (q for q in QUERIES if tuple(q.group_ids) == group_ids):
        drill_down_invariants(await compare_all(model, asker, query, requests))
