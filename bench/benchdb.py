"""The benchmarks' PostgreSQL database: created when it does not exist yet (a no-op on any other database)."""
from __future__ import annotations


def ensure_database() -> None:
    import psycopg2
    from django.conf import settings

    db = settings.DATABASES["default"]
    if not db["ENGINE"].endswith("postgresql"):
        return
    connection = psycopg2.connect(dbname="postgres", user=db["USER"], host=db["HOST"], port=db["PORT"] or 5432,
                                  password=db["PASSWORD"] or None)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{db["NAME"]}"')
    connection.close()
