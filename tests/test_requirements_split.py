"""The install is split by use: `make demo` installs the runtime (requirements.txt), `make test` the runtime and the
tests' and tools' packages (requirements-dev.txt), and no runtime code imports a test or tooling package."""
from __future__ import annotations

import ast
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEV_ONLY = {"pytest", "pytest-django", "pytest-timeout", "playwright", "httpx", "hypothesis", "ruff", "schemathesis",
            "atheris", "time-machine"}
DEV_MODULES = {"pytest", "pytest_django", "playwright", "httpx", "hypothesis", "ruff", "schemathesis", "atheris",
               "time_machine"}
RUNTIME_PACKAGES = ("readerstudy", "training", "generation", "batchformat")


def requirement_names(path: Path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.add(re.split(r"[=<>~!\[;]", line, maxsplit=1)[0].strip().lower())
    return names


def test_runtime_requirements_hold_no_test_or_tooling_package():
    assert requirement_names(ROOT / "requirements.txt") & DEV_ONLY == set()


def test_dev_requirements_add_every_test_and_tooling_package_on_top_of_the_runtime():
    lines = [line.strip() for line in (ROOT / "requirements-dev.txt").read_text().splitlines()]
    assert "-r requirements.txt" in lines
    dev = requirement_names(ROOT / "requirements-dev.txt")
    assert dev >= DEV_ONLY and dev & requirement_names(ROOT / "requirements.txt") == set()


def test_no_runtime_module_imports_a_test_or_tooling_package():
    offenders = []
    for package in RUNTIME_PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    modules = [node.module]
                else:
                    continue
                offenders += [f"{path.relative_to(ROOT)}: {m}" for m in modules if m.split(".")[0] in DEV_MODULES]
    assert offenders == []


def make_plan(target: str, venv: Path, *variables: str) -> str:
    """What ``make TARGET`` would run for a fresh virtualenv at ``venv`` (``make -n``: nothing is executed)."""
    result = subprocess.run(["make", "-n", f"VENV={venv}", *variables, target], cwd=ROOT, capture_output=True,
                            text=True, check=True)
    return result.stdout


@pytest.fixture
def fresh_venv(tmp_path):
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    return tmp_path / "venv"


def test_make_demo_on_a_fresh_machine_creates_the_venv_and_installs_the_runtime_only(fresh_venv):
    plan = make_plan("demo", fresh_venv)
    assert f"python3 -m venv {fresh_venv}" in plan
    assert "install -q -r requirements.txt" in plan
    assert "requirements-dev.txt" not in plan
    assert "manage.py demo" in plan


def test_make_test_on_a_fresh_machine_installs_both_files_then_lints_and_tests(fresh_venv):
    plan = make_plan("test", fresh_venv)
    assert f"python3 -m venv {fresh_venv}" in plan
    assert "install -q -r requirements-dev.txt" in plan
    assert plan.index("requirements-dev.txt") < plan.index("ruff check") < plan.index("-m pytest")


def test_the_install_stamps_change_when_either_requirements_file_changes(fresh_venv):
    stamps = lambda plan: sorted(set(re.findall(r"\.installed-[\w-]+", plan)))  # noqa: E731
    plan = make_plan("test", fresh_venv)
    dev_stamp = next(stamp for stamp in stamps(plan) if "-dev-" in stamp)
    runtime_stamp = next(stamp for stamp in stamps(plan) if "-dev-" not in stamp)
    digest = lambda *names: subprocess.run(  # noqa: E731
        f"cat {' '.join(names)} | sha256sum | cut -c1-12", shell=True, cwd=ROOT, capture_output=True, text=True,
        check=True).stdout.strip()
    assert dev_stamp == f".installed-dev-{digest('requirements.txt', 'requirements-dev.txt')}"
    assert runtime_stamp == f".installed-{digest('requirements.txt')}"


def test_make_demo_and_serve_listen_on_8000_unless_port_says_otherwise(fresh_venv):
    assert "runserver 127.0.0.1:8000" in make_plan("demo", fresh_venv)
    demo = make_plan("demo", fresh_venv, "PORT=8123")
    assert "runserver 127.0.0.1:8123" in demo and "--url http://127.0.0.1:8123/" in demo  # the logins name the port
    assert "runserver 127.0.0.1:8123" in make_plan("serve", fresh_venv, "PORT=8123")
