"""Baseline SQL for the query API benchmark: the same answers as straightforward GROUP BY
queries over the normalized read-model tables, with no scope machinery and no summary tables.

Visibility (SPEC.md §2) is applied as plain joins: enrollments not deleted, in a non-deleted
session of a non-deleted path of a non-deleted certificate; grants not revoked, delivered by
``as_of``, of a non-deleted certificate, whose enrollment (if any) is not deleted and whose
session/path (if any) are not deleted. The population is "active users" (the default
``user_status``). Parameters: ``$1`` platform_id, ``$2`` as_of; then per query below.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from bench.query_bench_cases import PLATFORM, Case

_VISIBLE = """
WITH cert_enrollments AS NOT MATERIALIZED (
    SELECT p.certificate_id, e.enrollment_id, e.user_id, s.archived
    FROM enrollments e
    JOIN path_sessions s ON s.platform_id = e.platform_id AND s.session_id = e.session_id
    JOIN paths p ON p.platform_id = s.platform_id AND p.path_id = s.path_id
    JOIN certificates c ON c.platform_id = p.platform_id AND c.certificate_id = p.certificate_id
    WHERE e.platform_id = $1 AND NOT e.deleted AND NOT s.deleted AND NOT p.deleted
      AND NOT c.deleted
),
cert_grants AS NOT MATERIALIZED (
    SELECT g.grant_id, g.certificate_id, g.user_id, g.enrollment_id, g.delivered_at,
           g.expires_at
    FROM certificate_grants g
    JOIN certificates c ON c.platform_id = g.platform_id AND c.certificate_id = g.certificate_id
    LEFT JOIN enrollments e ON e.platform_id = g.platform_id AND e.enrollment_id = g.enrollment_id
    LEFT JOIN path_sessions s ON s.platform_id = g.platform_id AND s.session_id = g.session_id
    LEFT JOIN paths p ON p.platform_id = s.platform_id AND p.path_id = s.path_id
    WHERE g.platform_id = $1 AND NOT g.revoked AND g.delivered_at <= $2 AND NOT c.deleted
      AND NOT coalesce(e.deleted OR s.deleted OR p.deleted, false)
)"""

CERTIFICATE_LIST_SQL = f"""{_VISIBLE},
member_groups AS (
    SELECT g.group_id FROM groups g
    WHERE g.platform_id = $1 AND g.group_id = ANY ($3::text[]) AND NOT g.deleted
    UNION
    SELECT g.group_id FROM groups g
    WHERE g.platform_id = $1 AND g.parent_group_id = ANY ($3::text[]) AND NOT g.deleted
)
SELECT c.certificate_id, c.title,
       count(DISTINCT l.user_id) FILTER (WHERE l.certified) AS certified_learners,
       count(DISTINCT l.user_id) FILTER (WHERE l.enrolled) AS enrolled_learners
FROM certificates c
JOIN (SELECT certificate_id, user_id, NOT archived AS enrolled, false AS certified
      FROM cert_enrollments
      UNION ALL
      SELECT certificate_id, user_id, false, true FROM cert_grants) l USING (certificate_id)
JOIN users u ON u.platform_id = $1 AND u.user_id = l.user_id AND u.status = 'active'
WHERE c.platform_id = $1 AND NOT c.deleted
  AND ($3::text[] IS NULL OR EXISTS (
      SELECT 1 FROM group_memberships m JOIN member_groups USING (group_id)
      WHERE m.platform_id = $1 AND m.user_id = u.user_id))
  AND ($4::jsonb IS NULL OR u.custom_fields @> $4::jsonb)
