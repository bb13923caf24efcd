#!/bin/sh
# Run once by the postgres image on an empty data volume: a database and user of its own for Open WebUI.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
CREATE USER openwebui WITH PASSWORD '${OPENWEBUI_DB_PASSWORD}';
CREATE DATABASE openwebui OWNER openwebui;
SQL
