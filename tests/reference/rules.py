"""Reference model, part 2: the domain rules over folded state (SPEC.md sections 2 and 4).

One function per rule, each naming its source. Written for obviousness, not speed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from tests.reference.entities import Enrollment, Grant, PlatformState, User

# --- visibility and what a session grants (SPEC.md 2, DECISIONS "Unknown entities") ----------


def path_granting(st: PlatformState, path_id: str | None) -> str | None:
    """Certificate granted by a known, non-deleted path (None when deleted/unknown/none)."""
    path = st.paths.get(path_id) if path_id is not None else None
    if path is None or path.state_at is None or path.deleted:
        return None
    return path.certificate_id


def session_granting(st: PlatformState, session_id: str | None) -> str | None:
    """Certificate a known, non-deleted session grants through its path (SPEC.md 2)."""
    session = st.sessions.get(session_id) if session_id is not None else None
    if session is None or session.state_at is None or session.deleted:
        return None
    return path_granting(st, session.path_id)


def session_deleted(st: PlatformState, session_id: str | None) -> bool:
    """A session counts as deleted when it, or its path, is deleted (SPEC.md 2, visibility)."""
    session = st.sessions.get(session_id) if session_id is not None else None
    if session is None:
        return False
    path = st.paths.get(session.path_id) if session.path_id is not None else None
    return session.deleted or (path is not None and path.deleted)


def enrollment_visible(st: PlatformState, n: Enrollment) -> bool:
    """Visible unless deleted or its session, or that session's path, is deleted (SPEC.md 2)."""
    return not n.deleted and not session_deleted(st, n.session_id)


def grant_visible(st: PlatformState, g: Grant) -> bool:
    """Visible unless revoked, its certificate deleted, its enrollment (if any) not visible, or
    its session (if any) or that session's path deleted (SPEC.md 2). Unknown references are
    not deleted."""
    cert = st.certificates.get(g.certificate_id) if g.certificate_id is not None else None
    enrollment = st.enrollments.get(g.enrollment_id) if g.enrollment_id is not None else None
    return not (
        g.revoked
        or g.state_at is None
        or (cert is not None and cert.deleted)
        or (enrollment is not None and not enrollment_visible(st, enrollment))
        or session_deleted(st, g.session_id)
    )


def grants_of(st: PlatformState, cert_id: str, user_id: str, as_of: datetime) -> list[Grant]:
    """Visible grants of ``cert_id`` to ``user_id`` that exist at ``as_of`` (delivered <= as_of)."""
    return [
        g
        for g in st.grants.values()
        if g.certificate_id == cert_id
        and g.user_id == user_id
        and g.delivered_at is not None
        and g.delivered_at <= as_of
        and grant_visible(st, g)
    ]


def enrollments_granting(st: PlatformState, cert_id: str, user_id: str) -> list[Enrollment]:
    """Visible enrollments of ``user_id`` in sessions granting ``cert_id`` (archived included)."""
    return [
        n
        for n in st.enrollments.values()
        if n.user_id == user_id
        and session_granting(st, n.session_id) == cert_id
        and enrollment_visible(st, n)
    ]


def is_enrolled(st: PlatformState, cert_id: str, user_id: str) -> bool:
    """Enrolled: a visible enrollment in a non-archived session granting C (SPEC.md 5.1)."""
    return any(
        not st.sessions[n.session_id].archived
        for n in enrollments_granting(st, cert_id, user_id)
        if n.session_id is not None
    )


def is_linked(st: PlatformState, cert_id: str, user_id: str, as_of: datetime) -> bool:
    """Linked: a visible enrollment in a session granting C or a visible grant of C delivered
    by ``as_of`` (DECISIONS "Linked")."""
    return bool(
        enrollments_granting(st, cert_id, user_id) or grants_of(st, cert_id, user_id, as_of)
    )


# --- statuses (SPEC.md 2) -------------------------------------------------------------------


def certificate_status(g: Grant | None, as_of: datetime, window_days: int) -> str:
    """valid / expiring_soon / expired of a grant at ``as_of``; not_obtained without a grant."""
    if g is None:
        return "not_obtained"
    if g.expires_at is None or g.expires_at > as_of + timedelta(days=window_days):
        return "valid"
    return "expiring_soon" if g.expires_at > as_of else "expired"


def most_recent(grants: Iterable[Grant]) -> Grant | None:
    """Greatest delivered_at; ties: greatest expires_at (null greatest), then grant_id."""

    def key(g: Grant) -> tuple[datetime, bool, datetime, str]:
        assert g.delivered_at is not None
        never = g.expires_at is None
        return (g.delivered_at, never, g.expires_at or g.delivered_at, g.grant_id)

    return max(grants, key=key, default=None)


def path_status(st: PlatformState, n: Enrollment, as_of: datetime) -> str:
    """The latest status event's code; without one ``sessionNotOpened`` before the session
    starts at ``as_of``, else ``notYetStarted`` (SPEC.md 2)."""
    if n.path_status is not None:
        return n.path_status
    session = st.sessions.get(n.session_id) if n.session_id is not None else None
    starts_at = session.starts_at if session is not None else None
    return "sessionNotOpened" if starts_at is not None and as_of < starts_at else "notYetStarted"


# --- groups (SPEC.md 2-4, DECISIONS "Scope pairs") ----------------------------------------------


def subtree(st: PlatformState, group_id: str) -> set[str]:
    """The group and all its descendants; deleted groups are absent from the tree."""
    if group_id in st.groups and st.groups[group_id].deleted:
        return set()
    found, frontier = {group_id}, [group_id]
    while frontier:
        parent = frontier.pop()
        for g in st.groups.values():
            if g.parent_group_id == parent and not g.deleted and g.group_id not in found:
                found.add(g.group_id)
                frontier.append(g.group_id)
    return found


def member_of_any(st: PlatformState, user: User, group_ids: Iterable[str]) -> bool:
    """Member of one of the groups or of one of their subgroups (deleted groups excluded)."""
    tree: set[str] = set()
    for group_id in group_ids:
        tree |= subtree(st, group_id)
    return bool(tree & set(user.group_ids))


def user_or_placeholder(st: PlatformState, user_id: str) -> User:
    """The user, or the placeholder DECISIONS describes: active, no profile, no groups."""
    return st.users.get(user_id) or User(user_id)
