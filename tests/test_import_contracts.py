"""The import contracts in pyproject.toml hold: training and generation import neither Django nor the web app, the apps
form their layers (studies <- reading <- results; batches, jobs and the gallery on studies only) and no two apps
import each other."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_the_import_contracts_are_kept():
    lint_imports = Path(sys.executable).parent / "lint-imports"
    if not lint_imports.exists() and shutil.which("lint-imports") is None:
        pytest.skip("import-linter is not installed (requirements-dev.txt)")
    command = str(lint_imports) if lint_imports.exists() else "lint-imports"
    result = subprocess.run([command, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout
