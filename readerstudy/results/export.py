"""The per-vote CSV export, written row by row so that a million votes never sit in memory at once."""
from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Iterator

from readerstudy.text import neutralise

COLUMNS = ["study", "reader", "case", "finding", "source", "truth", "answer", "correct", "confidence", "time_ms",
           "position", "voted_at"]
USERNAME_COLUMN = "username"
ROWS_PER_CHUNK = 500


def iso_utc(moment: dt.datetime) -> str:
    """ISO 8601 in UTC with a Z, e.g. 2024-05-01T09:30:12.345Z."""
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def header(with_usernames: bool = False) -> list[str]:
    return [*COLUMNS[:2], USERNAME_COLUMN, *COLUMNS[2:]] if with_usernames else list(COLUMNS)


def vote_row(values: tuple, with_usernames: bool = False) -> list[str]:
    """One export row from a tuple laid out as ``selectors.EXPORT_FIELDS``."""
    (study, number, username, public_id, finding, source, source_is_real, answer, confidence, time_ms, position,
     voted_at) = values
    truth = "real" if source_is_real else "fake"
    # Numbers (pseudonym number, confidence, time, position) and the fixed words cannot start like a formula; every
    # free text can: slugs and case ids may begin with "-", usernames and names with anything.
    row = [neutralise(study), f"R{number}"]
    if with_usernames:
        row.append(neutralise(username))
    row += [neutralise(public_id), neutralise(finding), neutralise(source), truth, answer,
            "true" if answer == truth else "false", "" if confidence is None else confidence,
            "" if time_ms is None else time_ms, position, iso_utc(voted_at)]
    return row


class _Line:
    """A write-only file that hands back what was written, so csv.writer can format one chunk at a time."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> None:
        self.parts.append(text)

    def take(self) -> str:
        text = "".join(self.parts)
        self.parts.clear()
        return text


def stream_csv(rows: Iterable[tuple], with_usernames: bool = False) -> Iterator[str]:
    """The CSV text in chunks of a few hundred rows: the header first, then one line per vote."""
    sink = _Line()
    writer = csv.writer(sink, lineterminator="\r\n")
    writer.writerow(header(with_usernames))
    yield sink.take()
    pending = 0
    for values in rows:
        writer.writerow(vote_row(values, with_usernames))
        pending += 1
        if pending == ROWS_PER_CHUNK:
            yield sink.take()
            pending = 0
    if pending:
        yield sink.take()
