"""Reference model, part 3: who sees what (SPEC.md section 4, DECISIONS "Scope pairs").

A scope is a set of visible certificates plus a set of visible (certificate, learner) pairs,
the union over the requester's roles. ``None`` means the requester holds no role (403).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from tests.reference import rules
from tests.reference.entities import PlatformState


@dataclass
class Scope:
    certificates: set[str] = field(default_factory=set)
    pairs: set[tuple[str, str]] = field(default_factory=set)

    def add(self, other: Scope) -> None:
        self.certificates |= other.certificates
        self.pairs |= other.pairs


def listed_certificates(st: PlatformState) -> set[str]:
    """Certificates that can appear at all: known (state seen) and not deleted (DECISIONS)."""
    return {c.certificate_id for c in st.certificates.values() if c.state_at and not c.deleted}


def learner_ids(st: PlatformState) -> set[str]:
    """Every user id the platform knows, registered or only referenced."""
    return (
        set(st.users)
        | {n.user_id for n in st.enrollments.values()}
        | {g.user_id for g in st.grants.values()}
    )


def admin_scope(st: PlatformState) -> Scope:
    """``platform_admin``: every certificate and every learner."""
    certs = listed_certificates(st)
    return Scope(certs, {(c, u) for c in certs for u in learner_ids(st)})


def group_scope(st: PlatformState, group_id: str, as_of: datetime) -> Scope:
    """Admin/coach of G: members of G's subtree paired with every certificate; certificates
    linked to such a member or owned by a group of the subtree."""
    tree = rules.subtree(st, group_id)
    members = {u.user_id for u in st.users.values() if set(u.group_ids) & tree}
    certs = listed_certificates(st)
    linked = {c for c in certs for u in members if rules.is_linked(st, c, u, as_of)}
    owned = {c for c in certs if st.certificates[c].owner_group_id in tree}
    return Scope(linked | owned, {(c, u) for c in certs for u in members})


def path_scope(st: PlatformState, path_id: str) -> Scope:
    """Author of P or instructor of a session of P: cert(P) and its pairs with learners having
    a visible enrollment in a session of P."""
    cert = rules.path_granting(st, path_id)
    if cert is None:
        return Scope()
    learners = {
        n.user_id
        for n in st.enrollments.values()
        if n.session_id in st.sessions
        and st.sessions[n.session_id].state_at is not None
        and st.sessions[n.session_id].path_id == path_id
        and rules.enrollment_visible(st, n)
    }
    return Scope({cert} & listed_certificates(st), {(cert, u) for u in learners})


def _live_group_roles(st: PlatformState, requester_id: str) -> list[str]:
    return [
        group_id
        for (group_id, user_id, _), role in st.roles.items()
        if user_id == requester_id
        and role.granted
        and not (group_id in st.groups and st.groups[group_id].deleted)
    ]


def _path_roles(st: PlatformState, requester_id: str) -> tuple[bool, set[str]]:
    """(holds any path role, paths whose scope it opens)."""
    has_role, paths = False, set()
    for p in st.paths.values():
        if p.state_at and not p.deleted and requester_id in p.author_ids:
            has_role = True
            paths.add(p.path_id)
    for s in st.sessions.values():
        if s.state_at and not s.deleted and requester_id in s.instructor_ids:
            has_role = True
            if s.path_id is not None:
                paths.add(s.path_id)
    return has_role, paths


def scope_of(
    st: PlatformState, requester_id: str, platform_admin: bool, as_of: datetime
) -> Scope | None:
    """The requester's scope, or None when they hold no role at all (SPEC.md 4: 403)."""
    groups = _live_group_roles(st, requester_id)
    has_path_role, paths = _path_roles(st, requester_id)
    if not (platform_admin or groups or has_path_role):
        return None
    scope = admin_scope(st) if platform_admin else Scope()
    for group_id in groups:
        scope.add(group_scope(st, group_id, as_of))
    for path_id in paths:
        scope.add(path_scope(st, path_id))
    return scope
