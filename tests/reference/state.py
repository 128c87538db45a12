"""Reference model, part 1: folding events into plain state (SPEC.md section 3, DECISIONS.md).

Deliberately naive: one dataclass per entity, one small function per event type. Rules:
- the same (platform, event id) twice is the same event: repeats are ignored;
- state events and toggles are last-writer-wins by envelope ``time``, ties: later consumed;
- path status is last-writer-wins by the payload's ``changed_at`` / ``completed_at``;
- deletions and revocations are final;
- an event about an unknown entity creates a placeholder (``state_at is None``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from certstats_contracts import events as ev
from certstats_contracts.envelope import DomainEvent
from tests.reference.entities import (
    Certificate,
    Enrollment,
    Grant,
    Group,
    Path,
    PlatformState,
    Role,
    Session,
    User,
)


def wins(current_at: datetime | None, new_at: datetime) -> bool:
    """Last writer wins: the new write applies unless an older-consumed write is newer.

    ``>=`` because a new (non-duplicate) event is always the later-consumed one (SPEC.md 3).
    """
    return current_at is None or new_at >= current_at


def _user_state(st: PlatformState, e: DomainEvent, d: Any) -> None:
    u = st.users.setdefault(d.user_id, User(d.user_id))
    if wins(u.state_at, e.time):
        u.first_name, u.last_name, u.email = d.first_name, d.last_name, d.email
        u.registered_at, u.custom_fields = d.registered_at, dict(d.custom_fields)
        u.group_ids, u.state_at = tuple(d.group_ids), e.time


def _user_status(status: str) -> Callable[[PlatformState, DomainEvent, Any], None]:
    def apply(st: PlatformState, e: DomainEvent, d: Any) -> None:
        u = st.users.setdefault(d.user_id, User(d.user_id))
        if wins(u.status_at, e.time):
            u.status, u.status_at = status, e.time

    return apply


def _group_state(st: PlatformState, e: DomainEvent, d: Any) -> None:
    g = st.groups.setdefault(d.group_id, Group(d.group_id))
    if wins(g.state_at, e.time):
        g.name, g.parent_group_id, g.state_at = d.name, d.parent_group_id, e.time


def _role(granted: bool) -> Callable[[PlatformState, DomainEvent, Any], None]:
    def apply(st: PlatformState, e: DomainEvent, d: Any) -> None:
        key = (d.group_id, d.user_id, str(d.role))
        current = st.roles.get(key)
        if wins(current.at if current else None, e.time):
            st.roles[key] = Role(granted, e.time)

    return apply


def _certificate_state(st: PlatformState, e: DomainEvent, d: Any) -> None:
    c = st.certificates.setdefault(d.certificate_id, Certificate(d.certificate_id))
    if wins(c.state_at, e.time):
        c.title, c.owner_group_id = d.title, d.owner_group_id
        c.validity_months, c.state_at = d.validity_months, e.time


def _path_state(st: PlatformState, e: DomainEvent, d: Any) -> None:
    p = st.paths.setdefault(d.path_id, Path(d.path_id))
    if wins(p.state_at, e.time):
        p.name, p.certificate_id = d.name, d.certificate_id
        p.author_ids, p.state_at = tuple(d.author_ids), e.time


def _session_state(st: PlatformState, e: DomainEvent, d: Any) -> None:
    s = st.sessions.setdefault(d.session_id, Session(d.session_id))
    if wins(s.state_at, e.time):
        s.path_id, s.name, s.starts_at, s.ends_at = d.path_id, d.name, d.starts_at, d.ends_at
        s.instructor_ids, s.automatic_reenrollment = (
            tuple(d.instructor_ids),
            d.automatic_reenrollment,
        )
        s.state_at = e.time


def _session_archive(archived: bool) -> Callable[[PlatformState, DomainEvent, Any], None]:
    def apply(st: PlatformState, e: DomainEvent, d: Any) -> None:
        s = st.sessions.setdefault(d.session_id, Session(d.session_id))
        if wins(s.archive_at, e.time):
            s.archived, s.archive_at = archived, e.time

    return apply


def _enrollment(st: PlatformState, d: Any) -> Enrollment:
    return st.enrollments.setdefault(d.enrollment_id, Enrollment(d.enrollment_id, d.user_id))


def _enrollment_created(st: PlatformState, e: DomainEvent, d: Any) -> None:
    n = _enrollment(st, d)
    if wins(n.state_at, e.time):
        n.user_id, n.session_id, n.enrolled_at = d.user_id, d.session_id, d.enrolled_at
        n.automatic_reenrollment, n.state_at = d.automatic_reenrollment, e.time


def _enrollment_status(at_field: str) -> Callable[[PlatformState, DomainEvent, Any], None]:
    def apply(st: PlatformState, e: DomainEvent, d: Any) -> None:
        n, at = _enrollment(st, d), getattr(d, at_field)
        if wins(n.path_status_at, at):
            n.path_status, n.path_status_at = str(d.status), at

    return apply


def _grant_state(st: PlatformState, e: DomainEvent, d: Any) -> None:
    g = st.grants.setdefault(d.grant_id, Grant(d.grant_id, d.user_id))
    if wins(g.state_at, e.time):
        g.user_id, g.certificate_id = d.user_id, d.certificate_id
        g.enrollment_id, g.session_id = d.enrollment_id, d.session_id
        g.delivered_at, g.expires_at, g.state_at = d.delivered_at, d.expires_at, e.time


def _final(table: str, key: str, flag: str) -> Callable[[PlatformState, DomainEvent, Any], None]:
    """A final deletion/revocation: creates a placeholder if needed, sets ``flag`` for good."""
    factories: dict[str, Callable[[Any], Any]] = {
        "groups": lambda d: Group(d.group_id),
        "certificates": lambda d: Certificate(d.certificate_id),
        "paths": lambda d: Path(d.path_id),
        "sessions": lambda d: Session(d.session_id),
        "enrollments": lambda d: Enrollment(d.enrollment_id, d.user_id),
        "grants": lambda d: Grant(d.grant_id, d.user_id),
    }

    def apply(st: PlatformState, e: DomainEvent, d: Any) -> None:
        rows = getattr(st, table)
        row = rows.setdefault(getattr(d, key), factories[table](d))
        setattr(row, flag, True)

    return apply


HANDLERS: dict[str, Callable[[PlatformState, DomainEvent, Any], None]] = {
    "user.registered": _user_state,
    "user.updated": _user_state,
    "user.deleted": _user_status("deleted"),
    "user.reactivated": _user_status("active"),
    "group.created": _group_state,
    "group.updated": _group_state,
    "group.deleted": _final("groups", "group_id", "deleted"),
    "group.role_granted": _role(True),
    "group.role_revoked": _role(False),
    "certificate.created": _certificate_state,
    "certificate.updated": _certificate_state,
    "certificate.deleted": _final("certificates", "certificate_id", "deleted"),
    "path.created": _path_state,
    "path.updated": _path_state,
    "path.deleted": _final("paths", "path_id", "deleted"),
    "path_session.created": _session_state,
    "path_session.updated": _session_state,
    "path_session.archived": _session_archive(True),
    "path_session.unarchived": _session_archive(False),
    "path_session.deleted": _final("sessions", "session_id", "deleted"),
    "enrollment.created": _enrollment_created,
    "enrollment.status_changed": _enrollment_status("changed_at"),
    "enrollment.completed": _enrollment_status("completed_at"),
    "enrollment.deleted": _final("enrollments", "enrollment_id", "deleted"),
    "certificate.granted": _grant_state,
    "certificate.revoked": _final("grants", "grant_id", "revoked"),
}
assert set(HANDLERS) == set(ev.EVENT_DATA_MODELS), "the model must handle every v1 event type"


def fold(events: Iterable[DomainEvent]) -> dict[str, PlatformState]:
    """Fold events, in consumption order, into one :class:`PlatformState` per platform id.

    Repeats of an already-seen (platform id, event id) are ignored (SPEC.md section 3).
    """
    states: dict[str, PlatformState] = {}
    seen: set[tuple[str, str]] = set()
    for event in events:
        if (event.platform_id, event.id) in seen:
            continue
        seen.add((event.platform_id, event.id))
        HANDLERS[event.type](
            states.setdefault(event.platform_id, PlatformState()), event, event.data
        )
    return states
