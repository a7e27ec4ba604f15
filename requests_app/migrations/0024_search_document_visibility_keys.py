"""Who may see a request, on its search document: the request's vendor, team and requester, kept by the triggers.

`visible_to` narrows a vendor's people to their vendor's requests (plus their teams' and their own) and a requester
to their teams' and their own. Applied to the request after matching, a common word matched 100,000+ documents that
were then joined to their requests and mostly thrown away. With the keys on the document, the search reads its
candidates off the documents alone: btrees on (vendor_id, service_request_id), (team_id, service_request_id) and
(requester_id, service_request_id) walk a vendor's, a team's or a person's newest documents in id order for a
common word, and 0016's GIN indexes on the vectors find a rarer one. (Multicolumn GIN indexes with the keys,
`btree_gin`, were tried in their place: on 1,000,000 requests the planner stopped using them for phrases and
references and walked every document, 2 s.)

- INSERT on requests: `requests_app_search_refresh` writes the keys with the vectors.
- UPDATE on requests: the vectors are rebuilt as before where the text changed; the keys are copied wherever they
  differ from the request's (triage, a bulk reassignment, a queryset update: every UPDATE statement), without
  rebuilding the vectors.

The request's own `visible_to` is still applied: the keys let the index find the candidates, they never decide
alone what someone sees. The backfill copies the keys in id ranges before the new indexes are built (a million
rows: see bench/RESULTS.md). On SQLite nothing is created: search there is a plain substring match."""

import importlib

from django.db import migrations, models

search_0016 = importlib.import_module("requests_app.migrations.0016_request_search_documents")
DOCS, REQUESTS, EVENTS, KIND_LIST = search_0016.DOCS, search_0016.REQUESTS, search_0016.EVENTS, search_0016.KIND_LIST
BACKFILL_BATCH = 50_000

REFRESH = f"""
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
        SELECT r.id, r.vendor_id, r.team_id, r.requester_id,
               setweight(to_tsvector('english'::regconfig, coalesce(r.reference, '') || ' ' || r.jira_key), 'A')
               || setweight(to_tsvector('english'::regconfig, r.title), 'A')
               || setweight(to_tsvector('english'::regconfig, r.description), 'B')
               || setweight(to_tsvector('english'::regconfig, coalesce(n.public_text, '')), 'C') AS public,
               n.internal_text
          FROM {REQUESTS} r
          JOIN wanted w ON w.id = r.id
          LEFT JOIN notes n ON n.id = r.id
    )
    INSERT INTO {DOCS} (service_request_id, vendor_id, team_id, requester_id, public, internal)
    SELECT id, vendor_id, team_id, requester_id,
           public, public || setweight(to_tsvector('english'::regconfig, coalesce(internal_text, '')), 'D')
      FROM documents
    ON CONFLICT (service_request_id) DO UPDATE
       SET vendor_id = EXCLUDED.vendor_id, team_id = EXCLUDED.team_id, requester_id = EXCLUDED.requester_id,
           public = EXCLUDED.public, internal = EXCLUDED.internal;
$$;
"""

ON_UPDATE = f"""
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
    -- Compared with the document, not the old row: a key that differs for any reason is put right.
    UPDATE {DOCS} d
       SET vendor_id = n.vendor_id, team_id = n.team_id, requester_id = n.requester_id
      FROM new_rows n
     WHERE d.service_request_id = n.id
       AND (d.vendor_id, d.team_id, d.requester_id) IS DISTINCT FROM (n.vendor_id, n.team_id, n.requester_id);
    RETURN NULL;
END;
$$;
"""

ON_UPDATE_0016 = """
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
"""

INDEXES = f"""
CREATE INDEX requestsearch_team_newest ON {DOCS} (team_id, service_request_id);
CREATE INDEX requestsearch_vendor_newest ON {DOCS} (vendor_id, service_request_id);
CREATE INDEX requestsearch_requester_newest ON {DOCS} (requester_id, service_request_id);
"""


def keys_create(apps, schema_editor):
    """The new functions, the keys of every existing document (in id ranges, before any index on them exists, so
    each batch is a plain rewrite of the rows), then the indexes."""
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(REFRESH + ON_UPDATE)
        cursor.execute(f"SELECT coalesce(max(service_request_id), 0) FROM {DOCS}")  # noqa: S608 — constant name
        (last,) = cursor.fetchone()
        for start in range(0, last + 1, BACKFILL_BATCH):
            cursor.execute(
                f"""UPDATE {DOCS} d SET vendor_id = r.vendor_id, team_id = r.team_id, requester_id = r.requester_id
                      FROM {REQUESTS} r
                     WHERE r.id = d.service_request_id AND d.service_request_id >= %s AND d.service_request_id < %s""",  # noqa: S608
                [start, start + BACKFILL_BATCH],
            )
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")  # the GIN builds: far fewer passes over 1,000,000
        cursor.execute(INDEXES)
        cursor.execute(f"ANALYZE {DOCS}")  # the planner's estimates for the new keys, before the first search


def keys_drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("DROP INDEX IF EXISTS requestsearch_team_newest")
        cursor.execute("DROP INDEX IF EXISTS requestsearch_vendor_newest")
        cursor.execute("DROP INDEX IF EXISTS requestsearch_requester_newest")
        cursor.execute(search_0016.CREATE.split("CREATE OR REPLACE FUNCTION requests_app_search_on_request_insert")[0])
        cursor.execute(ON_UPDATE_0016)


class Migration(migrations.Migration):
    dependencies = [
        ("requests_app", "0023_request_sla_breach_and_at_risk"),
    ]

    operations = [
        migrations.AddField(
            model_name="requestsearchdocument",
            name="vendor_id",
            field=models.BigIntegerField(null=True, editable=False),
        ),
        migrations.AddField(
            model_name="requestsearchdocument",
            name="team_id",
            field=models.BigIntegerField(null=True, editable=False),
        ),
        migrations.AddField(
            model_name="requestsearchdocument",
            name="requester_id",
            field=models.BigIntegerField(null=True, editable=False),
        ),
        migrations.RunPython(keys_create, keys_drop, elidable=False),
    ]
