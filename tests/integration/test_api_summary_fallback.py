"""The query API answers from the summary read models only while they are exact at ``as_of``
(docs/DECISIONS.md "Query API on the summaries"). A grant delivered after ``as_of`` sends the
same requests to the normalized SQL, which must answer exactly what the summary answered (the
grant does not exist yet at ``as_of``), and both equal the reference model (SPEC.md 2, 4, 5)."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import product

from certstats_contracts.envelope import DomainEvent
from certstats_projector.projection import apply_batch, catch_up_summaries
from certstats_query_api.sql.queries import FRESHNESS_SQL
from tests.integration.test_api_harness import SECRET, Api, api
from tests.reference.api import ApiAsker
from tests.reference.builders import as_consumed, at, event
from tests.reference.compare import compare_all, drill_down_invariants, requests_for
from tests.reference.model import Query, ReferenceModel

__all__ = ["api"]
AS_OF = at("2026-06-01T12:00")
T = "2026-01-01"


def _grant(gid: str, cid: str, uid: str, delivered: str, expires: str | None) -> DomainEvent:
    return event(
        "certificate.granted",
        T,
        grant_id=gid,
        certificate_id=cid,
        user_id=uid,
        delivered_at=delivered,
        expires_at=expires,
    )


def _world() -> list[DomainEvent]:
    """g1 > g2 (coach k of g1); c1 (sessions s1, archived s2) and c2 (session s3, instructor
    i); c3 deleted. Learners u1-u8 (u7 deleted, u8 never registered) with grants expiring
    around AS_OF: the same UTC day before and after it, on the 30-day boundary, never."""
    catalog = [
        *(
            event("group.created", T, group_id=g, name=g.upper(), parent_group_id=p)
            for g, p in (("g1", None), ("g2", "g1"))
        ),
        event("group.role_granted", T, group_id="g1", user_id="k", role="coach"),
        *(
            event(
                "certificate.created",
                T,
                certificate_id=c,
                title=f"Cert {c}",
                owner_group_id=None,
                validity_months=12,
            )
            for c in ("c1", "c2", "c3")
        ),
        event("certificate.deleted", T, certificate_id="c3"),
        *(
            event("path.created", T, path_id=f"p{c}", name=f"Path {c}", certificate_id=c)
            for c in ("c1", "c2", "c3")
        ),
        *(
            event(
                "path_session.created",
                T,
                session_id=s,
                path_id=p,
                name=s,
                starts_at=T,
                instructor_ids=list(i),
            )
            for s, p, i in (
                ("s1", "pc1", ()),
                ("s2", "pc1", ()),
                ("s3", "pc2", ("i",)),
                ("s4", "pc3", ()),
            )
        ),
        event("path_session.archived", T, session_id="s2", archived_at=T),
    ]
    learners = [
        event(
            "user.registered",
            T,
            user_id=f"u{n}",
            first_name="Ann",
            last_name=f"L{9 - n}",
            email=f"u{n}@x.example",
            registered_at=f"2025-12-{20 + n}T23:00:00Z",
            custom_fields={"dept": "ops" if n % 2 else "it"},
            group_ids=["g2" if n < 4 else "g1"],
        )
        for n in range(1, 8)
    ]
    learners.append(event("user.deleted", T, user_id="u7", deleted_at=T))
    facts = [
        *(
            event(
                "enrollment.created",
                T,
                enrollment_id=f"e{n}",
                user_id=f"u{n}",
                session_id=s,
                enrolled_at=T,
                method="assigned",
            )
            for n, s in (
                (1, "s1"),
                (2, "s2"),
                (3, "s3"),
                (4, "s1"),
                (5, "s3"),
                (7, "s1"),
                (8, "s1"),
                (6, "s4"),
            )
        ),
        _grant("g1", "c1", "u1", "2026-02-01", "2026-06-01T03:00:00Z"),
        _grant("g2", "c1", "u2", "2026-02-01", "2026-06-01T20:00:00Z"),
        _grant("g3", "c1", "u3", "2026-02-01", "2026-07-01T12:00:00Z"),
        _grant("g3b", "c2", "u3", "2026-02-01", "2026-07-01T13:00:00Z"),
        _grant("g4", "c1", "u4", "2026-02-01", None),
        _grant("g5", "c2", "u5", "2026-02-01", "2026-06-01T12:00:00Z"),
        _grant("g5b", "c2", "u5", "2026-03-01", "2027-03-01"),
        _grant("g7", "c1", "u7", "2026-02-01", "2026-05-01"),
        _grant("g8", "c2", "u8", "2026-02-01", "2026-07-01T11:00:00Z"),
    ]
    return catalog + learners + facts  # fmt: skip


QUERIES = [
    Query(platform_id="acme", requester_id=who, platform_admin=admin, as_of=AS_OF,
          user_status=status, expiring_within_days=days, tz=tz, group_ids=groups,
          custom_fields=fields, registered_from=registered)
    for (who, admin), status, (days, tz), (groups, fields, registered) in product(
        (("boss", True), ("k", False), ("i", False)),
        ("active", "deleted", "all"),
        ((30, "UTC"), (0, "Pacific/Kiritimati")),
        (((), {}, None), (("g2",), {}, None), ((), {"dept": ("ops",)}, date(2025, 12, 23))),
    )
]  # fmt: skip


async def _summary_exact(api: Api) -> bool:
    async with api.conn.transaction():
        await api.conn.execute(f"SET LOCAL search_path TO {api.schema}")
        row = await api.conn.fetchrow(FRESHNESS_SQL, "acme", AS_OF)
    assert row is not None
    exact: bool = row["summary_exact"]
    return exact


async def test_a_later_delivery_falls_back_to_the_summary_answers(api: Api) -> None:
    events = _world()
    await api.load(events)
    asker, requests = ApiAsker(api.client, SECRET, page_size=2), requests_for(("c1", "c2", "c3"))
    assert await _summary_exact(api)
    model = ReferenceModel(events)
    from_summary = [await compare_all(model, asker, query, requests) for query in QUERIES]

    later = (AS_OF + timedelta(days=1)).isoformat()
    events.append(_grant("g-later", "c1", "u1", later, None))
    await api.load(events[-1:])
    assert not await _summary_exact(api)
    model = ReferenceModel(events)
    for query, summarized in zip(QUERIES, from_summary, strict=True):
        answers = await compare_all(model, asker, query, requests)
        assert answers == summarized, query
        drill_down_invariants(answers)


async def test_deferred_summaries_are_not_read_until_caught_up(api: Api) -> None:
    """Catch-up mode (docs/DECISIONS.md "Deferred summaries"): while a platform's summaries are
    deferred they are stale, so the API answers from the normalized SQL; the catch-up rebuild
    makes them exact again and the API answers from them."""
    events = _world()
    await api.load(events[:-5])
    asker, requests = ApiAsker(api.client, SECRET, page_size=2), requests_for(("c1", "c2", "c3"))
    await apply_batch(api.conn, api.schema, as_consumed(events[-5:]), {}, defer_summaries=True)
    assert not await _summary_exact(api)
    model = ReferenceModel(events)
    deferred = [await compare_all(model, asker, query, requests) for query in QUERIES[:6]]

    assert await catch_up_summaries(api.conn, api.schema) == ["acme"]
    assert await _summary_exact(api)
    for query, answered in zip(QUERIES[:6], deferred, strict=True):
        assert await compare_all(model, asker, query, requests) == answered, query
