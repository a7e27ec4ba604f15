"""Operations that migrations share.

`ConcurrentIndexes` builds PostgreSQL indexes CONCURRENTLY, so a live table keeps taking writes while a large
index builds (minutes on 1,000,000 requests); reversing drops them the same way. The migration that uses it must
say `atomic = False`: CREATE INDEX CONCURRENTLY cannot run in a transaction. SQLite (the embedded default) gets
none of them: they serve the reports' and the desk's reads at a size only PostgreSQL is run at."""

from __future__ import annotations

from collections.abc import Mapping

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps


class ConcurrentIndexes(migrations.RunPython):
    """`indexes`: each index's name → (its table, what follows the table in CREATE INDEX: columns, INCLUDE, WHERE)."""

    def __init__(self, indexes: Mapping[str, tuple[str, str]]) -> None:
        self.indexes = dict(indexes)
        super().__init__(self._create, self._drop, elidable=False)

    def _create(self, apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        for name, (table, shape) in self.indexes.items():
            schema_editor.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {table} {shape}")

    def _drop(self, apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        for name in self.indexes:
            schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")

    def describe(self) -> str:
        return f"Build the indexes {', '.join(self.indexes)} concurrently (PostgreSQL)"


class ConcurrentIndexesDropped(ConcurrentIndexes):
    """Drops `indexes` CONCURRENTLY (an index another replaces); reversing builds them again, as they were."""

    def __init__(self, indexes: Mapping[str, tuple[str, str]]) -> None:
        self.indexes = dict(indexes)
        migrations.RunPython.__init__(self, self._drop, self._create, elidable=False)

    def describe(self) -> str:
        return f"Drop the indexes {', '.join(self.indexes)} concurrently (PostgreSQL)"
