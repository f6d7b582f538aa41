"""Reading and checking a batch's ``manifest.csv``: a pure module (no Django), so it can be property-tested and fuzzed.

Row numbers are the file's line numbers as a spreadsheet shows them: the header is row 1, the first image row 2.
Findings and sources are matched case-insensitively against the names (or slugs) the caller passes in; an unknown
value is an error, never a new row.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from batchformat.manifest import (
    BOX_COLUMNS,
    COLUMNS,
    KNOWN_COLUMNS,
    MANIFEST_NAME,
    ORIGIN_SEEN_VALUES,
    missing_columns,
)
from readerstudy.text import control_character

MAX_ERRORS = 1000  # enough to show every row of a large batch; a hostile manifest cannot grow the record without bound

@dataclass(frozen=True)
class RowError:
    """One problem, naming the file and the manifest row it concerns (either may be empty)."""

    message: str
    file: str = ""
    row: int | None = None

    def as_dict(self) -> dict:
        return {"file": self.file, "row": self.row, "message": self.message}

    def __str__(self) -> str:
        where = ", ".join(part for part in (f"row {self.row}" if self.row else "", self.file) if part)
        return f"{where}: {self.message}" if where else self.message


@dataclass(frozen=True)
class ManifestRow:
    row: int
    filename: str
    finding: str  # the key the caller mapped the finding to (e.g. a slug)
    source: str
    origin_image: str = ""
    origin_seen: bool | None = None  # the generator trained on the origin image (None: the manifest does not say)
    box: tuple[int, int, int, int] | None = None
    notes: str = ""
    raw: dict = field(default_factory=dict, compare=False)


@dataclass
class ParsedManifest:
    rows: list[ManifestRow]  # the rows without errors
    errors: list[RowError]
    named_files: set[str] = field(default_factory=set)  # every filename the manifest mentions, valid row or not


def _shown(value: str, limit: int = 60) -> str:
    """A cell quoted for a message, cut at ``limit`` characters (a cell may be 128 KiB long)."""
    return repr(value) if len(value) <= limit else repr(value[:limit]) + "..."


def _lookup_table(values: dict[str, str]) -> dict[str, str]:
    """Accept each name and each key (slug), case-insensitively."""
    table = {key.strip().casefold(): key for key in values.values()}
    table.update({name.strip().casefold(): key for name, key in values.items()})
    return table


def _parse_box(record: dict[str, str], row: int, filename: str) -> tuple[tuple[int, int, int, int] | None, str]:
    """(box, "") or (None, error message); a row gives all four box columns or none."""
    values = [(record.get(column) or "").strip() for column in BOX_COLUMNS]
    if not any(values):
        return None, ""
    if not all(values):
        return None, "give all four of bbox_x, bbox_y, bbox_w, bbox_h or none of them"
    try:
        numbers = [float(value) for value in values]
    except ValueError:
        return None, f"the box {', '.join(values)} is not four numbers"
    if any(number != number or number in (float("inf"), float("-inf")) for number in numbers):
        return None, "the box must be finite numbers"
    x, y, w, h = (round(number) for number in numbers)
    if x < 0 or y < 0 or w <= 0 or h <= 0:
        return None, f"the box ({x}, {y}, {w}, {h}) needs x, y >= 0 and a positive width and height"
    return (x, y, w, h), ""


def parse_manifest(data: bytes, *, findings: dict[str, str], sources: dict[str, str], max_rows: int | None = None,
                   max_errors: int = MAX_ERRORS) -> ParsedManifest:
    """Parse and check the manifest; ``findings`` and ``sources`` map display names to the caller's keys (slugs).

    Every row is checked, so an admin sees all problems at once rather than one per upload, up to ``max_errors``
    problems or more than ``max_rows`` image rows (the zip cannot hold more images): there the reading stops, so
    memory stays bounded whatever the file holds (each row's error costs a hundred times the row's few bytes, and
    a zip may expand a manifest a hundredfold).
    """
    errors: list[RowError] = []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        return ParsedManifest([], [RowError(f"is not UTF-8 text (byte {error.start})", MANIFEST_NAME)])
    if not text.strip():
        return ParsedManifest([], [RowError("is empty", MANIFEST_NAME)])
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [(name or "").strip().casefold() for name in (reader.fieldnames or [])]
    missing = missing_columns(header)
    unknown = [name for name in header if name not in KNOWN_COLUMNS]
    if missing:
        errors.append(RowError(f"misses the required column(s) {', '.join(missing)}", MANIFEST_NAME, 1))
    if unknown:
        listed = ", ".join(_shown(name) for name in unknown[:10]) + (" ..." if len(unknown) > 10 else "")
        errors.append(RowError(f"has unknown column(s) {listed}; known columns are "
                               f"{', '.join(COLUMNS)}", MANIFEST_NAME, 1))
    if len(set(header)) != len(header):
        errors.append(RowError("repeats a column name", MANIFEST_NAME, 1))
    if errors:
        return ParsedManifest([], errors)
    reader.fieldnames = header
    finding_keys, source_keys = _lookup_table(findings), _lookup_table(sources)
    rows: list[ManifestRow] = []
    named: set[str] = set()
    first_row_of: dict[str, int] = {}
    image_rows = 0
    records = enumerate(reader, start=2)
    while len(errors) < max_errors:
        try:
            index, record = next(records)
        except StopIteration:
            break
        except csv.Error as error:  # a cell longer than the csv module reads (128 KiB)
            errors.append(RowError(f"is not a CSV file this import can read ({error})", MANIFEST_NAME,
                                   reader.line_num or None))
            break
        if None in record:
            errors.append(RowError("has more cells than the header has columns", MANIFEST_NAME, index))
            continue
        record = {key: (value or "").strip() for key, value in record.items()}
        if not any(record.values()):
            continue  # a blank line
        image_rows += 1
        if max_rows is not None and image_rows > max_rows:
            errors.append(RowError(f"has more than {max_rows} image rows, more than the zip may hold", MANIFEST_NAME,
                                   index))
            break
        controls = [(column, control_character(value, one_line=column != "notes"))
                    for column, value in record.items()]
        controls = [(column, found) for column, found in controls if found]
        if controls:  # refused before anything quotes the value (PostgreSQL cannot store a NUL at all)
            errors.extend(RowError(f"the {column} cell contains a control character ({found}), which is not allowed",
                                   "", index) for column, found in controls)
            continue
        filename = record["filename"]
        named.add(filename)
        row_errors = []
        if not filename:
            row_errors.append("has no filename")
        elif filename.casefold() in first_row_of:
            row_errors.append(f"repeats the filename of row {first_row_of[filename.casefold()]}")
        else:
            first_row_of[filename.casefold()] = index
        finding = finding_keys.get(record["finding"].casefold())
        if finding is None:
            row_errors.append(f"unknown finding {_shown(record['finding'])} "
                              f"(this study has {', '.join(findings) or 'none'})")
        source = source_keys.get(record["source"].casefold())
        if source is None:
            row_errors.append(f"unknown source {_shown(record['source'])} "
                              f"(this study has {', '.join(sources) or 'none'})")
        box, box_error = _parse_box(record, index, filename)
        if box_error:
            row_errors.append(box_error)
        seen_cell = record.get("origin_seen", "")
        if seen_cell.casefold() not in ORIGIN_SEEN_VALUES:
            row_errors.append(f"origin_seen is {_shown(seen_cell)}; write seen, unseen or leave it empty")
        if row_errors:
            errors.extend(RowError(message, filename, index) for message in row_errors)
            continue
        rows.append(ManifestRow(row=index, filename=filename, finding=finding, source=source,
                                origin_image=record.get("origin_image", ""),
                                origin_seen=ORIGIN_SEEN_VALUES[seen_cell.casefold()], box=box,
                                notes=record.get("notes", ""),
                                raw=record))
    if len(errors) >= max_errors:
        errors = errors[:max_errors - 1]
        errors.append(RowError(f"the check stopped after {max_errors} problems (there may be more)", MANIFEST_NAME))
    if not rows and not errors:
        errors.append(RowError("has a header but no image rows", MANIFEST_NAME))
    return ParsedManifest(rows, errors, named)
