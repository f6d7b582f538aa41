"""The marks' JAFROC workbook, read by RJafroc 2.1.3 itself (``DfReadDataFile(path, format = "JAFROC")``): its
wAFROC figure of merit per reader equals the project's (``analysis.marks.statistics.wafroc``), on a simulated study
with box-kept and all-generated fakes, marks in and out of the box, and ratings with ties."""
import shutil
import subprocess

import numpy as np
import pytest

from analysis.marks.jafroc import jafroc_tables, write_jafroc
from analysis.marks.simulate import MarkingConfig, simulate_marks
from analysis.marks.statistics import wafroc


def _rjafroc_available() -> bool:
    if shutil.which("Rscript") is None:
        return False
    return subprocess.run(["Rscript", "-e", "library(RJafroc)"], capture_output=True).returncode == 0


pytestmark = pytest.mark.skipif(not _rjafroc_available(),
                                reason="R with RJafroc is not installed (/work/shared/r-packages/install.sh)")

R_WAFROC = """
suppressMessages(library(RJafroc))
args <- commandArgs(trailingOnly = TRUE)
ds <- DfReadDataFile(args[1], format = "JAFROC")
fom <- UtilFigureOfMerit(ds, FOM = "wAFROC")
cat(paste(ds$descriptions$readerID, collapse = ","), "\\n")
cat(sprintf("%.12f", as.numeric(fom[1, ])), sep = ",")
"""


@pytest.mark.parametrize("seed", [1, 2])
def test_rjafroc_reads_the_export_and_gets_the_projects_wafroc(tmp_path, seed):
    config = MarkingConfig(readers=4, box_kept_fakes=20, all_generated_fakes=10, real_images=25, true_ratio=0.6,
                           real_mark_probability=0.3)
    data = simulate_marks(config, seed)
    every_case = np.ones(len(data.cases), dtype=bool)
    tables = jafroc_tables(data, [1, 2, 3, 4], every_case, [f"case {k}" for k in range(len(data.cases))])
    workbook = tmp_path / "marks.xlsx"
    write_jafroc(tables, workbook)
    script = tmp_path / "wafroc.R"
    script.write_text(R_WAFROC)
    run = subprocess.run(["Rscript", str(script), str(workbook)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    readers_line, foms_line = run.stdout.strip().splitlines()
    assert readers_line.strip() == "1,2,3,4"
    theirs = np.array([float(value) for value in foms_line.split(",")])
    np.testing.assert_allclose(theirs, wafroc(data), atol=1e-9)
