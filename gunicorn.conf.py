"""gunicorn settings for serving the reader study (``gunicorn readerstudy.wsgi -c gunicorn.conf.py``).

Threaded workers, because a reader's browser keeps its connection open between images and an idle kept-alive
connection must not hold a worker. Each worker is a process with its own GIL; requests inside one worker share it,
so a few threads per worker keep a request from waiting behind its neighbours' Python work. Numbers and how they
were chosen: docs/reader-core.md ("Serving").
"""
import gc
import multiprocessing
import os
import sys

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2))
threads = int(os.environ.get("GUNICORN_THREADS", 4))
keepalive = 75  # longer than a reader looks at an image, so the next request reuses the connection
timeout = 60
graceful_timeout = 30
# The image and reading requests are short; a shorter GIL switch interval (5 ms by default) lets a request that
# waits behind another thread's Python work in the same worker get its turn sooner.
switch_interval_s = float(os.environ.get("GUNICORN_SWITCH_INTERVAL_S", 0.001))


def post_worker_init(worker):
    """Import every view now rather than in the first reader's request (seconds: the results pages load numerical
    libraries), then move everything loaded so far out of the garbage collector's reach: a full collection over
    the ~200,000 objects of a loaded worker takes ~100 ms, which would otherwise land in a random request."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 (imported for its side effect)
    sys.setswitchinterval(switch_interval_s)
    gc.collect()
    gc.freeze()
