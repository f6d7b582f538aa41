"""The AUC analysis of an iMRMC file (``python manage.py mrmc``), as JSON-ready data or readable tables."""
from __future__ import annotations

from . import fom
from .imrmc import MrmcData
from .or_analysis import Analysis, OrResult, or_analysis

COVARIANCES = ("jackknife", "delong")
ERROR_TERMS = {"RRRC": "MS(T*R) + J max(Cov2 - Cov3, 0)", "FRRC": "Var - Cov1 + (J - 1) max(Cov2 - Cov3, 0)",
               "RRFC": "MS(T*R)"}


def analyse_imrmc(data: MrmcData, covariance: str = "jackknife", alpha: float = 0.05,
                  pairwise: str = "separate") -> OrResult:
    """Empirical (Wilcoxon) AUC per reader x modality and its OR analysis, covariance by the jackknife over cases (as
    the OR-DBM MRMC software) or DeLong's structural components. Pairwise differences pair by pair by default (the
    results page's choice: the global error term was liberal in the split design, ``bench/bench_mrmc.py``); with two
    modalities both are the same."""
    if covariance not in COVARIANCES:
        raise ValueError(f"covariance is one of {', '.join(COVARIANCES)}, not {covariance!r}.")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, not {alpha}.")
    areas, loo = fom.auc_and_jackknife(data.scores, data.truth)
    matrix = fom.jackknife_covariance(loo) if covariance == "jackknife" else fom.delong_covariance(data.scores,
                                                                                                     data.truth)
    return or_analysis(areas, matrix, readers=data.readers, modalities=data.modalities, alpha=alpha,
                       pairwise=pairwise)


def analysis_document(data: MrmcData, result: OrResult, covariance: str) -> dict:
    """One JSON document with every figure: the data's shape, the method, and the full OR result."""
    return {
        "method": {"figure_of_merit": "empirical (Wilcoxon) AUC", "covariance": covariance,
                   "analysis": "Obuchowski-Rockette with Hillis (2007) denominator degrees of freedom"},
        "data": {"readers": len(data.readers), "modalities": len(data.modalities), "cases": len(data.cases),
                 "negative": data.n_negative, "positive": data.n_positive},
        **result.as_dict(),
    }


def _f(value: float | None, digits: int = 8) -> str:
    if value is None or value != value:
        return "-"
    return f"{value:.{digits}f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    line = lambda cells: "  ".join(str(cell).rjust(width) for cell, width in zip(cells, widths, strict=True))  # noqa: E731
    return [line(header), line(["-" * width for width in widths]), *(line(row) for row in rows)]


def _analysis_lines(analysis: Analysis, alpha: float) -> list[str]:
    test = analysis.test
    level = f"{100 * (1 - alpha):g}%"
    df = f"({test.df_num}, {_f(test.df_den, 2)})" if test.df_den is not None else f"{test.df_num}"
    lines = [f"{analysis.kind}: generalises to {analysis.generalises_to}",
             f"  {test.name} = {_f(test.statistic, 5)}, df {df}, p = {_f(test.p_value, 4)}; error term "
             f"{ERROR_TERMS[analysis.kind]} = {_f(test.error_term)}", ""]
    statistic = "z" if analysis.kind == "FRRC" else "t"
    rows = [[f"{d.first} - {d.second}", _f(d.difference, 5), _f(d.se, 5), _f(d.df, 2), _f(d.statistic, 3),
             _f(d.p_value, 4), _f(d.ci_low, 5), _f(d.ci_high, 5)] for d in analysis.differences]
    lines += ["  " + row for row in _table(["difference", "estimate", "SE", "df", statistic, "p", f"{level} low",
                                           f"{level} high"], rows)]
    lines.append("")
    rows = [[m.modality, _f(m.estimate), _f(m.se), _f(m.df, 2), _f(m.ci_low), _f(m.ci_high)]
            for m in analysis.modalities]
    lines += ["  " + row for row in _table(["modality", "AUC", "SE", "df", f"{level} low", f"{level} high"], rows)]
    if analysis.reader_differences:
        lines.append("")
        rows = [[d.reader, f"{d.first} - {d.second}", _f(d.difference, 5), _f(d.se, 5), _f(d.statistic, 3),
                 _f(d.p_value, 4), _f(d.ci_low, 5), _f(d.ci_high, 5)] for d in analysis.reader_differences]
        lines += ["  " + row for row in _table(["reader", "difference", "estimate", "SE", "z", "p", f"{level} low",
                                               f"{level} high"], rows)]
    return [*lines, ""]


def analysis_text(data: MrmcData, result: OrResult, covariance: str) -> str:
    """Readable tables of every figure."""
    c = result.components
    lines = [f"MRMC analysis: {len(data.readers)} readers, {len(data.modalities)} modalities, {len(data.cases)} cases "
             f"({data.n_negative} negative, {data.n_positive} positive)",
             f"Empirical (Wilcoxon) AUC; covariance by {covariance}; Obuchowski-Rockette, Hillis df; "
             f"alpha {result.alpha:g}", "", "AUC per reader"]
    rows = [[reader, *(_f(value) for value in row)] for reader, row in zip(result.readers, result.fom, strict=True)]
    rows.append(["mean", *(_f(value) for value in result.reader_averaged)])
    lines += _table(["reader", *result.modalities], rows)
    lines += ["", "ANOVA of the AUCs and OR variance components",
              f"  MS(T) = {_f(c.ms_t)} (df {c.df_t}), MS(R) = {_f(c.ms_r)} (df {c.df_r}), "
              f"MS(T*R) = {_f(c.ms_tr)} (df {c.df_tr})",
              f"  Var(R) = {_f(c.var_r)}, Var(T*R) = {_f(c.var_tr)}, Cov1 = {_f(c.cov1)}, Cov2 = {_f(c.cov2)}, "
              f"Cov3 = {_f(c.cov3)}, Var(error) = {_f(c.var_error)}", ""]
    rows = [[modality, _f(ms), _f(cov2), _f(var)] for modality, ms, cov2, var in
            zip(result.modalities, c.ms_r_per_modality, c.cov2_per_modality, c.var_error_per_modality, strict=True)]
    lines += ["  " + row for row in _table(["modality", "MS(R)", "Cov2", "Var(error)"], rows)]
    lines.append("")
    for analysis in (result.rrrc, result.frrc, result.rrfc):
        if analysis is not None:
            lines += _analysis_lines(analysis, result.alpha)
    return "\n".join(lines)
