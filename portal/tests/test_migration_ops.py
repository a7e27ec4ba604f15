"""`ConcurrentIndexes`: builds and drops its indexes outside a transaction, and only on PostgreSQL."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.state import ProjectState

from portal.migration_ops import ConcurrentIndexes

TABLE = "portal_test_concurrent_indexes"


def index_names() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", [TABLE])
        return {name for (name,) in cursor.fetchall()}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)  # CREATE INDEX CONCURRENTLY refuses to run inside a transaction
def test_the_indexes_are_built_and_dropped_concurrently():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    operation = ConcurrentIndexes(
        {
            "portal_test_by_b": (TABLE, "(b)"),
            "portal_test_a_where_b": (TABLE, "(a) INCLUDE (b) WHERE b > 0"),
        }
    )
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {TABLE} (a integer, b integer)")
    try:
        state = ProjectState()
        with connection.schema_editor(atomic=False) as editor:
            operation.database_forwards("portal", editor, state, state)
        assert index_names() == {"portal_test_by_b", "portal_test_a_where_b"}
        with connection.cursor() as cursor:
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'portal_test_a_where_b'")
            assert "INCLUDE (b) WHERE (b > 0)" in cursor.fetchone()[0]
        with connection.schema_editor(atomic=False) as editor:
            operation.database_forwards("portal", editor, state, state)  # again: IF NOT EXISTS, no error
            operation.database_backwards("portal", editor, state, state)
        assert index_names() == set()
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {TABLE}")


def test_every_migration_that_builds_indexes_concurrently_runs_outside_a_transaction():
    loader = MigrationLoader(None, ignore_no_migrations=True)
    users = [
        migration
        for migration in loader.disk_migrations.values()
        if any(isinstance(operation, ConcurrentIndexes) for operation in migration.operations)
    ]
    assert users, "no migration uses ConcurrentIndexes"
    assert [f"{m.app_label}.{m.name}" for m in users if m.atomic] == []
