"""python manage.py mrmc: tables, one JSON document, and a clear error naming the line for every kind of bad input."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

DATA = Path(__file__).resolve().parent.parent / "data"
VANDYKE = (DATA / "vandyke.imrmc").read_text()
LINES = VANDYKE.splitlines()
BEGIN = LINES.index("BEGIN DATA:")


def run(path: Path, *args: str) -> str:
    out = io.StringIO()
    call_command("mrmc", str(path), *args, stdout=out)
    return out.getvalue()


def write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "study.imrmc"
    path.write_text("\n".join(lines) + "\n")
    return path


def line_of(text: str) -> int:
    """The 1-based number of the first line of the Van Dyke file equal to ``text``."""
    return LINES.index(text) + 1


def test_tables_show_every_analysis():
    text = run(DATA / "vandyke.imrmc")
    for figure in ("0.91964573", "0.00153500", "0.00107626", "15.26", "0.0517", "5.47595", "0.0193", "8.70400",
                   "0.02551", "0.82809808"):
        assert figure in text, figure
    for kind in ("RRRC: generalises to other readers reading other cases", "FRRC: generalises to these readers only",
                 "RRFC: generalises to other readers reading these same cases"):
        assert kind in text


def test_json_is_one_document_with_every_figure():
    document = json.loads(run(DATA / "vandyke.imrmc", "--json"))
    assert document["data"] == {"readers": 5, "modalities": 2, "cases": 114, "negative": 69, "positive": 45}
    assert round(document["components"]["var_r"], 8) == 0.00153500
    assert round(document["RRRC"]["test"]["df_den"], 2) == 15.26
    assert round(document["FRRC"]["reader_differences"][4]["p_value"], 4) == 0.0230
    assert round(document["RRFC"]["differences"][0]["ci_low"], 5) == -0.08502
    assert round(document["fom"]["3"]["1"], 8) == 0.99935588


def test_delong_and_alpha_options():
    document = json.loads(run(DATA / "vandyke.imrmc", "--json", "--covariance", "delong", "--alpha", "0.1"))
    assert document["method"]["covariance"] == "delong" and document["alpha"] == 0.1
    difference = document["RRRC"]["differences"][0]
    assert difference["ci_high"] - difference["ci_low"] < 2 * 1.76 * difference["se"]  # a 90% interval


def expect_error(tmp_path: Path, lines: list[str], *fragments: str) -> str:
    with pytest.raises(CommandError) as raised:
        run(write(tmp_path, lines))
    message = str(raised.value)
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_a_case_without_truth(tmp_path):
    lines = [line for line in LINES if line != "-1,7,truth,0"]
    first_score = next(index for index, line in enumerate(lines) if line.startswith("0,7,")) + 1
    expect_error(tmp_path, lines, f"line {first_score}:", "case 7 has scores but no truth row", "-1,7,truth,<0|1>")


def test_a_reader_with_missing_scores(tmp_path):
    row = next(line for line in LINES if line.startswith("2,7,1,"))
    lines = [line for line in LINES if line != row]
    other_reader = max(index for index, line in enumerate(lines) if line.split(",")[1:3] == ["7", "1"]
                       and not line.startswith("-1,")) + 1
    expect_error(tmp_path, lines, f"line {other_reader}:", "reader 2 has no score for case 7 in modality 1",
                 "add the missing rows")


def test_a_modality_a_reader_never_scored(tmp_path):
    lines = [line for line in LINES if not (line.startswith("4,") and line.split(",")[2] == "1")]
    expect_error(tmp_path, lines, "line ", "reader 4 has no scores in modality 1", "remove the reader")


def test_a_non_numeric_score(tmp_path):
    lines = list(LINES)
    row = next(index for index, line in enumerate(lines) if line.startswith("1,20,0,"))
    lines[row] = "1,20,0,high"
    expect_error(tmp_path, lines, f"line {row + 1}:", "'high' is not a number")


def test_one_modality(tmp_path):
    lines = [line for line in LINES if line.startswith("-1,") or line[:2] not in {"0,", "1,", "2,", "3,", "4,"}
             or line.split(",")[2] == "0"]
    lines = [line.replace("NM:2", "NM:1") for line in lines]
    expect_error(tmp_path, lines, f"line {line_of('NM:2')}:", "only one modality (0)", "at least two")


def test_one_reader(tmp_path):
    lines = [line for line in LINES if line.startswith("-1,") or not line[:1].isdigit() or line.startswith("0,")]
    lines = [line.replace("NR:5", "NR:1") for line in lines]
    expect_error(tmp_path, lines, f"line {line_of('NR:5')}:", "only one reader (0)", "at least two readers")


def test_all_cases_of_one_truth(tmp_path):
    lines = [line.replace(",truth,1", ",truth,0") for line in LINES]
    expect_error(tmp_path, lines, f"line {BEGIN + 2}:", "every case is negative (0)", "both negative (0) and positive")


def test_a_file_that_is_not_imrmc(tmp_path):
    expect_error(tmp_path, ["reader,case,answer", "R1,abc,fake", "R2,abc,real"], "not an iMRMC file",
                 "none of its 3 lines is 'BEGIN DATA:'")


def test_a_binary_file(tmp_path):
    path = tmp_path / "image.imrmc"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe")
    with pytest.raises(CommandError, match="not a text file"):
        run(path)


def test_a_row_with_the_wrong_number_of_fields(tmp_path):
    lines = list(LINES)
    lines[BEGIN + 200] = "3,50,1"
    expect_error(tmp_path, lines, f"line {BEGIN + 201}:", "expected 4 comma-separated fields")


def test_header_counts_that_do_not_match_the_data(tmp_path):
    lines = [line.replace("N1:45", "N1:46") for line in LINES]
    expect_error(tmp_path, lines, f"line {line_of('N1:45')}:", "N1: 46 but the data have 45 positive cases")


def test_a_missing_file():
    with pytest.raises(CommandError, match="no such file"):
        call_command("mrmc", "/nonexistent/file.imrmc", stdout=io.StringIO())


def test_a_split_design_file_reads_and_compares_the_modalities(tmp_path):
    """Each modality with the shared negatives and its own positives (the layout of a reader study's export)."""
    lines = LINES[:BEGIN + 1]
    truth_rows = [line for line in LINES[BEGIN + 1:] if line.startswith("-1,")]
    positives = [line.split(",")[1] for line in truth_rows if line.endswith(",1")]
    half = set(positives[: len(positives) // 2])
    keep = []
    for line in LINES[BEGIN + 1:]:
        reader, case, modality, _ = line.split(",")
        if reader == "-1" or case not in positives or (case in half) == (modality == "0"):
            keep.append(line)
    document = json.loads(run(write(tmp_path, lines + keep), "--json"))
    assert document["data"]["positive"] == 45
    assert document["RRRC"]["differences"][0]["se"] > 0
