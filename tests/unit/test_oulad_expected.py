"""The OULAD oracle (tests/oulad_expected.py) on the small hand-made dataset, by hand."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.oulad_expected import expected_certificates, expected_latest_statuses
from tests.oulad_fixture import write_small_oulad


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_small_oulad(tmp_path_factory.mktemp("oulad"))


def learners(*user_ids: str) -> frozenset[str]:
    return frozenset(user_ids)


def at(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


def test_certified_enrolled_and_linked_learners(data_dir: Path) -> None:
    certificates = expected_certificates(data_dir, at(2025, 7, 1))
    assert sorted(certificates) == ["ou-cert-AAA", "ou-cert-BBB", "ou-cert-CCC", "ou-cert-GGG"]
    aaa, bbb = certificates["ou-cert-AAA"], certificates["ou-cert-BBB"]
    ccc, ggg = certificates["ou-cert-CCC"], certificates["ou-cert-GGG"]
    assert (aaa.certified, aaa.enrolled) == (learners("ou-11"), learners("ou-11", "ou-22"))
    assert (bbb.certified, bbb.enrolled) == (learners(), learners("ou-11"))
    assert (ccc.certified, ccc.enrolled, ccc.linked) == (learners(), learners(), learners())
    assert (ggg.certified, ggg.enrolled, ggg.linked) == (
        learners("ou-55"),
        learners(),
        learners("ou-55"),
    )
    assert aaa.linked == learners("ou-11", "ou-22")
    assert (aaa.certified_learners, aaa.enrolled_learners) == (1, 2)


def test_grants_count_from_their_delivery(data_dir: Path) -> None:
    before = expected_certificates(data_dir, at(2025, 6, 25))["ou-cert-AAA"]
    on_time = expected_certificates(data_dir, at(2025, 6, 26))["ou-cert-AAA"]
    later = expected_certificates(data_dir, at(2026, 7, 1))["ou-cert-AAA"]
    assert (before.certified, on_time.certified) == (learners(), learners("ou-11"))
    assert later.certified == learners("ou-11", "ou-22")


def test_latest_status_breakdown(data_dir: Path) -> None:
    assert expected_latest_statuses(data_dir, "AAA", at(2025, 7, 1)) == {
        "valid": 1, "expiring_soon": 0, "expired": 0,
    }  # fmt: skip
    assert expected_latest_statuses(data_dir, "AAA", at(2026, 6, 1)) == {
        "valid": 0, "expiring_soon": 1, "expired": 0,
    }  # fmt: skip
    assert expected_latest_statuses(data_dir, "AAA", at(2026, 7, 1)) == {
        "valid": 1, "expiring_soon": 0, "expired": 1,
    }  # fmt: skip
    assert expected_latest_statuses(data_dir, "GGG", at(2025, 2, 28)) == {
        "valid": 0, "expiring_soon": 0, "expired": 1,
    }  # fmt: skip
    assert expected_latest_statuses(data_dir, "GGG", at(2025, 2, 27), expiring_within_days=0) == {
        "valid": 1, "expiring_soon": 0, "expired": 0,
    }  # fmt: skip


def test_most_recent_grant_decides(tmp_path: Path) -> None:
    data_dir = write_small_oulad(tmp_path)
    info = data_dir / "studentInfo.csv"
    text = info.read_text(encoding="utf-8")
    first_fail = '"AAA","2014J",11,"M","London Region","HE Qualification","80-90%","55<=",0,60'
    assert f'{first_fail},"N","Fail"' in text
    info.write_text(text.replace('"N","Fail"', '"N","Pass"', 1), encoding="utf-8")
    # ou-11 passed AAA twice: the 2014J grant (expires 2027-06-27) hides the expired 2013J one.
    assert expected_latest_statuses(data_dir, "AAA", at(2026, 7, 1)) == {
        "valid": 2, "expiring_soon": 0, "expired": 0,
    }  # fmt: skip
