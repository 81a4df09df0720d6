# Shared by the benchmark scripts (sourced): a PostgreSQL of their own from the machine's binaries, stopped on
# exit, and wrk. Expects PORT (PostgreSQL) and WORK (a scratch folder); sets PG, BIN, PGHOST/PGPORT/PGUSER.
PG="$WORK/pg"
export PGHOST=127.0.0.1 PGPORT=$PORT PGUSER=postgres

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
BIN=$(dirname "$(readlink -f "$(command -v pg_ctl || ls /usr/lib/postgresql/*/bin/pg_ctl | tail -1)")")
as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

start_postgres() {
  echo "== PostgreSQL in $PG, port $PORT"
  mkdir -p "$PG" && [[ $(id -u) == 0 ]] && chown -R postgres:postgres "$WORK"
  as_pg "$BIN/initdb" -D "$PG" -U postgres --auth=trust -E UTF8 --no-locale >/dev/null
  as_pg "$BIN/pg_ctl" -D "$PG" -l "$PG/server.log" -w -o "-p $PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$PG -c max_connections=300 -c shared_buffers=1GB -c max_wal_size=4GB -c shared_preload_libraries=pg_stat_statements" start >/dev/null
}

stop_postgres() { as_pg "$BIN/pg_ctl" -D "$PG" -m fast stop >/dev/null 2>&1 || true; }
