#!/usr/bin/env bash
# asOf side by side on one large store: the service at a git ref against the working tree, reading the same store in
# turn. compare.sh gives each side a store of its own, which at 10 M views takes an hour; asOf reads the store and
# writes nothing, so here both read one (the two builds must share the store's schema, or OLD_SETUP_SQL make the old
# one's before each of its starts).
#
#   bash deploy/bench/asof-compare.sh <git-ref>
#   VIEWS=10000000 ROUNDS=2 bash deploy/bench/asof-compare.sh 60db5cf
#   SHARED_BUFFERS=8GB bash deploy/bench/asof-compare.sh 60db5cf   # the whole store in memory (pg_prewarm)
#   VIEWS=1000000 ASOF_DAYS=35 bash deploy/bench/asof-compare.sh 60db5cf   # a store spans VIEWS × 3 s: ask within it
#   OLD_SETUP_SQL="CREATE INDEX IF NOT EXISTS …" bash deploy/bench/asof-compare.sh 727d011   # an index the new one drops,
#                                                             # made again before each start of the old (not timed)
#
# The store (VIEWS page views, bulk-views.sql) is rebuilt by the working tree's service. Each round starts each side in
# turn (old-new, new-old, …), warms it 30 s, then reads asOf with 16 readers for 15 s and with 4 for 10 s
# (deploy/bench/asof.lua); prints reads/s, p50 and p99, the CPU seconds the service and PostgreSQL spent in the 16
# readers' 15 s, and PostgreSQL's rows read per asOf statement.
set -euo pipefail
REF=${1:?usage: asof-compare.sh <git-ref>}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
VIEWS=${VIEWS:-10000000}
ROUNDS=${ROUNDS:-2}
PORT=${PGPORT_BENCH:-55530}
HTTP=${HTTP_PORT_BENCH:-5330}
WORK=$(mktemp -d /tmp/cchc-asof-XXXX)
URL="http://127.0.0.1:$HTTP"
KEY=bench-admin
PREWARM=${SHARED_BUFFERS:+1} # shared buffers given: the whole store is read into them before the reads
source deploy/bench/lib.sh

start_side_by_side "$REF"
psql -q -d postgres -c "CREATE DATABASE cchc_stats"

echo "== a store of $VIEWS views, every counter rebuilt from it (the working tree's service)"
SERVICE_DLL=${DLL[new]} start_service
grow_and_rebuild "$VIEWS"
echo "   rebuilt at $REBUILD_RATE events/s"
stop_service
psql -q -d cchc_stats -c "VACUUM (ANALYZE)" -c "CHECKPOINT"

if [[ -n $PREWARM ]]; then
  psql -q -d cchc_stats -c "CREATE EXTENSION IF NOT EXISTS pg_prewarm"
  psql -At -d cchc_stats -c "SELECT sum(pg_prewarm(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i')" >/dev/null
fi
psql -q -d cchc_stats -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"

measure() { # $1 side, $2 round
  local out cpu_service cpu_pg
  if [[ $1 == old && -n ${OLD_SETUP_SQL:-} ]]; then psql -q -d cchc_stats -c "$OLD_SETUP_SQL"; fi
  SERVICE_DLL=${DLL[$1]} start_service
  wrk -t2 -c16 -d30s -s deploy/bench/asof.lua "$URL" >/dev/null
  psql -q -d cchc_stats -c "SELECT pg_stat_statements_reset()" >/dev/null
  cpu_service=$(cpu_seconds "$SERVICE_PID"); cpu_pg=$(cpu_seconds $(pgrep -u postgres postgres))
  out=$(wrk_ok "$(wrk -t2 -c16 -d15s --latency -s deploy/bench/asof.lua "$URL")")
  echo "   round $2, $1: 16 readers $(wrk_rate "$out")/s, p50 $(wrk_percentile "$out" 50%), p90 $(wrk_percentile "$out" 90%), p99 $(wrk_percentile "$out" 99%);" \
    "CPU service $(( $(cpu_seconds "$SERVICE_PID") - cpu_service )) s, PostgreSQL $(( $(cpu_seconds $(pgrep -u postgres postgres)) - cpu_pg )) s"
  psql -At -d cchc_stats -c "SELECT '     ' || calls || ' calls, ' || round(rows::numeric / calls, 1) || ' rows each, mean ' || round(mean_exec_time::numeric, 2) || ' ms: ' || left(regexp_replace(query, '\s+', ' ', 'g'), 70) FROM pg_stat_statements WHERE calls > 100 ORDER BY total_exec_time DESC LIMIT 4"
  out=$(wrk_ok "$(wrk -t2 -c4 -d10s --latency -s deploy/bench/asof.lua "$URL")")
  echo "   round $2, $1: 4 readers $(wrk_rate "$out")/s, p50 $(wrk_percentile "$out" 50%), p99 $(wrk_percentile "$out" 99%)"
  stop_service
}

echo "== asOf, $OLD_SHA (old) against the working tree (new), $SHARED_BUFFERS of shared buffers"
for round in $(seq 1 "$ROUNDS"); do
  for s in $(turns "$round"); do measure "$s" "$round"; done
done
