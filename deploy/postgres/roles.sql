-- Portico's PostgreSQL roles, run once by an administrator (a superuser, or a role with CREATEROLE and CREATEDB):
--
--   psql -v ON_ERROR_STOP=1 -v database=portico -v owner=portico -v owner_password=… \
--        -v app=portico_app -v app_password=… -f deploy/postgres/roles.sql
--
-- owner  runs the migrations and owns the database, its schema and every table (the migrate job's DATABASE_URL);
-- app    is what web, worker and beat connect as (their DATABASE_URL): `manage.py db_roles --app-role <app>`,
--        which the migrate job runs as the owner before `migrate`, gives it row access to every table and nothing
--        else, so it cannot ALTER, TRUNCATE or DROP a table or disable the audit trail's trigger.
--
-- Safe to run again: it creates what is missing and sets the passwords given (an empty one is left alone). On an
-- existing database whose tables belong to the role the application used so far, name that role as the owner.
\set ON_ERROR_STOP on

SELECT format('CREATE ROLE %I LOGIN', :'owner')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'owner') \gexec
SELECT format('ALTER ROLE %I LOGIN PASSWORD %L', :'owner', :'owner_password')
 WHERE :'owner_password' <> '' \gexec

-- The application's role: an ordinary login, never a member of the owner (it would inherit the owner's rights).
SELECT format('CREATE ROLE %I LOGIN', :'app')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app') \gexec
SELECT format('ALTER ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS', :'app') \gexec
SELECT format('ALTER ROLE %I PASSWORD %L', :'app', :'app_password')
 WHERE :'app_password' <> '' \gexec
SELECT format('REVOKE %I FROM %I', :'owner', :'app')
 WHERE pg_has_role(:'app', :'owner', 'MEMBER') \gexec

SELECT format('CREATE DATABASE %I OWNER %I', :'database', :'owner')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'database') \gexec
SELECT format('ALTER DATABASE %I OWNER TO %I', :'database', :'owner') \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'database') \gexec
SELECT format('GRANT CONNECT ON DATABASE %I TO %I', :'database', :'app') \gexec
-- Joins in the order Django writes them (docs/adr/0004-fixed-join-order.md), set on the role because a connection
-- pooler in transaction mode does not pass the `options` startup parameter the settings use without one.
SELECT format('ALTER ROLE %I IN DATABASE %I SET join_collapse_limit = 1', :'app', :'database') \gexec

\connect :"database"
-- The owner owns the schema (before PostgreSQL 15 `public` belongs to the bootstrap superuser) and nobody else may
-- create in it (before 15 PUBLIC may).
SELECT format('ALTER SCHEMA public OWNER TO %I', :'owner') \gexec
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SELECT format('GRANT USAGE ON SCHEMA public TO %I', :'app') \gexec
