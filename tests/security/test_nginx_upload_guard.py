"""deploy/nginx.conf refuses a large body before buffering it (issue 29): an anonymous upload gets 401 from nginx at
once, and an upload over what the app accepts (the batch zip limit plus the multipart envelope) 413, both from the
headers alone. No upstream is running: nginx answers itself, so neither request reaches (or waits for) gunicorn."""
from __future__ import annotations

import http.client
import socket
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
from front import nginx_binary, start_nginx  # noqa: E402

pytestmark = pytest.mark.skipif(nginx_binary() is None, reason="apt-get install -y nginx (.ci/run does)")
ANNOUNCED = 1_100 * 1024 * 1024  # what the probe's anonymous upload announced (nginx buffered it all before)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def nginx_port(tmp_path):
    port = free_port()
    process = start_nginx(listen_port=port, upstream_port=free_port(), runtime_dir=tmp_path / "nginx",
                          static_root=tmp_path / "static")
    yield port
    process.terminate()
    process.wait(timeout=10)


def announce_upload(port: int, path: str, length: int, **headers: str) -> tuple[int, float]:
    """Send only the headers of a POST announcing ``length`` bytes; (status, seconds to the answer)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    started = time.monotonic()
    connection.putrequest("POST", path)
    connection.putheader("Content-Type", "multipart/form-data; boundary=x")
    connection.putheader("Content-Length", str(length))
    for name, value in headers.items():
        connection.putheader(name.replace("_", "-"), value)
    connection.endheaders()
    response = connection.getresponse()
    connection.close()
    return response.status, time.monotonic() - started


@pytest.mark.parametrize(("path", "length"), [("/studies/paper/batches/", 1_000 * 1024 * 1024),
                                              ("/api/studies/paper/batches/", 1_000 * 1024 * 1024),
                                              ("/api/studies/paper/practice-images/", 60 * 1024 * 1024)])
def test_an_anonymous_upload_under_the_cap_is_refused_before_its_body_is_read(nginx_port, path, length):
    status, seconds = announce_upload(nginx_port, path, length)
    assert status == 401 and seconds < 5


def test_an_anonymous_upload_over_the_cap_is_refused_from_its_headers(nginx_port):
    """nginx checks the announced size before its rewrite phase, so the probe's 1,100 MB gets 413 (not 401): either
    way nothing is buffered."""
    status, seconds = announce_upload(nginx_port, "/studies/paper/batches/", ANNOUNCED)
    assert status == 413 and seconds < 5


@pytest.mark.parametrize("credentials", [{"Cookie": "sessionid=abc"}, {"Authorization": "Token abc"}])
def test_an_upload_over_what_the_app_accepts_is_refused_from_its_headers(nginx_port, credentials):
    status, seconds = announce_upload(nginx_port, "/studies/paper/batches/", ANNOUNCED, **credentials)
    assert status == 413 and seconds < 5


def test_a_large_body_anywhere_else_is_refused_at_one_mebibyte(nginx_port):
    status, _seconds = announce_upload(nginx_port, "/api/studies/paper/votes/", 2 * 1024 * 1024,
                                       Authorization="Token abc")
    assert status == 413
