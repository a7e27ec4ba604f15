"""`manage.py db_roles --app-role NAME`: give the application's role exactly the rights it needs, as the owner.

Run it as the role that runs migrations and owns the tables (the migrate job's DATABASE_URL), before `migrate`,
at every release. Afterwards the application's role can read and write rows of every table, those that exist and
(through default privileges) those later migrations create, and nothing else: it cannot ALTER, TRUNCATE or DROP
a table, create one, or disable a trigger, since all of those need the owner. So the audit trail's append-only
trigger (requests_app 0007) holds against the application itself. The roles and the database are created once by
an administrator with deploy/postgres/roles.sql.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections, transaction
from psycopg import sql

ROW_RIGHTS = sql.SQL("SELECT, INSERT, UPDATE, DELETE")
# nextval() for id columns; never UPDATE (setval), which would let the application rewind an id sequence.
SEQUENCE_RIGHTS = sql.SQL("USAGE, SELECT")


class Command(BaseCommand):
    help = (
        "As the owner of the tables (the migrations' role), grant the application's role row access to every "
        "table, now and in future migrations, and nothing more. Safe to run again; run it before `migrate`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--app-role", default="portico_app", help="The application's role (default portico_app).")
        parser.add_argument("--schema", default="public", help="The schema the tables live in (default public).")
        parser.add_argument("--database", default="default", help="Which DATABASES entry (default: default).")

    def handle(self, *args: object, **options: object) -> None:
        connection = connections[str(options["database"])]
        if connection.vendor != "postgresql":
            self.stdout.write(f"Nothing to do: {connection.vendor} has no roles (only PostgreSQL deployments do).")
            return
        app_role, schema = str(options["app_role"]), str(options["schema"])
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            owner, database = _refuse_unsafe(cursor, app_role=app_role, schema=schema)
            names: dict[str, sql.Composable] = {"app": sql.Identifier(app_role), "schema": sql.Identifier(schema)}
            names |= {"owner": sql.Identifier(owner), "database": sql.Identifier(database)}
            names |= {"rows": ROW_RIGHTS, "sequences": SEQUENCE_RIGHTS}
            for statement in GRANTS:
                cursor.execute(sql.SQL(statement).format(**names))
            _check_result(cursor, app_role=app_role, schema=schema)
        self.stdout.write(
            self.style.SUCCESS(
                f"{app_role} may read and write rows in schema {schema} (tables owned by {owner}, now and after "
                "later migrations); it cannot alter, truncate or drop them, nor create tables or disable triggers."
            )
        )


# Revoke everything first so a right granted by hand before (TRUNCATE, TRIGGER, REFERENCES) does not survive.
GRANTS = [
    "GRANT CONNECT ON DATABASE {database} TO {app}",
    "GRANT USAGE ON SCHEMA {schema} TO {app}",
    "REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {app}",
    "GRANT {rows} ON ALL TABLES IN SCHEMA {schema} TO {app}",
    "REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {app}",
    "GRANT {sequences} ON ALL SEQUENCES IN SCHEMA {schema} TO {app}",
    # Tables and sequences the owner creates later (the next release's migrations) come with the same rights.
    "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema} REVOKE ALL ON TABLES FROM {app}",
    "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema} GRANT {rows} ON TABLES TO {app}",
    "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema} REVOKE ALL ON SEQUENCES FROM {app}",
    "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema} GRANT {sequences} ON SEQUENCES TO {app}",
]


def _refuse_unsafe(cursor, *, app_role: str, schema: str) -> tuple[str, str]:
    """The connected role and database, once it is clear that granting to `app_role` makes a least-privilege split."""
    cursor.execute("SELECT current_user, current_database()")
    owner, database = cursor.fetchone()
    if owner == app_role:
        raise CommandError(
            f"Connected as {app_role} itself: run db_roles as the owner of the tables (the migrate job's "
            "DATABASE_URL), not as the application."
        )
    cursor.execute(
        "SELECT rolsuper, rolbypassrls, pg_has_role(%s, current_user, 'MEMBER') FROM pg_roles WHERE rolname = %s",
        [app_role, app_role],
    )
    row = cursor.fetchone()
    if row is None:
        raise CommandError(f"No role {app_role}: create it first with deploy/postgres/roles.sql (as an administrator).")
    superuser, bypass_rls, member_of_owner = row
    if superuser or bypass_rls:
        raise CommandError(f"{app_role} is a superuser or bypasses row security; it must be an ordinary role.")
    if member_of_owner:
        # A member inherits (or can SET ROLE to) the owner, and with it ALTER, TRUNCATE and DROP.
        raise CommandError(f"{app_role} is a member of {owner}, so it has the owner's rights; revoke that first.")
    cursor.execute(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND pg_get_userbyid(c.relowner) = %s",
        [schema, app_role],
    )
    (owned,) = cursor.fetchone()
    if owned:
        raise CommandError(
            f"{app_role} owns {owned} objects in schema {schema}, and an owner can alter, truncate or drop them. "
            f"As an administrator: REASSIGN OWNED BY {app_role} TO {owner}; then run db_roles again."
        )
    return owner, database


def _check_result(cursor, *, app_role: str, schema: str) -> None:
    """Refuse to finish unless the application's role has row access to every table and no more: a table owned by
    someone else is not ours to grant on, and a right another grantor gave (or CREATE through PUBLIC) survives our
    REVOKE."""
    cursor.execute(
        "SELECT c.relname, pg_get_userbyid(c.relowner) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND NOT ("
        "has_table_privilege(%s, c.oid, 'SELECT') AND has_table_privilege(%s, c.oid, 'INSERT') AND "
        "has_table_privilege(%s, c.oid, 'UPDATE') AND has_table_privilege(%s, c.oid, 'DELETE')"
        ") ORDER BY 1",
        [schema, app_role, app_role, app_role, app_role],
    )
    if missing := cursor.fetchall():
        listed = ", ".join(f"{table} (owner {owner})" for table, owner in missing[:10])
        raise CommandError(
            f"{app_role} cannot read and write {len(missing)} tables: {listed}. Run db_roles as their owner."
        )
    cursor.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND ("
        "has_table_privilege(%s, c.oid, 'TRUNCATE') OR has_table_privilege(%s, c.oid, 'TRIGGER') OR "
        "has_table_privilege(%s, c.oid, 'REFERENCES')) ORDER BY 1",
        [schema, app_role, app_role, app_role],
    )
    if extra := [table for (table,) in cursor.fetchall()]:
        raise CommandError(
            f"{app_role} may still TRUNCATE, add triggers to or reference {len(extra)} tables "
            f"({', '.join(extra[:10])}), granted by another role or through PUBLIC; revoke that as an administrator."
        )
    cursor.execute("SELECT has_schema_privilege(%s, %s, 'CREATE')", [app_role, schema])
    if cursor.fetchone()[0]:
        raise CommandError(
            f"{app_role} may create objects in schema {schema} (through PUBLIC). As an administrator: "
            f"REVOKE CREATE ON SCHEMA {schema} FROM PUBLIC (deploy/postgres/roles.sql does)."
        )
