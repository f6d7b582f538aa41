"""The PostgreSQL health check: free while a persistent connection is quiet, and still catches one the server ended
(a restart, a terminated backend), so the next request reconnects instead of failing."""
import time

import psycopg2
import pytest
from django.db import connection, connections

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="the check is PostgreSQL's")


@pytest.fixture
def own_connection(db):
    """A connection of its own (the test's transaction stays untouched), closed at the end."""
    wrapper = connections.create_connection("default")
    wrapper.ensure_connection()
    yield wrapper
    wrapper.close()


def test_a_quiet_connection_is_usable_without_asking_the_server(own_connection, monkeypatch):
    from django.db.backends.postgresql import base

    def no_round_trip(self):
        raise AssertionError("SELECT 1 was sent")

    monkeypatch.setattr(base.DatabaseWrapper, "is_usable", no_round_trip)
    assert type(own_connection).__module__ == "readerstudy.db.postgresql.base"
    assert own_connection.is_usable()


def test_a_connection_the_server_ended_is_caught_and_replaced(own_connection):
    with own_connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    settings = own_connection.settings_dict
    admin = psycopg2.connect(host=settings["HOST"] or None, port=settings["PORT"] or None,
                             user=settings["USER"], password=settings["PASSWORD"] or None, dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    admin.close()
    deadline = time.monotonic() + 5
    while own_connection.is_usable() and time.monotonic() < deadline:
        time.sleep(0.05)  # the termination notice reaches the socket a moment later
    assert not own_connection.is_usable()
    own_connection.health_check_enabled, own_connection.health_check_done = True, False
    own_connection.close_if_health_check_failed()  # what Django does before a request's first query
    with own_connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
