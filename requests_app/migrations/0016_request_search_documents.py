"""Full-text search documents: a table beside the request, filled by PostgreSQL triggers and backfilled here.

Every write path (the services, the Jira mirror's queryset update, the demo seed's COPY, a shell) goes through
the triggers, so no code path can leave a document stale. They are statement-level with transition tables: a
bulk COPY of 20,000 requests refreshes their documents in one set-based statement, not 20,000 single ones.

- INSERT on requests: a document for every new request.
- UPDATE on requests: a fresh document where the reference, Jira key, title or description changed (transition
  tables rule out a column list, so the trigger compares old and new rows itself).
- INSERT on events: a fresh document for requests that got a new comment-like message (events are append-only).

The document (weights: A for reference, Jira key and title, B for the description, C for public messages, D for
internal notes) is built in one function so that triggers and the backfill agree. On SQLite nothing is created:
search there is a plain substring match."""

import django.contrib.postgres.search
import django.db.models.deletion
from django.db import migrations, models

# The event kinds whose message a person wrote: requests_app.choices.SEARCHABLE_EVENT_KINDS when this was written.
KINDS = (
    "comment",
    "jira_comment",
    "request_info",
    "provide_info",
    "escalate",
    "unblock",
    "resolve",
    "reopen",
    "reject",
    "deny",
    "approve",
    "cancel",
)
KIND_LIST = ", ".join(f"'{kind}'" for kind in KINDS)
DOCS = "requests_app_requestsearchdocument"
REQUESTS = "requests_app_servicerequest"
EVENTS = "requests_app_requestevent"
BACKFILL_BATCH = 20_000

CREATE = f"""
CREATE OR REPLACE FUNCTION requests_app_search_refresh(ids bigint[]) RETURNS void LANGUAGE sql AS $$
    -- Joins, not a subquery per request: for a batch of 20,000 ids the events are read in one pass (a hash
    -- join), for one id through the (service_request, created_at) index; never once per request per event.
    WITH wanted AS (SELECT DISTINCT unnest(ids) AS id),
    notes AS (
        SELECT e.service_request_id AS id,
               string_agg(e.message, ' ' ORDER BY e.id) FILTER (WHERE NOT e.internal) AS public_text,
               string_agg(e.message, ' ' ORDER BY e.id) FILTER (WHERE e.internal) AS internal_text
          FROM {EVENTS} e
          JOIN wanted w ON w.id = e.service_request_id
         WHERE e.message <> '' AND e.kind IN ({KIND_LIST})
         GROUP BY e.service_request_id
    ),
    documents AS (
        SELECT r.id,
               setweight(to_tsvector('english'::regconfig, coalesce(r.reference, '') || ' ' || r.jira_key), 'A')
               || setweight(to_tsvector('english'::regconfig, r.title), 'A')
               || setweight(to_tsvector('english'::regconfig, r.description), 'B')
               || setweight(to_tsvector('english'::regconfig, coalesce(n.public_text, '')), 'C') AS public,
               n.internal_text
          FROM {REQUESTS} r
          JOIN wanted w ON w.id = r.id
          LEFT JOIN notes n ON n.id = r.id
    )
    INSERT INTO {DOCS} (service_request_id, public, internal)
    SELECT id, public, public || setweight(to_tsvector('english'::regconfig, coalesce(internal_text, '')), 'D')
      FROM documents
    ON CONFLICT (service_request_id) DO UPDATE SET public = EXCLUDED.public, internal = EXCLUDED.internal;
$$;

CREATE OR REPLACE FUNCTION requests_app_search_on_request_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM requests_app_search_refresh(ARRAY(SELECT id FROM new_rows));
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION requests_app_search_on_request_update() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed bigint[];
BEGIN
    changed := ARRAY(
        SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
         WHERE (n.reference, n.jira_key, n.title, n.description)
               IS DISTINCT FROM (o.reference, o.jira_key, o.title, o.description)
    );
    IF cardinality(changed) > 0 THEN
        PERFORM requests_app_search_refresh(changed);
    END IF;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION requests_app_search_on_event_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    touched bigint[];
BEGIN
    touched := ARRAY(
        SELECT DISTINCT service_request_id FROM new_rows WHERE message <> '' AND kind IN ({KIND_LIST})
    );
    IF cardinality(touched) > 0 THEN
        PERFORM requests_app_search_refresh(touched);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER servicerequest_search_insert AFTER INSERT ON {REQUESTS}
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION requests_app_search_on_request_insert();
CREATE TRIGGER servicerequest_search_update AFTER UPDATE ON {REQUESTS}
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION requests_app_search_on_request_update();
CREATE TRIGGER requestevent_search_insert AFTER INSERT ON {EVENTS}
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION requests_app_search_on_event_insert();

CREATE INDEX requestsearch_public_gin ON {DOCS} USING gin (public);
CREATE INDEX requestsearch_internal_gin ON {DOCS} USING gin (internal);
"""

DROP = f"""
DROP TRIGGER IF EXISTS servicerequest_search_insert ON {REQUESTS};
DROP TRIGGER IF EXISTS servicerequest_search_update ON {REQUESTS};
DROP TRIGGER IF EXISTS requestevent_search_insert ON {EVENTS};
DROP FUNCTION IF EXISTS requests_app_search_on_request_insert();
DROP FUNCTION IF EXISTS requests_app_search_on_request_update();
DROP FUNCTION IF EXISTS requests_app_search_on_event_insert();
DROP FUNCTION IF EXISTS requests_app_search_refresh(bigint[]);
DROP INDEX IF EXISTS requestsearch_public_gin;
DROP INDEX IF EXISTS requestsearch_internal_gin;
"""


def search_create(apps, schema_editor):
    """Triggers, indexes, then a document for every existing request, in batches of ids."""
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(CREATE)
        cursor.execute(f"SELECT coalesce(max(id), 0) FROM {REQUESTS}")  # noqa: S608 — constant table name
        (last,) = cursor.fetchone()
        for start in range(0, last + 1, BACKFILL_BATCH):
            cursor.execute(
                f"SELECT requests_app_search_refresh(ARRAY(SELECT id FROM {REQUESTS} WHERE id >= %s AND id < %s))",  # noqa: S608
                [start, start + BACKFILL_BATCH],
            )


def search_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("requests_app", "0015_eventkind_attachment_added"),
    ]

    operations = [
        migrations.CreateModel(
            name="RequestSearchDocument",
            fields=[
                (
                    "service_request",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="search_document",
                        serialize=False,
                        to="requests_app.servicerequest",
                    ),
                ),
                ("public", django.contrib.postgres.search.SearchVectorField()),
                ("internal", django.contrib.postgres.search.SearchVectorField()),
            ],
        ),
        migrations.RunPython(search_create, search_drop, elidable=False),
    ]
