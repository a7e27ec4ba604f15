"""Room on each page of the search documents for their next versions, so that they stay in id order on disk.

A search walks a span of the newest documents down the id's btree (`ServiceRequestQuerySet._newest_documents`), and
what that costs is the heap pages it visits in that order. Every event people write rewrites its request's document
(the triggers of 0016), and a new version goes on the same page only if that page has room for it: on full pages
(the default fillfactor, 100) it went wherever there was room, and the newest documents lay scattered — eleven
consecutive ids on eleven pages spread over 1,300, a walk of 26,956 documents visiting a page for each (bench/
RESULTS.md, session 21). Walked in id order, the same documents took half the time (`rollback -helm`'s read for a
vendor engineer on 1,000,000 requests, in the page: ~17 → ~7 ms). With 30 % of each page kept for new versions, a
desk writing one event at a time (each its own transaction, so that the old versions are pruned as the page fills)
kept its newest 20,000 documents in id order, one page visited after the other (bench/layout_bench.py), for ~10 %
more space.

Only later writes follow the new setting: a desk upgraded from an older release keeps its layout until the table is
rewritten (`CLUSTER requests_app_requestsearchdocument USING requests_app_requestsearchdocument_pkey`, in a quiet
hour: it locks the table; README, "Observability and deployment"). PostgreSQL only: SQLite has no search
documents' triggers."""

from django.db import migrations

FILLFACTOR = 70


def fillfactor_set(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE requests_app_requestsearchdocument SET (fillfactor = {FILLFACTOR})")


def fillfactor_reset(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("ALTER TABLE requests_app_requestsearchdocument RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [
        ("requests_app", "0024_search_document_visibility_keys"),
    ]

    operations = [
        migrations.RunPython(fillfactor_set, fillfactor_reset, elidable=False),
    ]
