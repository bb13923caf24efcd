#!/bin/sh
# The official image's first start, in short: an empty PGDATA gets a cluster, the user's password
# and database; then the server replaces this shell (PID 1 gets SIGTERM).
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}"
  user="${POSTGRES_USER:-postgres}"
  pwfile="$(mktemp)"
  printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
  initdb --username="$user" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 -D "$PGDATA" >/dev/null
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  db="${POSTGRES_DB:-$user}"
  # A private server on the socket only, for the database and the init scripts, as the official image does.
  postgres -D "$PGDATA" -c listen_addresses='' &
  pid=$!
  until pg_isready -q -h /var/run/postgresql; do sleep 0.2; done
  [ "$db" = postgres ] || createdb -h /var/run/postgresql -U "$user" "$db"
  export PGHOST=/var/run/postgresql POSTGRES_USER="$user" POSTGRES_DB="$db"
  for f in /docker-entrypoint-initdb.d/*.sh; do [ -f "$f" ] && sh "$f"; done
  kill "$pid"; wait "$pid" || true
fi
if [ "$1" = postgres ]; then shift; exec postgres -D "$PGDATA" -c listen_addresses='*' "$@"; fi
exec "$@"
