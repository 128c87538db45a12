"""A deterministic synthetic LMS event stream with a realistic mix (SPEC.md section 3).

Used by the projector benchmark and the projector's Kafka tests. Each item is a Kafka
message ``(key, value)``: key ``<platformid>:<entity id>``, value a CloudEvents JSON document.
Reference data (groups, certificates, paths, sessions) comes first per platform; learner facts
follow in ``time`` order: registrations, enrollments, status changes, completions, grants and
a few updates, deletions, revocations and role changes.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

T0 = datetime(2025, 1, 1, tzinfo=UTC)
Message = tuple[bytes, bytes]

_LEARNER_MIX = (
    ("user.registered", 10),
    ("enrollment.created", 30),
    ("enrollment.status_changed", 30),
    ("enrollment.completed", 10),
    ("certificate.granted", 10),
    ("user.updated", 3),
    ("enrollment.deleted", 2),
    ("certificate.revoked", 1),
    ("group.role_granted", 1),
    ("user.deleted", 1),
    ("path_session.archived", 1),
    ("bogus.future_type", 1),
)
_STATUSES = ("notYetStarted", "onTime", "awaitingCorrection", "late", "toRetake")


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class _Stream:
    def __init__(self, platforms: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.platforms = [f"p{n}" for n in range(platforms)]
        self.tick = 0
        self.users: dict[str, list[str]] = {p: [] for p in self.platforms}
        self.enrollments: dict[str, list[tuple[str, str]]] = {p: [] for p in self.platforms}
        self.grants: dict[str, list[tuple[str, str]]] = {p: [] for p in self.platforms}

    def message(self, platform: str, event_type: str, key: str, data: dict[str, Any]) -> Message:
        self.tick += 1
        now = T0 + timedelta(seconds=self.tick)
        document = {
            "specversion": "1.0",
            "id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            "source": "bench/synthetic",
            "type": event_type,
            "time": _iso(now),
            "platformid": platform,
            "datacontenttype": "application/json",
            "data": data,
        }
        return f"{platform}:{key}".encode(), json.dumps(document).encode()

    def reference(self, p: str) -> Iterator[Message]:
        yield self.message(p, "group.created", "g0", {"group_id": "g0", "name": "Root"})
        for g in range(1, 10):
            data = {"group_id": f"g{g}", "name": f"Group {g}", "parent_group_id": "g0"}
            yield self.message(p, "group.created", f"g{g}", data)
        for c in range(20):
            cert: dict[str, Any] = {
                "certificate_id": f"c{c}",
                "title": f"Certificate {c}",
                "owner_group_id": "g0",
            }
            cert["validity_months"] = (c % 4) * 12 or None
            yield self.message(p, "certificate.created", f"c{c}", cert)
            path = {"path_id": f"pa{c}", "name": f"Path {c}", "certificate_id": f"c{c}"}
            yield self.message(p, "path.created", f"pa{c}", path | {"author_ids": ["author"]})
            for s in range(5):
                sid = f"s{c}-{s}"
                session: dict[str, Any] = {
                    "session_id": sid,
                    "path_id": f"pa{c}",
                    "name": f"Session {sid}",
                }
                session |= {"starts_at": _iso(T0 + timedelta(days=30 * s)), "ends_at": None}
                yield self.message(p, "path_session.created", sid, session)

    def learner_fact(self) -> Message:
        p = self.rng.choice(self.platforms)
        types, weights = zip(*_LEARNER_MIX, strict=True)
        kind = self.rng.choices(types, weights)[0]
        if not self.users[p] or (kind != "user.registered" and not self.enrollments[p]):
            kind = "user.registered" if not self.users[p] else "enrollment.created"
        make: Callable[[str], Message] = getattr(self, "_" + kind.replace(".", "_"))
        return make(p)

    def _user_registered(self, p: str, kind: str = "user.registered") -> Message:
        if kind == "user.registered":
            self.users[p].append(f"u{len(self.users[p])}")
        user = self.users[p][-1] if kind == "user.registered" else self.rng.choice(self.users[p])
        now = _iso(T0 + timedelta(seconds=self.tick))
        data: dict[str, Any] = {
            "user_id": user,
            "first_name": "Learner",
            "last_name": user,
            "registered_at": now,
        }
        data |= {"email": f"{user}@{p}.example", "group_ids": [f"g{self.rng.randrange(1, 10)}"]}
        data["custom_fields"] = {"Region": self.rng.choice(("North", "South", "=1+1"))}
        return self.message(p, kind, user, data)

    def _user_updated(self, p: str) -> Message:
        return self._user_registered(p, "user.updated")

    def _user_deleted(self, p: str) -> Message:
        user = self.rng.choice(self.users[p])
        return self.message(p, "user.deleted", user, {"user_id": user, "deleted_at": _iso(T0)})

    def _enrollment_created(self, p: str) -> Message:
        user = self.rng.choice(self.users[p])
        enrollment = f"e{len(self.enrollments[p])}"
        self.enrollments[p].append((enrollment, user))
        session = f"s{self.rng.randrange(20)}-{self.rng.randrange(5)}"
        data: dict[str, Any] = {"enrollment_id": enrollment, "user_id": user, "session_id": session}
        data |= {"enrolled_at": _iso(T0), "method": "assigned", "automatic_reenrollment": False}
        return self.message(p, "enrollment.created", user, data)

    def _enrollment_fact(self, p: str, kind: str, extra: dict[str, Any]) -> Message:
        enrollment, user = self.rng.choice(self.enrollments[p])
        data = {"enrollment_id": enrollment, "user_id": user} | extra
        return self.message(p, kind, user, data)

    def _enrollment_status_changed(self, p: str) -> Message:
        at = _iso(T0 + timedelta(seconds=self.tick))
        extra = {"status": self.rng.choice(_STATUSES), "changed_at": at}
        return self._enrollment_fact(p, "enrollment.status_changed", extra)

    def _enrollment_completed(self, p: str) -> Message:
        at = _iso(T0 + timedelta(seconds=self.tick))
        extra = {"status": self.rng.choice(("successful", "unsuccessful")), "completed_at": at}
        return self._enrollment_fact(p, "enrollment.completed", extra)

    def _enrollment_deleted(self, p: str) -> Message:
        extra = {"deleted_at": _iso(T0 + timedelta(seconds=self.tick))}
        return self._enrollment_fact(p, "enrollment.deleted", extra)

    def _certificate_granted(self, p: str) -> Message:
        enrollment, user = self.rng.choice(self.enrollments[p])
        grant = f"gr{len(self.grants[p])}"
        self.grants[p].append((grant, user))
        delivered = T0 + timedelta(seconds=self.tick)
        data = {"grant_id": grant, "certificate_id": f"c{self.rng.randrange(20)}", "user_id": user}
        data |= {"enrollment_id": enrollment, "delivered_at": _iso(delivered)}
        data["expires_at"] = _iso(delivered + timedelta(days=365))
        return self.message(p, "certificate.granted", user, data)

    def _certificate_revoked(self, p: str) -> Message:
        if not self.grants[p]:
            return self._certificate_granted(p)
        grant, user = self.rng.choice(self.grants[p])
        data = {"grant_id": grant, "user_id": user, "revoked_at": _iso(T0)}
        return self.message(p, "certificate.revoked", user, data)

    def _group_role_granted(self, p: str) -> Message:
        data = {"group_id": f"g{self.rng.randrange(10)}", "user_id": "coach", "role": "coach"}
        return self.message(p, "group.role_granted", data["group_id"], data)

    def _path_session_archived(self, p: str) -> Message:
        session = f"s{self.rng.randrange(20)}-{self.rng.randrange(5)}"
        data = {"session_id": session, "archived_at": _iso(T0)}
        return self.message(p, "path_session.archived", session, data)

    def _bogus_future_type(self, p: str) -> Message:
        return self.message(p, "bogus.future_type", "x", {"anything": 1})


def synthetic_stream(count: int, *, platforms: int = 3, seed: int = 7) -> Iterator[Message]:
    """``count`` messages (reference data first), deterministic for a given ``seed``.

    About 1 % are of an unknown type (``bogus.future_type``), skipped by the projector.
    """
    stream = _Stream(platforms, seed)
    produced = 0
    for platform in stream.platforms:
        for message in stream.reference(platform):
            if produced == count:
                return
            produced += 1
            yield message
    while produced < count:
        produced += 1
        yield stream.learner_fact()
