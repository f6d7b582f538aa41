"""The paper's Table 1: per finding (and a Total row) and per source, how many images each reader judged real, written
``R1|R2|...`` in pseudonym order; and its three renderings (JSON-ready dict, CSV, Markdown)."""
from __future__ import annotations

import csv
import html
import io
from dataclasses import dataclass, field

TOTAL = "Total"


def markdown_text(text: str) -> str:
    """Free text for a Markdown line: HTML escaped (a renderer passes ``<script>`` through), ``|`` escaped."""
    return html.escape(text, quote=False).replace("|", r"\|")

@dataclass(frozen=True)
class Table1:
    study: str
    readers: list[str]
    sources: list[str]
    findings: list[str]
    called_real: list[list[list[int]]]  # [finding][source][reader]; the last finding row is the Total
    votes: list[list[list[int]]]  # the same shape: how many votes each count is out of
    excluded_cases: list[dict] = field(default_factory=list)  # cases an admin excluded: never read, never counted

    @property
    def rows(self) -> list[str]:
        return [*self.findings, TOTAL]

    def cell_text(self, row: int, column: int) -> str:
        return "|".join(str(count) for count in self.called_real[row][column])

    def as_dict(self) -> dict:
        return {
            "study": self.study,
            "readers": self.readers,
            "columns": self.sources,
            "rows": [
                {
                    "finding": finding,
                    "cells": [
                        {"source": source, "text": self.cell_text(r, s), "called_real": self.called_real[r][s],
                         "votes": self.votes[r][s]}
                        for s, source in enumerate(self.sources)
                    ],
                }
                for r, finding in enumerate(self.rows)
            ],
            "excluded_cases": self.excluded_cases,
        }

    def as_csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["Finding", *self.sources])
        for r, finding in enumerate(self.rows):
            writer.writerow([finding, *(self.cell_text(r, s) for s in range(len(self.sources)))])
        return buffer.getvalue()

    def as_markdown(self) -> str:
        """A GitHub-flavoured Markdown table; the ``|`` between readers is escaped so it stays inside its cell, and
        free text (an exclusion reason, a name) has its HTML escaped: Markdown renderers pass raw HTML through."""
        escape = markdown_text
        lines = ["| Finding | " + " | ".join(escape(source) for source in self.sources) + " |",
                 "|---|" + "---|" * len(self.sources)]
        for r, finding in enumerate(self.rows):
            cells = " | ".join(escape(self.cell_text(r, s)) for s in range(len(self.sources)))
            label = f"**{finding}**" if finding == TOTAL else escape(finding)
            lines.append(f"| {label} | {cells} |")
        lines.append("")
        lines.append(f"Each cell: images judged real by {escape('|'.join(self.readers)) or 'no reader'}.")
        if self.excluded_cases:
            listed = "; ".join(f"{row['case']} ({escape(row['finding'])}, {escape(row['source'])}): "
                               f"{escape(' '.join(row['reason'].split()))}" for row in self.excluded_cases)
            lines.append("")
            lines.append(f"Excluded before the study opened ({len(self.excluded_cases)}, not counted): {listed}.")
        return "\n".join(lines) + "\n"


def assemble_table1(study: str, readers: list[str], reader_ids: list[int], findings: list[str],
                    finding_ids: list[int], sources: list[str], source_ids: list[int], counts: list[dict],
                    excluded_cases: list[dict] | None = None) -> Table1:
    """Place the database's grouped counts in the table; every cell starts at zero, so an empty study is all zeros."""
    finding_at = {pk: index for index, pk in enumerate(finding_ids)}
    source_at = {pk: index for index, pk in enumerate(source_ids)}
    reader_at = {pk: index for index, pk in enumerate(reader_ids)}
    shape = (len(findings) + 1, len(sources), len(readers))
    called_real = [[[0] * shape[2] for _ in range(shape[1])] for _ in range(shape[0])]
    votes = [[[0] * shape[2] for _ in range(shape[1])] for _ in range(shape[0])]
    total_row = len(findings)
    for row in counts:
        f = finding_at.get(row["case__finding_id"])
        s = source_at.get(row["case__source_id"])
        r = reader_at.get(row["membership_id"])
        if f is None or s is None or r is None:
            continue
        for target in (f, total_row):
            called_real[target][s][r] += row["called_real"]
            votes[target][s][r] += row["votes"]
    return Table1(study=study, readers=readers, sources=sources, findings=findings, called_real=called_real,
                  votes=votes, excluded_cases=list(excluded_cases or []))
