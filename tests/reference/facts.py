"""Hypothesis strategies of learner facts and changes: every v1 event type as
``(event type, payload)``, with enrollments and grants each owned by one learner."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from tests.reference.pools import (
    CERTS,
    ENROLLMENTS,
    EXPIRIES,
    GRANTS,
    GROUPS,
    LEARNERS,
    PATH_STATUSES,
    PATHS,
    SESSIONS,
    STAFF,
    T0,
    UPDATED_KINDS,
    USUAL_CERTIFICATE,
    USUAL_PATH,
    instants,
    maybe,
    unknown,
    user_state,
    usually,
)


@dataclass(frozen=True)
class Ownership:
    """Per history: the learner of each enrollment and grant, and each enrollment's usual
    session (so grants usually name an enrollment in a session granting their certificate)."""

    users: dict[str, str]
    sessions: dict[str, str]


def ownerships() -> st.SearchStrategy[Ownership]:
    """Random owners of every pooled enrollment and grant."""
    return st.builds(
        Ownership,
        st.fixed_dictionaries({e: st.sampled_from(LEARNERS) for e in (*ENROLLMENTS, *GRANTS)}),
        st.fixed_dictionaries({e: st.sampled_from(SESSIONS) for e in ENROLLMENTS}),
    )


def _owned(owners: Ownership, pool: tuple[str, ...]) -> st.SearchStrategy[tuple[str, str]]:
    return st.sampled_from(pool).map(lambda entity_id: (entity_id, owners.users[entity_id]))


@st.composite
def _enrollment_created(draw: st.DrawFn, owners: Ownership) -> dict[str, Any]:
    enrollment_id, user_id = draw(_owned(owners, ENROLLMENTS))
    return {
        "enrollment_id": enrollment_id,
        "user_id": user_id,
        "session_id": draw(usually(owners.sessions[enrollment_id], SESSIONS)),
        "enrolled_at": draw(instants),
        "method": draw(st.sampled_from(("assigned", "self_enrolled"))),
        "automatic_reenrollment": draw(st.booleans()),
        "previous_enrollment_id": draw(maybe(st.sampled_from(ENROLLMENTS))),
    }


@st.composite
def _certificate_granted(draw: st.DrawFn, owners: Ownership) -> dict[str, Any]:
    grant_id, user_id = draw(_owned(owners, GRANTS))
    theirs = [e for e in ENROLLMENTS if owners.users[e] == user_id] + ["e9"]
    enrollment_id = draw(maybe(st.sampled_from(theirs)))
    session_id = draw(maybe(usually(owners.sessions.get(enrollment_id or "", "s9"), SESSIONS)))
    usual = USUAL_CERTIFICATE.get(USUAL_PATH.get(session_id or "", ""), "c9")
    return {
        "grant_id": grant_id,
        "user_id": user_id,
        "certificate_id": draw(usually(usual, CERTS)),
        "enrollment_id": enrollment_id,
        "session_id": session_id,
        "delivered_at": draw(instants),
        "expires_at": draw(maybe(st.sampled_from(EXPIRIES))),
    }


def _enrollment_fact(owners: Ownership, **fields: Any) -> st.SearchStrategy[dict[str, Any]]:
    def build(pair: tuple[str, str], extra: dict[str, Any]) -> dict[str, Any]:
        return {"enrollment_id": pair[0], "user_id": pair[1], **extra}

    return st.builds(build, _owned(owners, ENROLLMENTS), st.fixed_dictionaries(fields))


def _kind(kind: str, data: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[Any]:
    return data.map(lambda d: (kind, d))


def _ids(field: str, pool: tuple[str, ...], **more: Any) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({field: unknown(pool), **more})


def twice(strategy: st.SearchStrategy[Any]) -> tuple[st.SearchStrategy[Any], ...]:
    """``strategy`` listed twice: doubles its weight in ``st.one_of``."""
    return (strategy, strategy)


def fact_strategies(owners: Ownership) -> list[st.SearchStrategy[Any]]:
    """(event type, payload) strategies for every v1 event type, learner facts weighted up."""
    staff = st.sampled_from(STAFF + LEARNERS[:1])
    role = st.fixed_dictionaries(
        {
            "group_id": unknown(GROUPS),
            "user_id": staff,
            "role": st.sampled_from(("admin", "coach")),
        }
    )
    grant_ids = _owned(owners, GRANTS).map(lambda pair: {"grant_id": pair[0], "user_id": pair[1]})
    users = st.sampled_from(LEARNERS + STAFF)
    return [
        *(
            _kind(f"{entity}.updated", st.sampled_from(pool).flatmap(strategy))
            for entity, strategy, pool in UPDATED_KINDS
        ),
        *twice(_kind("user.deleted", _ids("user_id", LEARNERS, deleted_at=instants))),
        _kind("user.reactivated", _ids("user_id", LEARNERS, reactivated_at=instants)),
        *twice(_kind("group.deleted", _ids("group_id", ("g2", "g3", "g1", "g4")))),
        *(
            _kind(k, role)
            for k in (
                "group.role_granted",
                "group.role_granted",
                "group.role_granted",
                "group.role_revoked",
            )
        ),
        _kind("certificate.deleted", _ids("certificate_id", CERTS)),
        _kind("path.deleted", _ids("path_id", PATHS)),
        *twice(_kind("path_session.archived", _ids("session_id", SESSIONS, archived_at=instants))),
        *twice(_kind("path_session.unarchived", _ids("session_id", SESSIONS))),
        _kind("path_session.deleted", _ids("session_id", SESSIONS, deleted_at=instants)),
        *twice(_kind("enrollment.created", _enrollment_created(owners))),
        _kind(
            "enrollment.status_changed",
            _enrollment_fact(owners, status=st.sampled_from(PATH_STATUSES), changed_at=instants),
        ),
        _kind(
            "enrollment.completed",
            _enrollment_fact(
                owners,
                status=st.sampled_from(("successful", "unsuccessful")),
                completed_at=instants,
            ),
        ),
        _kind("enrollment.deleted", _enrollment_fact(owners, deleted_at=instants)),
        *twice(_kind("certificate.granted", _certificate_granted(owners))),
        *twice(_kind("certificate.revoked", grant_ids.map(lambda d: {**d, "revoked_at": T0}))),
        _kind("user.registered", users.flatmap(user_state)),
    ]


LEARNER_FACTS = (
    ("enrollment.created", _enrollment_created),
    ("certificate.granted", _certificate_granted),
)
