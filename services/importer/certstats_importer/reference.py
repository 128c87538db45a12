"""Reference events of the ``ou`` stream: groups, staff, roles, catalogue (SPEC.md §7).

All are timed at the reference instant (one day before the earliest presentation start),
except the archiving of 2013 sessions.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from certstats_contracts.events import (
    CertificateState,
    GroupRole,
    GroupRoleChange,
    GroupState,
    PathState,
    UserState,
)
from certstats_importer import ids
from certstats_importer.catalog import (
    COACHED_GROUPS,
    GROUP_TREE,
    NATIONS,
    VALIDITY_MONTHS,
    group_id_of,
)
from certstats_importer.facts import Fact


def group_facts(at: datetime) -> Iterator[Fact]:
    """``group.created`` for the whole tree, parents first."""
    for node in GROUP_TREE:
        parent = group_id_of(node.parent) if node.parent else None
        data = GroupState(group_id=node.group_id, name=node.name, parent_group_id=parent)
        yield Fact(at, "group.created", data, (node.group_id,))


def staff_facts(at: datetime, modules: list[str]) -> Iterator[Fact]:
    """Staff users (``user.registered``, members of the root group) and their roles.

    A coach per group students belong to, an admin per nation, an author per module's path.
    """
    roles = [(ids.coach_id(g), group_id_of(g), GroupRole.COACH) for g in COACHED_GROUPS]
    roles += [(ids.admin_id(g), group_id_of(g), GroupRole.ADMIN) for g in NATIONS]
    for user_id, _, _ in roles:
        yield _staff_user(at, user_id)
    for module in modules:
        yield _staff_user(at, ids.author_id(module))
    for user_id, group_id, role in roles:
        data = GroupRoleChange(group_id=group_id, user_id=user_id, role=role)
        yield Fact(at, "group.role_granted", data, (group_id, user_id, role.value))


def _staff_user(at: datetime, user_id: str) -> Fact:
    data = UserState(
        user_id=user_id,
        first_name="Staff",
        last_name=user_id,
        email=f"{user_id}@staff.example",
        registered_at=at,
        group_ids=[ids.ROOT_GROUP_ID],
    )
    return Fact(at, "user.registered", data, (user_id,))


def catalogue_facts(at: datetime, modules: list[str]) -> Iterator[Fact]:
    """``certificate.created`` then ``path.created`` for each module (root owns certificates)."""
    for module in modules:
        cert_id = ids.certificate_id(module)
        data = CertificateState(
            certificate_id=cert_id,
            title=f"Module {module} certificate",
            owner_group_id=ids.ROOT_GROUP_ID,
            validity_months=VALIDITY_MONTHS[module],
        )
        yield Fact(at, "certificate.created", data, (cert_id,))
    for module in modules:
        path = PathState(
            path_id=ids.path_id(module),
            name=f"Module {module}",
            certificate_id=ids.certificate_id(module),
            author_ids=[ids.author_id(module)],
        )
        yield Fact(at, "path.created", path, (path.path_id,))
