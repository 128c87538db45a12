"""Bad OULAD input: a named error with the file and line, raised before any event is built."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from certstats_contracts.envelope import parse_event
from certstats_importer.csv_source import OuladInputError
from certstats_importer.stream import oulad_events
from certstats_importer.timeline import SHIFT_YEARS
from tests.oulad_fixture import write_small_oulad


def replace_line(path: Path, line: int, text: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[line - 1] = text
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def import_error(data_dir: Path) -> OuladInputError:
    with pytest.raises(OuladInputError) as caught:
        oulad_events(data_dir)
    return caught.value


def test_missing_file(tmp_path: Path) -> None:
    (write_small_oulad(tmp_path) / "studentRegistration.csv").unlink()
    error = import_error(tmp_path)
    assert error.path.name == "studentRegistration.csv"
    assert "file not found" in str(error)


def test_empty_file(tmp_path: Path) -> None:
    (write_small_oulad(tmp_path) / "courses.csv").write_text("", encoding="utf-8")
    assert "no header" in str(import_error(tmp_path))


def test_missing_column(tmp_path: Path) -> None:
    replace_line(write_small_oulad(tmp_path) / "courses.csv", 1, "code_module,code_presentation")
    error = import_error(tmp_path)
    assert (error.path.name, error.line) == ("courses.csv", 1)
    assert "missing column(s): module_presentation_length" in str(error)


def test_unknown_column(tmp_path: Path) -> None:
    path = write_small_oulad(tmp_path) / "studentAssessment.csv"
    replace_line(path, 1, "id_assessment,id_student,date_submitted,is_banked_typo")
    assert "unknown column(s): is_banked_typo" in str(import_error(tmp_path))


def test_truncated_row(tmp_path: Path) -> None:
    path = write_small_oulad(tmp_path) / "studentInfo.csv"
    replace_line(path, 4, "BBB,2014B,11,M,London Re")
    error = import_error(tmp_path)
    assert (error.path.name, error.line) == ("studentInfo.csv", 4)
    assert "too few fields" in str(error)


def test_truncated_inside_a_quoted_field(tmp_path: Path) -> None:
    path = write_small_oulad(tmp_path) / "studentRegistration.csv"
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: text.rindex('"')], encoding="utf-8")
    error = import_error(tmp_path)
    assert (error.path.name, error.line) == ("studentRegistration.csv", 10)
    assert "malformed CSV" in str(error)


def test_truncated_file_missing_registrations(tmp_path: Path) -> None:
    path = write_small_oulad(tmp_path) / "studentRegistration.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(lines[:-2]) + "\n", encoding="utf-8")
    error = import_error(tmp_path)
    assert (error.path.name, error.line) == ("studentInfo.csv", 9)
    assert "no (or a second) studentRegistration.csv row" in str(error)


@pytest.mark.parametrize(
    ("file_name", "line", "text", "message"),
    [
        ("studentRegistration.csv", 3, '"AAA","2014J",11,"ten",""', "'ten' is not an integer"),
        ("studentAssessment.csv", 2, "1,11,7.5,0", "'7.5' is not an integer"),
        ("courses.csv", 2, '"AAA","2013J",""', "'' is not an integer"),
        ("courses.csv", 2, '"AAA","2013X",268', "not YYYYB or YYYYJ"),
        ("courses.csv", 2, '"HHH","2013J",268', "unknown module 'HHH'"),
        ("studentAssessment.csv", 3, "9,11,7,0", "unknown id_assessment 9"),
        ("studentAssessment.csv", 3, "1,99,7,0", "student 99 is not registered to AAA 2013J"),
        ("courses.csv", 2, '"AAA","2013J",99999999999999999999', "is outside 0..30000"),
        ("courses.csv", 2, '"AAA","2013J",-400', "-400 is outside 0..30000"),
        ("courses.csv", 2, '"AAA","1999J",268', "presentation year 1999 is outside"),
        ("courses.csv", 2, '"AAA","8801J",268', "presentation year 8801 is outside"),
        ("studentRegistration.csv", 2, '"AAA","2013J",11,"-99999999",""', "is outside -30000"),
        ("studentRegistration.csv", 2, '"AAA","2013J",11,"-10","30001"', "30001 is outside"),
        ("studentAssessment.csv", 2, "1,11,-30001,0", "-30001 is outside"),
    ],
)
def test_bad_value(tmp_path: Path, file_name: str, line: int, text: str, message: str) -> None:
    replace_line(write_small_oulad(tmp_path) / file_name, line, text)
    error = import_error(tmp_path)
    assert (error.path.name, error.line) == (file_name, line)
    assert message in str(error)
    assert str(error).startswith(f"{tmp_path / file_name}:{line}: ")


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [("region", "Atlantis", "unknown region 'Atlantis'"), ("final_result", "Ok", "final_result")],
)
def test_bad_student_info(tmp_path: Path, column: str, value: str, message: str) -> None:
    path = write_small_oulad(tmp_path) / "studentInfo.csv"
    text = path.read_text(encoding="utf-8")
    original = "East Anglian Region" if column == "region" else "Pass"
    path.write_text(text.replace(original, value, 1), encoding="utf-8")
    error = import_error(tmp_path)
    assert (error.path.name, error.line) == ("studentInfo.csv", 2)
    assert message in str(error)


def test_duplicate_registration(tmp_path: Path) -> None:
    path = write_small_oulad(tmp_path) / "studentRegistration.csv"
    replace_line(path, 3, '"AAA","2013J",11,"-10",""')
    error = import_error(tmp_path)
    assert (error.path.name, error.line) == ("studentRegistration.csv", 3)
    assert "duplicate registration" in str(error)


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = write_small_oulad(tmp_path) / "courses.csv"
    path.write_text("\ufeff" + path.read_text(encoding="utf-8"), encoding="utf-8")
    assert len(list(oulad_events(tmp_path))) > 0


def test_a_directory_in_place_of_a_file(tmp_path: Path) -> None:
    courses = write_small_oulad(tmp_path) / "courses.csv"
    courses.unlink()
    courses.mkdir()
    error = import_error(tmp_path)
    assert (error.path, error.line) == (courses, 0)
    assert "cannot read" in str(error)


def test_extreme_accepted_values_stay_within_the_contract_years(tmp_path: Path) -> None:
    data_dir = write_small_oulad(tmp_path)
    with (data_dir / "courses.csv").open("a", encoding="utf-8") as courses:
        courses.write('"DDD","2000B",30000\n"EEE","8800J",30000\n')
    replace_line(data_dir / "studentRegistration.csv", 2, '"AAA","2013J",11,"-30000","30000"')
    replace_line(data_dir / "studentAssessment.csv", 2, "1,11,30000,0")
    for shift in SHIFT_YEARS:
        events = [parse_event(json.dumps(doc).encode()) for doc in oulad_events(data_dir, shift)]
        assert events


@pytest.mark.parametrize("shift", [SHIFT_YEARS[0] - 1, SHIFT_YEARS[1] + 1])
def test_shift_out_of_range(tmp_path: Path, shift: int) -> None:
    with pytest.raises(ValueError, match="shift of"):
        oulad_events(write_small_oulad(tmp_path), shift)
