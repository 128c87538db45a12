"""Hypothesis building blocks: tiny id pools, instant grids and entity state payloads.

Id pools are tiny so entities collide; ``*9`` ids never get a state event (unknown
references). Payload instants come from a 10-day grid (midnight and 23:00 UTC, so dates differ
across time zones) around the query instants, so the 30-day window boundaries are hit exactly.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

PLATFORMS = ("acme", "globex")
GROUPS = ("g1", "g2", "g3", "g4")
CERTS = ("c1", "c2", "c3")
PATHS = ("pa1", "pa2", "pa3")
SESSIONS = ("s1", "s2", "s3", "s4")
LEARNERS = ("u1", "u2", "u3", "u4", "u5")
STAFF = ("r1", "r2", "r3")
ENROLLMENTS = ("e1", "e2", "e3", "e4", "e5", "e6", "e7", "e8")
GRANTS = ("gr1", "gr2", "gr3", "gr4", "gr5", "gr6", "gr7", "gr8")
PATH_STATUSES = ("notYetStarted", "onTime", "late", "toRetake", "successful", "unsuccessful")
CUSTOM = {"dept": ("ops", "it"), "site": ("north", "south")}
T0 = datetime(2026, 1, 1, tzinfo=UTC)
GRID = tuple(T0 + timedelta(days=10 * k, hours=h) for k in range(12) for h in (0, 23))
EVENT_TIMES = tuple(T0 + timedelta(days=d) for d in (0, 1, 2, 3))
AS_OF = (*(T0 + timedelta(days=10 * k) for k in (3, 6, 9)), T0 + timedelta(days=120, hours=12))
"""Query instants. The last is after every delivery of the grid, so the API answers it from its
summary read models; the others often precede a delivery (the normalized fallback). It is
mid-day, so the expiries 11 hours either side of it (:data:`EXPIRIES`) fall on its UTC day."""
TIMEZONES = ("America/New_York", "UTC", "Europe/Paris", "Pacific/Kiritimati")
"""First is likeliest (hypothesis favours early elements): a zone that moves dates."""

REGISTERED = (T0, T0 - timedelta(hours=1), T0 + timedelta(days=10, hours=23))
REGISTRATION_DATES = tuple(
    sorted(
        {(i + timedelta(days=d)).date() for i in REGISTERED for d in (-1, 0, 1)},
        key=lambda day: abs((day - T0.date()).days + 0.5),  # the dates zones move first
    )
)
"""Few registration instants (some at 23:00 UTC, a different date in most zones) and filter
dates on and around them, so that inclusive bounds and time zones decide."""
EXPIRIES = GRID + tuple(
    a + timedelta(days=w, hours=h) for a in AS_OF for w in (0, 30, 45) for h in (0, 0, -11, 11)
)
"""Expiry instants, often exactly on a window boundary of a query instant, else 11 hours
either side (the same UTC day for the mid-day query instant)."""

USUAL_CERTIFICATE = {"pa1": "c1", "pa2": "c2", "pa3": "c1"}
USUAL_PATH = {"s1": "pa1", "s2": "pa1", "s3": "pa2", "s4": "pa3"}
"""Links most histories keep, so that sessions grant certificates that learners hold."""

instants = st.sampled_from(GRID)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``strategy``'s value five times out of six, else None."""
    return st.sampled_from((1, 1, 1, 1, 1, 0)).flatmap(lambda n: strategy if n else st.none())


def unknown(pool: tuple[str, ...]) -> st.SearchStrategy[str]:
    """An id of the pool, about one time in ten one that never gets a state event."""
    return st.sampled_from((*pool, *pool, *pool, f"{pool[0][:-1]}9"))


def usually(value: str, pool: tuple[str, ...]) -> st.SearchStrategy[str]:
    """``value`` about half the time, else any id of the pool or one never seen."""
    return st.sampled_from((value, value, value, *pool, f"{pool[0][:-1]}9"))


@st.composite
def user_state(draw: st.DrawFn, user_id: str) -> dict[str, Any]:
    fields = {k: draw(st.sampled_from(v)) for k, v in CUSTOM.items() if draw(st.booleans())}
    return {
        "user_id": user_id,
        "first_name": draw(st.sampled_from(("Ann", "Bob", "Zoë"))),
        "last_name": draw(st.sampled_from(("Li", "Núñez", user_id))),
        "email": f"{user_id}@{draw(st.sampled_from(('a.example', 'b.example')))}",
        "registered_at": draw(st.sampled_from(REGISTERED)),
        "custom_fields": fields,
        "group_ids": draw(st.lists(unknown(GROUPS[::-1]), max_size=2, unique=True)),
    }


def group_state(group_id: str) -> st.SearchStrategy[dict[str, Any]]:
    # No cycles: parents come earlier in the pool; the previous group is likeliest, so chains
    # g1 > g2 > g3 > g4 are common, and members sit deep in them (GROUPS reversed).
    parents = GROUPS[: GROUPS.index(group_id)]
    return st.fixed_dictionaries(
        {
            "group_id": st.just(group_id),
            "name": st.sampled_from(("Team", "Dept")),
            "parent_group_id": maybe(st.sampled_from(parents[::-1])) if parents else st.none(),
        }
    )


def certificate_state(cert_id: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "certificate_id": st.just(cert_id),
            "title": st.sampled_from(("Safety", "Lab", "CPR")),
            "owner_group_id": maybe(unknown(GROUPS)),
            "validity_months": maybe(st.integers(1, 24)),
        }
    )


def path_state(path_id: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "path_id": st.just(path_id),
            "name": st.sampled_from(("Intro", "Advanced")),
            "certificate_id": maybe(usually(USUAL_CERTIFICATE[path_id], CERTS)),
            "author_ids": st.lists(st.sampled_from(STAFF), max_size=2, unique=True),
        }
    )


def session_state(session_id: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "session_id": st.just(session_id),
            "path_id": usually(USUAL_PATH[session_id], PATHS),
            "name": st.sampled_from(("Spring", "Fall")),
            "starts_at": st.sampled_from(AS_OF + GRID),
            "ends_at": maybe(instants),
            "instructor_ids": st.lists(st.sampled_from(STAFF), max_size=2, unique=True),
            "automatic_reenrollment": st.booleans(),
        }
    )


UPDATED_KINDS: tuple[tuple[str, Any, tuple[str, ...]], ...] = (
    ("group", group_state, GROUPS),
    ("certificate", certificate_state, CERTS),
    ("path", path_state, PATHS),
    ("path_session", session_state, SESSIONS),
    ("user", user_state, LEARNERS),
)
STATE_KINDS: tuple[tuple[str, Any, tuple[str, ...]], ...] = (
    ("group.created", group_state, GROUPS),
    ("certificate.created", certificate_state, CERTS),
    ("path.created", path_state, PATHS),
    ("path_session.created", session_state, SESSIONS),
    ("user.registered", user_state, LEARNERS + STAFF),
)
