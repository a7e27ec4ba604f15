#!/usr/bin/env bash
# docker compose: the postgres image runs this once, on an empty data volume, as its superuser (POSTGRES_USER).
# It creates Portico's owner and application roles and the database with deploy/postgres/roles.sql (mounted at
# /portico-postgres). On a volume made before this script existed, run the same file by hand once, e.g.
#   docker compose exec postgres psql -U portico -d postgres -v database=portico -v owner=portico \
#     -v owner_password= -v app=portico_app -v app_password=… -f /portico-postgres/roles.sql
set -euo pipefail
psql --username "$POSTGRES_USER" --dbname postgres \
  -v database="${PORTICO_DB_NAME:-portico}" \
  -v owner="${PORTICO_DB_OWNER:-portico}" -v owner_password="${PORTICO_DB_OWNER_PASSWORD:?}" \
  -v app="${PORTICO_DB_APP:-portico_app}" -v app_password="${PORTICO_DB_APP_PASSWORD:?}" \
  -f /portico-postgres/roles.sql
