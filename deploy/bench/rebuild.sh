#!/usr/bin/env bash
# The rebuild alone, for profiling it: a store of VIEWS page views (default 1 million) written straight into the
# event table, every counter rebuilt from it by the service (Release), then events/s and where the time went: the
# CPU seconds of the service and of PostgreSQL, and PostgreSQL's statements by total time.
#
#   bash deploy/bench/rebuild.sh
#   VIEWS=10000000 bash deploy/bench/rebuild.sh
#   FIRST=200000 bash deploy/bench/rebuild.sh  # grow and rebuild twice, as run.sh does (the second batch of
#                                          # views overlaps the first in time: the replay meets old days again)
#   TRACE=1 bash deploy/bench/rebuild.sh   # also samples the service's stacks for 30 s (dotnet-trace, a NuGet
#                                          # tool installed when missing) and prints its 25 busiest methods
set -euo pipefail
cd "$(dirname "$0")/../.."

VIEWS=${VIEWS:-1000000}
PORT=${PGPORT_BENCH:-55510}
HTTP=${HTTP_PORT_BENCH:-5310}
WORK=$(mktemp -d /tmp/cchc-rebuild-XXXX)
URL="http://127.0.0.1:$HTTP"
KEY=bench-admin
source deploy/bench/lib.sh

prepare_bench
start_service # creates the schema

trace() {
  export PATH="$PATH:$HOME/.dotnet/tools"
  command -v dotnet-trace >/dev/null || dotnet tool install -g dotnet-trace >/dev/null
  dotnet-trace collect -p "$SERVICE_PID" --profile dotnet-sampled-thread-time --duration 00:00:00:30 \
    -o "$WORK/rebuild.nettrace" >/dev/null 2>&1 &
  TRACE_PID=$!
}
[[ ${TRACE:-0} == 1 ]] && ON_REBUILD=trace

echo "== a store of $VIEWS views, every counter rebuilt from it"
if [[ ${FIRST:-0} -gt 0 ]]; then grow_and_rebuild "$FIRST"; grow_and_rebuild $((VIEWS - FIRST)); else grow_and_rebuild "$VIEWS"; fi
echo "   $REBUILD_EVENTS events in $REBUILD_SECONDS s = $REBUILD_RATE events/s"
echo "   CPU: service $REBUILD_CPU_SERVICE s, PostgreSQL $REBUILD_CPU_PG s; service peak memory $(peak_rss_mb) MB"
echo "   $REBUILD_WAL"
sleep 2 # the daemon, resumed, settles
COUNTED=$(psql -At -d cchc_stats -c "SELECT sum(page_views) FROM cchc_counts WHERE dimension = 'site' AND period = 'total'")
STORED=$(psql -At -d cchc_stats -c "SELECT count(*) FROM mt_events WHERE type = 'page_viewed'")
echo "   all-time page views counted $COUNTED, stored $STORED"
[[ $COUNTED == "$STORED" ]] || { echo "   the counters do not match the store"; grep -E "fail|rror" "$WORK/service.log" | head; exit 1; }
echo "   PostgreSQL's statements by total time:"
echo "$REBUILD_PROFILE"
if [[ ${TRACE:-0} == 1 ]]; then
  wait "$TRACE_PID"
  echo "== the service's busiest methods (exclusive samples, every thread; waits included)"
  "$HOME/.dotnet/tools/dotnet-trace" report "$WORK/rebuild.nettrace" topN -n 25
fi
