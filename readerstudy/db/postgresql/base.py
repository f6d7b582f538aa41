"""Django's PostgreSQL backend with a health check that costs no round trip while the connection is quiet, and a
record of the statements prepared on the current connection.

``CONN_HEALTH_CHECKS`` makes Django ask ``is_usable()`` before a persistent connection serves a new request, and the
stock answer is a ``SELECT 1``: one more round trip to the database on every request. An idle connection receives
nothing from the server unless the server is going away (a restart or a terminated backend sends an error and closes
the socket), so a zero-timeout poll of the socket tells a live connection from a dead one for free; only when
something has arrived is the stock check run to be sure.

``prepared_statements`` names what ``PREPARE`` has made on the connection now open (the reading hot path's plain
statements, ``readerstudy.reading.reading_sql``): a prepared statement lives as long as its server session, so the
record starts empty with every new connection. It is None, and nothing is prepared, when the database's settings say
``PREPARED_STATEMENTS: False`` (behind a pooler that shares server sessions between clients).
"""
from __future__ import annotations

import select

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.prepared_statements: set[str] | None = self._no_statements_prepared()

    def _no_statements_prepared(self) -> set[str] | None:
        return set() if self.settings_dict.get("PREPARED_STATEMENTS", True) else None

    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        self.prepared_statements = self._no_statements_prepared()
        return connection

    def is_usable(self) -> bool:
        if self.connection is None or self.connection.closed:
            return False
        try:
            readable, _, _ = select.select([self.connection.fileno()], [], [], 0)
        except (OSError, ValueError):
            return False
        if not readable:
            return True
        return super().is_usable()
