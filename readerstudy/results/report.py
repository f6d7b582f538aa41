"""The study's results as a Markdown report: the summary in words, the main comparisons (what they generalise to),
planning figures, then Table 1. The JSON report is the statistics document itself (``build_statistics``), which
carries the same ``summary``, ``comparisons``, ``mrmc`` and ``power``. Pure (no Django)."""
from __future__ import annotations

from .summary import format_p
from .table1 import Table1, markdown_text


def _f(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _interval(row: dict, digits: int = 3) -> str:
    return f"{_f(row['ci_low'], digits)} to {_f(row['ci_high'], digits)}"


_p = format_p


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"

    return [line(header), "| " + " | ".join("---" for _ in header) + " |", *(line(row) for row in rows), ""]


def markdown_report(report: dict, table: Table1) -> str:
    comparisons = report["comparisons"]
    lines = [f"# Results: {markdown_text(report['study'])}", "",
             " ".join(report.get("answer") or report["summary"]), ""]
    lines += _equivalence_lines(report.get("equivalence"))
    lines += ["## In words", "", " ".join(report["summary"]), "",
              f"## Main comparisons ({comparisons['kind']})", "", f"> {comparisons['sentence']}", ""]
    lines += [f"_{note}_" for note in comparisons["notes"]] + ([""] if comparisons["notes"] else [])
    lines += ["### Called real: each generator against the real images", ""]
    if comparisons["called_real"]:
        against = {row["first"]: row for row in comparisons["vs_real"]}
        rows = []
        for row in comparisons["called_real"]:
            difference = against.get(row["modality"])
            rows.append([row["modality"], f"{_f(row['estimate'])} ({_interval(row)})",
                         f"{_f(difference['difference'])} ({_interval(difference)})" if difference else "reference",
                         _p(difference["p_value"]) if difference else ""])
        lines += _table(["Source", "Called real (95% CI)", "Minus real images (95% CI)", "p"], rows)
    else:
        lines += [comparisons["called_real_note"], ""]
    lines += ["### Generators against each other", ""]
    auc_pairs = {(row["first"], row["second"]): row for row in comparisons["auc_pairs"]}
    if comparisons["called_real_pairs"]:
        rows = []
        for row in comparisons["called_real_pairs"]:
            auc = auc_pairs.get((row["first"], row["second"]))
            rows.append([f"{row['first']} − {row['second']}", f"{_f(row['difference'])} ({_interval(row)})",
                         _p(row["p_value"]), f"{_f(auc['difference'])} ({_interval(auc)})" if auc else "–",
                         _p(auc["p_value"]) if auc else "–"])
        lines += _table(["Pair", "Called real: difference (95% CI)", "p", "AUC: difference (95% CI)", "p"], rows)
    else:
        lines += ["One generator: there is no pair of generators to compare.", ""]
    lines += ["### AUC per generator", ""]
    if comparisons["auc"]:
        lines += [comparisons["auc_note"], ""]
        lines += _table(["Generator", "AUC (95% CI)"],
                        [[row["modality"], f"{_f(row['estimate'])} ({_interval(row)})"] for row in comparisons["auc"]])
    else:
        lines += [comparisons["auc_note"], ""]
    for entry in report.get("power", []):
        if entry.get("power") is None:
            lines += [entry["note"], ""]
            continue
        figure = "AUC" if entry["figure"] == "auc" else "called-real rate"
        lines += [f"### Planning: a difference of {entry['effect_size']:g} in {figure}", "", entry["note"], ""]
        rows = [[f"Power now ({entry['readers']} readers x {entry['cases']} cases, {entry['analysis']})",
                 _f(entry["power"], 2)],
                [f"Readers needed for {entry['target']:.0%} power with {entry['cases']} cases",
                 str(entry["readers_needed"] or "not reachable")]]
        rows += [[f"Cases needed with {row['readers']} readers", str(row["cases"] or "not reachable")]
                 for row in entry["cases_needed"]]
        lines += _table(["", "Value"], rows)
    lines += ["## Table 1: images judged real", "", table.as_markdown()]
    return "\n".join(lines).rstrip("\n") + "\n"


def _equivalence_lines(equivalence: dict | None) -> list[str]:
    """The pre-registered test: the plan, a deviation where the plan changed after opening, each generator's
    verdict with its interval."""
    if not equivalence:
        return ["_No analysis plan was registered before the study opened: the comparisons below are difference "
                "tests, which cannot show that a generator passes for real._", ""]
    plan = equivalence["plan"]
    lines = [f"## Pre-registered test: {plan['test'].replace('_', '-')} on the "
             f"{'AUC' if plan['endpoint'] == 'auc' else 'called-real rate'}", "",
             f"A generator passes if {equivalence['criterion']} (one-sided alpha {plan['alpha']:g}); registered "
             f"{(equivalence['registered'] or {}).get('registered_at') or '–'}.", ""]
    if equivalence.get("deviation"):
        lines += [f"**Deviation:** {equivalence['deviation']}", ""]
    if equivalence.get("note"):
        lines += [f"_{equivalence['note']}_", ""]
    rows = [[row["generator"], f"{_f(row['estimate'])} ({_f(row['ci_low'])} to {_f(row['ci_high'])}, "
             f"{100 * row['confidence']:.0f}%)", _p(row["p_value"]), _f(row["power_at_zero"], 2), row["sentence"]]
            for row in equivalence["verdicts"]]
    if rows:
        lines += _table(["Generator", "Estimate (interval)", "p (one-sided)", "Power at 0", "Verdict"], rows)
    return lines
