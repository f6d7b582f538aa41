"""The project's Celery app for a worker whose jobs outlive their soft time limit, as a job stuck in native code does
(the soft limit is a signal, SIGUSR1, whose exception Python raises only between bytecodes): each job's process ignores
the signal, so the hard limit is what stops it (``tests/test_jobs_time_limit.py``)."""
from __future__ import annotations

import signal

from celery.signals import task_prerun

from readerstudy.celery import app

__all__ = ["app"]


@task_prerun.connect
def ignore_the_soft_time_limit(**_) -> None:
    # In the job's process, just before the job: billiard installs its SIGUSR1 handler after the pool initialiser.
    signal.signal(signal.SIGUSR1, signal.SIG_IGN)
