"""`IdIn`: a condition on a list of ids, one array on PostgreSQL, an `IN` list on SQLite (the embedded default)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import F
from django.db.utils import ConnectionHandler

from portal.id_list import IdIn
from requests_app.models import Vendor
from requests_app.tests import factories as f

pytestmark = pytest.mark.django_db


def test_on_postgresql_it_is_one_array_whatever_the_ids():
    vendors = [f.VendorFactory(slug=f"v{n}") for n in range(4)]
    chosen = [vendors[0].pk, vendors[2].pk]

    found = Vendor.objects.filter(IdIn(F("pk"), chosen))

    assert sorted(found.values_list("pk", flat=True)) == sorted(chosen)
    sql, params = found.query.sql_with_params()
    assert "= ANY(%s::bigint[])" in sql and list(params) == [chosen]
    assert not Vendor.objects.filter(IdIn(F("pk"), [])).exists()
    assert connection.vendor == "postgresql"


@pytest.fixture
def sqlite():
    """An in-memory SQLite database with the vendors' table, as the embedded default has it."""
    handler = ConnectionHandler({"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}})
    database = handler["default"]
    with database.schema_editor() as editor:
        editor.create_model(Vendor)
    yield database
    database.close()


def test_on_sqlite_it_is_an_in_list_that_finds_the_same_rows(sqlite):
    with sqlite.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO requests_app_vendor (slug, name, contact_email) VALUES (%s, %s, %s)",
            [(f"v{n}", f"V{n}", "") for n in range(4)],
        )
    query = Vendor.objects.filter(IdIn(F("pk"), [1, 3])).values_list("slug", flat=True).query

    sql, params = query.get_compiler(connection=sqlite).as_sql()
    with sqlite.cursor() as cursor:
        cursor.execute(sql, params)
        slugs = sorted(row[0] for row in cursor.fetchall())

    assert " IN (%s, %s)" in sql and list(params) == [1, 3]
    assert slugs == ["v0", "v2"]

    empty_sql, empty_params = Vendor.objects.filter(IdIn(F("pk"), [])).query.get_compiler(connection=sqlite).as_sql()
    with sqlite.cursor() as cursor:
        cursor.execute(empty_sql, empty_params)
        assert cursor.fetchall() == []
