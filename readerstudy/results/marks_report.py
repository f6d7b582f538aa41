"""The marks section of the Markdown report (``marks.build_marks_results``'s data in words and tables). Pure."""
from __future__ import annotations


def _f(value, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _ci(row: dict, digits: int = 2) -> str:
    if row.get("low") is None:
        return _f(row.get("estimate"), digits)
    return f"{_f(row['estimate'], digits)} ({_f(row['low'], digits)} to {_f(row['high'], digits)})"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |",
            *("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows), ""]


def marks_markdown(marks: dict, charts: dict[str, str] | None = None) -> str:
    """The section, or "" where the study asks no marks and has none."""
    if not marks.get("asked") and not marks.get("marks"):
        return ""
    lines = ["## Where readers marked the images", "",
             f"Marks: {marks['mode']}. {marks['marks']} marks on {marks['reads']} reads.", "",
             "### Box avoidance: marks inside the kept (real) box against its share of the image", "",
             "A ratio below 1: readers marked the kept pathology box less often than its size predicts (what gave "
             "the image away was in the generated surroundings). Generalises to "
             f"{marks['generalises_to']['box_avoidance']}.", ""]
    if marks["box_avoidance"]:
        lines += _table(["Generator", "Finding", "Marks", "Inside box", "Box share", "Ratio (95% CI)"],
                        [[row["generator"], row["finding"], str(row["marks"]), _f(row["share_inside"], 3),
                          _f(row["box_share"], 3), _ci(row)] for row in marks["box_avoidance"]])
    else:
        lines += ["No image with a kept box has been marked yet.", ""]
    change = marks.get("change") or {}
    if change.get("rows") or change.get("notes"):
        lines += ["### Change attraction: marks on what StarGAN changed most against those pixels' share", "",
                  "On images generated everywhere whose origin the batch carried: each image's most-changed pixels "
                  "(above its own 75th percentile of change: about a quarter of it). A ratio above 1: what the "
                  "generator changed drew readers' marks. Generalises to "
                  f"{marks['generalises_to']['change_attraction']}.", ""]
        for note in change.get("notes", []):
            lines += [note, ""]
        if change.get("rows"):
            lines += _table(["Generator", "Finding", "Marks", "On most-changed", "Their share", "Ratio (95% CI)"],
                            [[row["generator"], row["finding"], str(row["marks"]), _f(row["share_on"], 3),
                              _f(row["area_share"], 3), _ci(row)] for row in change["rows"]])
    lines += ["### Marks per image read", "", f"Generalises to {marks['generalises_to']['marks_per_read']}.", ""]
    lines += _table(["Source", "Marks per read (95% CI)"],
                    [[row["source"], _ci(row)] for row in marks["marks_per_read"]])
    localisation = marks["localisation"]
    lines += ["### Localisation (wAFROC-style)", "", localisation.get("note", ""), ""]
    if localisation.get("figures"):
        lines += [f"> {localisation['sentence']}", ""]
        lines += _table(["Generator", f"Figure ({localisation['kind']}, 95% CI)"],
                        [[row["generator"], _ci(row, 3)] for row in localisation["figures"]])
        lines += _table(["Pair", "Difference (95% CI)", "p"],
                        [[f"{row['first']} − {row['second']}", _ci({**row, "estimate": row["difference"]}, 3),
                          _f(row["p_value"], 3)] for row in localisation["pairs"]])
    for name, url in (charts or {}).items():
        lines += [f"![{name}]({url})", ""]
    return "\n".join(lines) + "\n"