GROUP BY c.certificate_id, c.title
ORDER BY c.title, c.certificate_id
LIMIT 51
"""
"""Certificate list page: ``$3`` group ids (a two-level tree: the groups and their children,
enough for the benchmark's tree) or NULL, ``$4`` custom fields as a jsonb object (one value per
name) or NULL. Rows: certificate_id, title, certified_learners, enrolled_learners."""

_LEARNER_ROWS = f"""{_VISIBLE},
linked AS (
    SELECT user_id FROM cert_enrollments WHERE certificate_id = $3
    UNION
    SELECT user_id FROM cert_grants WHERE certificate_id = $3
),
latest AS (
    SELECT DISTINCT ON (user_id) user_id, delivered_at, expires_at
    FROM cert_grants WHERE certificate_id = $3
    ORDER BY user_id, delivered_at DESC, expires_at DESC NULLS FIRST, grant_id DESC
)
SELECT u.user_id, u.first_name, u.last_name, u.email, lg.delivered_at, lg.expires_at
FROM linked l
JOIN users u ON u.platform_id = $1 AND u.user_id = l.user_id
LEFT JOIN latest lg ON lg.user_id = l.user_id
WHERE $4::boolean OR u.status = 'active'
"""

LEARNER_PAGE_SQL = f"{_LEARNER_ROWS} ORDER BY coalesce(u.last_name, ''), u.user_id LIMIT 51"
"""First learner page of certificate ``$3`` (``$4`` true = every user status)."""

LEARNER_EXPORT_SQL = f"{_LEARNER_ROWS} ORDER BY coalesce(u.last_name, ''), u.user_id"
"""Every learner row of certificate ``$3`` (``$4`` true = every user status), for COPY."""

HISTORY_SQL = f"""{_VISIBLE}
SELECT ce.enrollment_id, e.enrolled_at, g.delivered_at, g.expires_at, p.name, s.name,
       e.path_status, e.automatic_reenrollment
FROM cert_enrollments ce
JOIN enrollments e ON e.platform_id = $1 AND e.enrollment_id = ce.enrollment_id
JOIN path_sessions s ON s.platform_id = $1 AND s.session_id = e.session_id
JOIN paths p ON p.platform_id = $1 AND p.path_id = s.path_id
LEFT JOIN cert_grants g ON g.enrollment_id = ce.enrollment_id AND g.user_id = $4
WHERE ce.certificate_id = $3 AND ce.user_id = $4
ORDER BY e.enrolled_at DESC
"""
"""History of learner ``$4`` for certificate ``$3`` (enrollment rows with their grant)."""


def query_of(case: Case, user_id: str) -> tuple[str, tuple[Any, ...]]:
    """The baseline SQL and arguments answering ``case`` (``user_id``: a history's learner)."""
    head = (PLATFORM, datetime.now(UTC))
    if case.kind == "certificates":
        fields = case.custom_fields()
        return CERTIFICATE_LIST_SQL, (
            *head,
            case.group_ids() or None,
            json.dumps(fields) if fields else None,
        )
    if case.kind == "learners":
        return LEARNER_PAGE_SQL, (*head, case.certificate_id, False)
    return HISTORY_SQL, (*head, case.certificate_id, user_id)


def export_of(certificate_id: str) -> tuple[str, tuple[Any, ...]]:
    """The baseline SQL and arguments of every learner row (all user statuses)."""
    return LEARNER_EXPORT_SQL, (PLATFORM, datetime.now(UTC), certificate_id, True)


def agrees(case: Case, api_page: Any, rows: list[Any]) -> bool:
    """Whether the API's JSON page and the baseline rows give the same answer: same
    certificates with the same certified/enrolled counts, same learners in the same order,
    or the same enrollments in a history."""
    items = api_page["items"]
    if case.kind == "certificates":
        ours = [
            (i["certificate_id"], i["certified_learners"], i["enrolled_learners"]) for i in items
        ]
        theirs = [
            (r["certificate_id"], r["certified_learners"], r["enrolled_learners"]) for r in rows
        ]
        return ours == theirs[: len(ours)]
    if case.kind == "learners":
        return [i["user_id"] for i in items] == [r["user_id"] for r in rows][: len(items)]
    listed = {i["enrollment_id"] for i in items if i["enrollment_id"] is not None}
    return listed == {r["enrollment_id"] for r in rows}
