"""The importer on the vendored OULAD dataset: valid, deterministic, complete (SPEC.md §7)."""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from certstats_contracts.envelope import parse_event
from certstats_importer.stream import oulad_events
from certstats_importer.timeline import rfc3339
from tests.oulad_expected import expected_certificates, expected_latest_statuses

DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "oulad"


@pytest.fixture(scope="module")
def events() -> list[dict[str, Any]]:
    return list(oulad_events(DATA_DIR))


def digest(events: list[dict[str, Any]]) -> str:
    text = "\n".join(json.dumps(event, sort_keys=True) for event in events)
    return hashlib.sha256(text.encode()).hexdigest()


def test_two_runs_give_identical_documents_in_identical_order(
    events: list[dict[str, Any]],
) -> None:
    assert digest(list(oulad_events(DATA_DIR))) == digest(events)


def test_every_event_parses_with_a_unique_id_in_time_order(events: list[dict[str, Any]]) -> None:
    parsed = [parse_event(json.dumps(event)) for event in events]
    assert len({event.id for event in parsed}) == len(parsed)
    assert all(a.time <= b.time for a, b in itertools.pairwise(parsed))


def test_counts_match_the_csv_files(events: list[dict[str, Any]]) -> None:
    with (DATA_DIR / "studentInfo.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    results = Counter(row["final_result"] for row in rows)
    types = Counter(event["type"] for event in events)
    staff = 13 + 4 + 7
    assert types["enrollment.created"] == len(rows)
    assert types["user.registered"] == len({row["id_student"] for row in rows}) + staff
    assert types["certificate.granted"] == results["Pass"] + results["Distinction"]
    assert types["enrollment.completed"] == types["certificate.granted"] + results["Fail"]
    assert types["enrollment.deleted"] == results["Withdrawn"]
    assert types["path_session.created"] == 22
    assert types["path_session.archived"] == 9
    assert types["certificate.created"] == types["path.created"] == 7


def certificate_sets_from_stream(
    events: list[dict[str, Any]], as_of: str
) -> dict[str, tuple[set[str], set[str]]]:
    """certificate_id -> (certified, enrolled) learners, evaluated over the event documents."""
    data = [(event["type"], event["data"]) for event in events]
    path_cert = {d["path_id"]: d["certificate_id"] for t, d in data if t == "path.created"}
    session_cert = {
        d["session_id"]: path_cert[d["path_id"]] for t, d in data if t == "path_session.created"
    }
    archived = {d["session_id"] for t, d in data if t == "path_session.archived"}
    deleted = {d["enrollment_id"] for t, d in data if t == "enrollment.deleted"}
    sets: dict[str, tuple[set[str], set[str]]] = {c: (set(), set()) for c in path_cert.values()}
    for event_type, d in data:
        if event_type == "certificate.granted" and d["delivered_at"] <= as_of:
            sets[d["certificate_id"]][0].add(d["user_id"])
        visible = event_type == "enrollment.created" and d["enrollment_id"] not in deleted
        if visible and d["session_id"] not in archived:
            sets[session_cert[d["session_id"]]][1].add(d["user_id"])
    return sets


def test_stream_agrees_with_the_csv_oracle(events: list[dict[str, Any]]) -> None:
    as_of = datetime(2025, 12, 31, tzinfo=UTC)
    oracle = expected_certificates(DATA_DIR, as_of)
    from_stream = certificate_sets_from_stream(events, rfc3339(as_of))
    assert set(oracle) == set(from_stream)
    for certificate_id, expected in oracle.items():
        certified, enrolled = from_stream[certificate_id]
        assert expected.certified == frozenset(certified), certificate_id
        assert expected.enrolled == frozenset(enrolled), certificate_id
    assert sum(e.certified_learners for e in oracle.values()) > 1000


def test_latest_statuses_agree_with_the_csv_oracle(events: list[dict[str, Any]]) -> None:
    as_of, window = "2026-07-10T00:00:00Z", "2026-08-09T00:00:00Z"
    latest: dict[str, tuple[str, str]] = {}
    for event in events:
        grant = event["data"]
        if event["type"] == "certificate.granted" and grant["certificate_id"] == "ou-cert-AAA":
            rank = (grant["delivered_at"], grant["expires_at"])
            if grant["delivered_at"] <= as_of and rank > latest.get(grant["user_id"], ("", "")):
                latest[grant["user_id"]] = rank
    statuses = Counter(
        "valid" if expires > window else "expiring_soon" if expires > as_of else "expired"
        for _, expires in latest.values()
    )
    oracle = expected_latest_statuses(DATA_DIR, "AAA", datetime(2026, 7, 10, tzinfo=UTC))
    assert oracle == {status: statuses[status] for status in oracle}
    assert oracle["valid"] > 0 and oracle["expired"] > 0
