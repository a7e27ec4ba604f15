"""The audit trail is append-only in the database too: on PostgreSQL a trigger refuses UPDATE and DELETE of any
RequestEvent row, whatever code path (raw SQL, a shell, a bug) tries it. TRUNCATE still works, for test
teardown and the demo reset; it needs the table owner's rights and is no row-level change."""

from django.db import migrations

FUNCTION = "requests_app_requestevent_append_only"
TRIGGER = "requestevent_append_only"
TABLE = "requests_app_requestevent"

CREATE = f"""
CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: % on {TABLE} is not allowed', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$;
CREATE TRIGGER {TRIGGER} BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION {FUNCTION}();
"""

DROP = f"""
DROP TRIGGER IF EXISTS {TRIGGER} ON {TABLE};
DROP FUNCTION IF EXISTS {FUNCTION}();
"""


def _on_postgresql(sql):
    def run(apps, schema_editor):
        # SQLite (the embedded default) keeps the ORM's guard only; its demo reset deletes rows directly.
        if schema_editor.connection.vendor == "postgresql":
            with schema_editor.connection.cursor() as cursor:
                cursor.execute(sql)  # no parameters: the "%" in RAISE is PL/pgSQL's, not a placeholder

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("requests_app", "0006_provisioning_events"),
    ]

    operations = [
        migrations.RunPython(_on_postgresql(CREATE), _on_postgresql(DROP), elidable=False),
    ]
