"""Start Debian's nginx in front of gunicorn with deploy/nginx.conf (its placeholders filled in), for the reading
benchmark (``bench_reading.py --nginx-port``) and the soak step (tests/soak/test_nginx_front.py)."""
from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "deploy" / "nginx.conf"


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)


def nginx_config(*, listen_port: int, upstream_port: int, runtime_dir: Path, static_root: Path) -> Path:
    """deploy/nginx.conf with its placeholders filled, written into ``runtime_dir``."""
    runtime_dir.mkdir(parents=True, exist_ok=True)
    text = (TEMPLATE.read_text().replace("__RUNTIME_DIR__", str(runtime_dir))
            .replace("__UPSTREAM__", f"127.0.0.1:{upstream_port}")
            .replace("__LISTEN__", f"127.0.0.1:{listen_port}")
            .replace("__STATIC_ROOT__", str(static_root)))
    config = runtime_dir / "nginx.conf"
    config.write_text(text)
    return config


def start_nginx(*, listen_port: int, upstream_port: int, runtime_dir: Path, static_root: Path) -> subprocess.Popen:
    """nginx in the foreground (its own process group), answering on ``listen_port``; raises if it does not."""
    binary = nginx_binary()
    if binary is None:
        raise RuntimeError("nginx is not installed (apt-get install -y nginx)")
    config = nginx_config(listen_port=listen_port, upstream_port=upstream_port, runtime_dir=runtime_dir,
                          static_root=static_root)
    check = subprocess.run([binary, "-t", "-c", str(config), "-p", str(runtime_dir)], capture_output=True, text=True)
    if check.returncode:
        raise RuntimeError(f"nginx refused {config}: {check.stderr}")
    process = subprocess.Popen([binary, "-c", str(config), "-p", str(runtime_dir), "-g", "daemon off;"],
                               start_new_session=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", listen_port), timeout=0.5):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"nginx did not listen on {listen_port} within 10 s")
