#!/usr/bin/env bash
# Where a full load's time goes: a store of VIEWS page views (default 200,000) rebuilt, a warm-up, then two 20 s full
# loads (256 connections, 20,000 visitors); prints each load's figures, the CPU seconds of the service and of
# PostgreSQL over both, PostgreSQL's statements by total time and the service's tables' inserts and updates (HOT: in
# place).
#
#   bash deploy/bench/load-profile.sh
#   PAGES=1 bash deploy/bench/load-profile.sh              # every view to one page a site (the store and the load)
#   EXPLAIN=1 bash deploy/bench/load-profile.sh            # also every statement over 150 ms with its plan (auto_explain)
#   SERVICE_DLL=/tmp/old/CCHC.Stats.Api.dll bash deploy/bench/load-profile.sh   # another build of the service
set -euo pipefail
cd "$(dirname "$0")/../.."

VIEWS=${VIEWS:-200000}
PORT=${PGPORT_BENCH:-55530}
HTTP=${HTTP_PORT_BENCH:-5330}
WORK=$(mktemp -d /tmp/cchc-load-profile-XXXX)
URL="http://127.0.0.1:$HTTP"
KEY=bench-admin
source deploy/bench/lib.sh

prepare_bench
if [[ ${EXPLAIN:-0} == 1 ]]; then
  psql -q -d postgres -c "LOAD 'auto_explain'" -c "ALTER SYSTEM SET session_preload_libraries = 'auto_explain'" \
    -c "ALTER SYSTEM SET auto_explain.log_min_duration = '150ms'" -c "ALTER SYSTEM SET auto_explain.log_analyze = on" \
    -c "SELECT pg_reload_conf()" >/dev/null
fi
start_service
echo "== a store of $VIEWS views, every counter rebuilt from it"
grow_and_rebuild "$VIEWS"
load --site warmup --seconds 10 --connections 256 --wrk >/dev/null || true
psql -q -d cchc_stats -c "ANALYZE" -c "SELECT pg_stat_statements_reset()" >/dev/null
[[ ${EXPLAIN:-0} == 1 ]] && : >"$PG/server.log"
service_cpu=$(cpu_seconds "$SERVICE_PID"); pg_cpu=$(cpu_seconds $(pgrep -u postgres postgres))
for round in 1 2; do
  echo "== full load $round"
  load --site "full-$round" --seconds 20 --connections 256 --visitors 20000 --wrk | grep -E "end to end|202 latency|visible lag"
done
echo "== CPU over both loads: service $(( $(cpu_seconds "$SERVICE_PID") - service_cpu )) s, PostgreSQL $(( $(cpu_seconds $(pgrep -u postgres postgres)) - pg_cpu )) s"
echo "== PostgreSQL's statements by total time (calls | total | mean | rows | statement)"
psql -At -F ' | ' -d cchc_stats -c "SELECT calls, round((total_exec_time / 1000)::numeric, 1)::text || ' s', round(mean_exec_time::numeric, 2)::text || ' ms', rows,
  left(regexp_replace(query, '\s+', ' ', 'g'), 100) FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 12"
echo "== the service's tables (inserts | updates | of them in place)"
psql -At -F ' | ' -d cchc_stats -c "SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname LIKE 'cchc%' ORDER BY n_tup_ins + n_tup_upd DESC"
if [[ ${EXPLAIN:-0} == 1 ]]; then
  echo "== statements over 150 ms during the loads, by their first 100 characters"
  grep "Query Text" "$PG/server.log" | cut -c1-120 | sort | uniq -c | sort -rn | head
  echo "   (plans in $PG/server.log; KEEP_PG=1 keeps it)"
fi
