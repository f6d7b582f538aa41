"""The README and the generation docs start the GPU worker with the same command (one had ``-P solo``, which
enforces no time limit, while the other said why it must be prefork)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GPU_WORKER = re.compile(r"^(?:\.venv/bin/)?(celery -A readerstudy worker -Q gpu\b[^#\n]*)", re.MULTILINE)


def gpu_worker_commands(path: Path) -> set[str]:
    return {" ".join(match.split()) for match in GPU_WORKER.findall(path.read_text(encoding="utf-8"))}


def test_readme_and_generation_docs_start_the_gpu_worker_alike():
    readme, docs = gpu_worker_commands(ROOT / "README.md"), gpu_worker_commands(ROOT / "docs" / "generation.md")
    assert readme and readme == docs, (readme, docs)
    (command,) = readme
    assert "-P prefork" in command and "--max-tasks-per-child 1" in command and "-P solo" not in command
