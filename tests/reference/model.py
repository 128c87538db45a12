"""The reference model of certstats: an obviously-correct, pure-Python SPEC.md sections 2-5.

``ReferenceModel(events)`` folds events (consumption order, duplicates allowed) and answers the
query API's questions for a :class:`Query` (requester + filters). Rows carry exactly the JSON
fields of SPEC.md section 5, statuses as codes, dates as ``YYYY-MM-DD`` in ``tz``; lists are
complete and unsorted (no pagination). Errors: :class:`Forbidden` (no role, 403),
:class:`NotFound` (unknown or out of scope, 404).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from certstats_contracts.envelope import DomainEvent
from tests.reference import rules
from tests.reference.entities import Grant, PlatformState
from tests.reference.history import history_rows, local_date
from tests.reference.scope import Scope, learner_ids, scope_of
from tests.reference.state import fold

Row = dict[str, Any]


class Forbidden(Exception):
    """The requester holds no role (SPEC.md 4: 403 on every statistics endpoint)."""


class NotFound(Exception):
    """Unknown, deleted or out-of-scope certificate or learner (SPEC.md 4: 404)."""


@dataclass(frozen=True)
class Query:
    """Requester and filters of one request (SPEC.md 5, common parameters)."""

    platform_id: str
    requester_id: str
    as_of: datetime
    platform_admin: bool = False
    registered_from: date | None = None
    registered_to: date | None = None
    group_ids: Sequence[str] = ()
    custom_fields: Mapping[str, Sequence[str]] = field(default_factory=dict)
    user_status: str = "active"
    tz: str = "UTC"
    expiring_within_days: int = 30
    q: str | None = None

    def has_user_filter(self) -> bool:
        """Registration date, group or custom field filter given (SPEC.md 5.1)."""
        return bool(
            self.registered_from or self.registered_to or self.group_ids or self.custom_fields
        )


def _contains(haystacks: Iterable[str | None], needle: str | None) -> bool:
    """Case-insensitive substring search (the ``q`` parameter; DECISIONS "Search q")."""
    if needle is None:
        return True
    return any(needle.casefold() in (h or "").casefold() for h in haystacks)


class ReferenceModel:
    """Answers SPEC.md 5 queries from folded events."""

    def __init__(self, events: Iterable[DomainEvent]) -> None:
        self.states = fold(events)

    # --- building blocks ---------------------------------------------------------------

    def _state(self, query: Query) -> PlatformState:
        return self.states.get(query.platform_id) or PlatformState()

    def _scope(self, query: Query) -> Scope:
        scope = scope_of(self._state(query), query.requester_id, query.platform_admin, query.as_of)
        if scope is None:
            raise Forbidden(query.requester_id)
        return scope

    def _matches_filters(self, st: PlatformState, user_id: str, query: Query) -> bool:
        """User filters (SPEC.md 5; DECISIONS "Population filters")."""
        user = rules.user_or_placeholder(st, user_id)
        if query.user_status != "all" and user.status != query.user_status:
            return False
        if query.registered_from or query.registered_to:
            registered = local_date(user.registered_at, query.tz)
            if registered is None:
                return False
            if query.registered_from and registered < query.registered_from.isoformat():
                return False
            if query.registered_to and registered > query.registered_to.isoformat():
                return False
        if query.group_ids and not rules.member_of_any(st, user, query.group_ids):
            return False
        return all(user.custom_fields.get(k) in vs for k, vs in query.custom_fields.items())

    def _population(self, query: Query, scope: Scope, cert_id: str) -> set[str]:
        """Learners paired with ``cert_id`` in scope and matching the user filters."""
        st = self._state(query)
        return {
            u
            for u in learner_ids(st)
            if (cert_id, u) in scope.pairs and self._matches_filters(st, u, query)
        }

    def _latest(self, query: Query, cert_id: str, user_id: str) -> Grant | None:
        st = self._state(query)
        return rules.most_recent(rules.grants_of(st, cert_id, user_id, query.as_of))

    def _status(self, query: Query, grant: Grant | None) -> str:
        return rules.certificate_status(grant, query.as_of, query.expiring_within_days)

    def _in_scope(self, query: Query, cert_id: str) -> Scope:
        scope = self._scope(query)
        if cert_id not in scope.certificates:
            raise NotFound(cert_id)
        return scope

    # --- SPEC.md 5.1 -------------------------------------------------------------------

    def _certificate_row(self, query: Query, scope: Scope, cert_id: str) -> Row:
        st = self._state(query)
        cert = st.certificates[cert_id]
        population = self._population(query, scope, cert_id)
        certified = [u for u in population if rules.grants_of(st, cert_id, u, query.as_of)]
        statuses = [self._status(query, self._latest(query, cert_id, u)) for u in certified]
        owner = st.groups.get(cert.owner_group_id) if cert.owner_group_id else None
        return {
            "certificate_id": cert_id,
            "title": cert.title,
            "owner_group": cert.owner_group_id
            and {"group_id": cert.owner_group_id, "name": owner.name if owner else None},
            "validity_months": cert.validity_months,
            "certified_learners": len(certified),
            "enrolled_learners": sum(rules.is_enrolled(st, cert_id, u) for u in population),
            "associated_paths": len(self.certificate_paths(query, cert_id)),
            "valid_learners": statuses.count("valid"),
            "expiring_soon_learners": statuses.count("expiring_soon"),
            "expired_learners": statuses.count("expired"),
        }

    def _has_linked_learner(self, query: Query, scope: Scope, cert_id: str) -> bool:
        st = self._state(query)
        return any(
            rules.is_linked(st, cert_id, u, query.as_of)
            for u in self._population(query, scope, cert_id)
        )

    def certificate_list(self, query: Query) -> list[Row]:
        """``GET /v1/path-certificates``: certificates in scope with a linked population
        learner, or all in scope under ``user_status=all`` without user filters (SPEC.md 5.1)."""
        scope = self._scope(query)
        show_all = query.user_status == "all" and not query.has_user_filter()
        st = self._state(query)
        return [
            self._certificate_row(query, scope, c)
            for c in scope.certificates
            if _contains([st.certificates[c].title], query.q)
            and (show_all or self._has_linked_learner(query, scope, c))
        ]

    def certificate(self, query: Query, cert_id: str) -> Row:
        """``GET /v1/path-certificates/{id}``: the row of any certificate in scope
        (DECISIONS "Certificate detail"). Raises NotFound/Forbidden."""
        return self._certificate_row(query, self._in_scope(query, cert_id), cert_id)

    def certificate_paths(self, query: Query, cert_id: str) -> list[Row]:
        """Associated paths: non-deleted known paths granting C (DECISIONS)."""
        self._in_scope(query, cert_id)
        st = self._state(query)
        return [
            {"path_id": p.path_id, "name": p.name}
            for p in st.paths.values()
            if rules.path_granting(st, p.path_id) == cert_id
        ]

    # --- SPEC.md 5.2 -------------------------------------------------------------------

    def _learner_row(self, query: Query, cert_id: str, user_id: str) -> Row:
        user = rules.user_or_placeholder(self._state(query), user_id)
        grant = self._latest(query, cert_id, user_id)
        return {
            "user_id": user_id,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "email": user.email,
            "latest_status": self._status(query, grant),
            "delivery_date": local_date(grant.delivered_at if grant else None, query.tz),
            "expiration_date": local_date(grant.expires_at if grant else None, query.tz),
        }

    def _learner_rows(self, query: Query, cert_id: str, keep: set[str]) -> list[Row]:
        rows = [self._learner_row(query, cert_id, u) for u in keep]
        return [
            r
            for r in rows
            if _contains(
                [f"{r['first_name'] or ''} {r['last_name'] or ''}", r["email"]],
                query.q,
            )
        ]

    def learners(self, query: Query, cert_id: str) -> list[Row]:
        """One row per population learner linked to C (SPEC.md 5.2)."""
        population = self._population(query, self._in_scope(query, cert_id), cert_id)
        st = self._state(query)
        linked = {u for u in population if rules.is_linked(st, cert_id, u, query.as_of)}
        return self._learner_rows(query, cert_id, linked)

    def certified_learners(self, query: Query, cert_id: str) -> list[Row]:
        """Population learners with a visible grant of C delivered by as_of (SPEC.md 5.1)."""
        population = self._population(query, self._in_scope(query, cert_id), cert_id)
        st = self._state(query)
        certified = {u for u in population if rules.grants_of(st, cert_id, u, query.as_of)}
        return self._learner_rows(query, cert_id, certified)

    # --- SPEC.md 5.3 -------------------------------------------------------------------

    def history(self, query: Query, cert_id: str, user_id: str) -> list[Row]:
        """One row per visible enrollment of U in a session granting C, plus one per visible
        grant of C linked to none of them (SPEC.md 5.3). Scope only; no user filters."""
        scope = self._in_scope(query, cert_id)
        st = self._state(query)
        if (cert_id, user_id) not in scope.pairs or not rules.is_linked(
            st, cert_id, user_id, query.as_of
        ):
            raise NotFound(user_id)
        return history_rows(st, cert_id, user_id, query.as_of, query.expiring_within_days, query.tz)
