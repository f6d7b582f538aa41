"""``python -m training ...`` for a torchrun test, recording what this process writes under ``--out``.

Python's audit events (open for writing, rename/replace, mkdir, remove) are recorded for paths under ``--out`` and
written at exit to ``$AUDIT_DIR/rank-$RANK.json`` (data loader workers, forked, do not report).
"""

from __future__ import annotations

import json
import os
import runpy
import sys
from pathlib import Path

WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
PATH_EVENTS = ("os.rename", "os.remove", "os.mkdir", "os.rmdir", "shutil.rmtree")


def main() -> None:
    out = Path(sys.argv[sys.argv.index("--out") + 1]).resolve()
    report = Path(os.environ["AUDIT_DIR"]) / f"rank-{os.environ.get('RANK', '0')}.json"
    reporter = os.getpid()
    written: list[str] = []

    def under_out(path: object) -> str | None:
        if not isinstance(path, str | bytes | os.PathLike):
            return None
        resolved = Path(os.fsdecode(path)).resolve()
        return str(resolved) if resolved == out or out in resolved.parents else None

    def hook(event: str, args: tuple) -> None:
        if event == "open":
            path, mode, flags = args
            writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & WRITE_FLAGS)
            target = under_out(path) if writes else None
        elif event in PATH_EVENTS:
            target = under_out(args[0])
        else:
            return
        if target:
            written.append(f"{event} {target}")

    sys.addaudithook(hook)
    sys.argv = ["python -m training", *sys.argv[1:]]
    try:
        runpy.run_module("training", run_name="__main__", alter_sys=True)
    finally:
        if os.getpid() == reporter:
            report.write_text(json.dumps(written))


if __name__ == "__main__":
    main()
