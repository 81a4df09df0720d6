#!/usr/bin/env bash
# Ingestion end to end, side by side: the service at a git ref against the working tree, each taking a full load with
# its projection running, in turn (old, new, new, old, …), each run on a fresh database. Prints, for every run, the views
# a second end to end, the CPU a view of the service and of PostgreSQL, and the bytes the service allocated a view; then
# the means and the ratios new/old. Allocation a view moves far less between minutes than views a second do (a run's
# figure within a few per cent of its build's others, where views a second swing by a third here), so it shows a change
# in the service's own work that a handful of runs' throughput cannot.
#
#   bash deploy/bench/ingest.sh <git-ref>
#   RUNS=5 PAGES=1 bash deploy/bench/ingest.sh 7b4c352     # every view to one page a site
#
# Each run: the side's build started on an empty database, an 8 s warm-up, then 20 s of 256 connections and 20,000
# visitors (PAGES pages a site, default 5,000). Allocation is the runtime's own count (dotnet-counters, installed as a
# .NET tool when missing) over the 20 s and the moment before it.
set -euo pipefail
REF=${1:?usage: ingest.sh <git-ref>}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
RUNS=${RUNS:-5}
PORT=${PGPORT_BENCH:-55530}
HTTP=${HTTP_PORT_BENCH:-5330}
WORK=$(mktemp -d /tmp/cchc-ingest-XXXX)
URL="http://127.0.0.1:$HTTP"
KEY=bench-admin
source deploy/bench/lib.sh

COUNTERS=$(command -v dotnet-counters || echo "$HOME/.dotnet/tools/dotnet-counters")
[[ -x $COUNTERS ]] || dotnet tool install -g dotnet-counters >/dev/null
build_old_and_new "$REF"
start_postgres
SERVICE_PID=; COUNTERS_PID=
trap '[[ -n $COUNTERS_PID ]] && kill "$COUNTERS_PID" 2>/dev/null; [[ -n $SERVICE_PID ]] && kill "$SERVICE_PID" 2>/dev/null; stop_postgres' EXIT

declare -A RATE=([old]=0 [new]=0) CPU=([old]=0 [new]=0) PGCPU=([old]=0 [new]=0) ALLOC=([old]=0 [new]=0)
echo "== ingestion, $OLD_SHA (old) against the working tree (new): 20 s full loads, ${PAGES:-5000} pages a site, $RUNS runs a side"
for run in $(seq 1 "$RUNS"); do
  for side in $(turns "$run"); do
    psql -q -d postgres -c "DROP DATABASE IF EXISTS cchc_ingest" -c "CREATE DATABASE cchc_ingest"
    BENCH_DB=cchc_ingest SERVICE_DLL=${DLL[$side]} start_service
    load --site warm --seconds 8 --connections 256 --wrk >/dev/null || true
    "$COUNTERS" collect -p "$SERVICE_PID" --counters System.Runtime --format csv -o "$WORK/counters.csv" --refresh-interval 1 >/dev/null 2>&1 &
    COUNTERS_PID=$!
    sleep 1.5
    service0=$(cpu_ticks "$SERVICE_PID"); pg0=$(cpu_ticks $(pgrep -u postgres postgres))
    out=$(load --site full --seconds 20 --connections 256 --visitors 20000 --wrk)
    service1=$(cpu_ticks "$SERVICE_PID"); pg1=$(cpu_ticks $(pgrep -u postgres postgres))
    # TERM, not INT: a background job of a script ignores SIGINT. The file is written as it goes.
    kill "$COUNTERS_PID"; wait "$COUNTERS_PID" 2>/dev/null || true; COUNTERS_PID=
    views=$(grep "end to end" <<<"$out" | sed -E 's/.* ([0-9,]+) views in.*/\1/' | tr -d ',')
    rate=$(load_figures "$out" | cut -d' ' -f1)
    # The runtime's allocation rate, a second at a time: their sum is what the service allocated over the load.
    allocated=$(awk -F, '$3 ~ /total_allocated/ { s += $5 } END { printf "%.0f", s }' "$WORK/counters.csv")
    rm -f "$WORK/counters.csv"
    service=$(( (service1 - service0) * 10000 / views )) pg=$(( (pg1 - pg0) * 10000 / views )) bytes=$(( allocated / views )) # ticks are 10 ms
    echo "   run $run, $side: $rate views/s; CPU a view: service $service µs, PostgreSQL $pg µs; the service allocated $bytes B a view"
    RATE[$side]=$(( RATE[$side] + rate )); CPU[$side]=$(( CPU[$side] + service )); PGCPU[$side]=$(( PGCPU[$side] + pg )); ALLOC[$side]=$(( ALLOC[$side] + bytes ))
    stop_service
  done
done
ratio() { echo "scale=3; ${1} / ${2}" | bc; }
echo "== means: views/s old $(( RATE[old] / RUNS )), new $(( RATE[new] / RUNS )) (new/old $(ratio "${RATE[new]}" "${RATE[old]}"))"
echo "   service CPU a view: old $(( CPU[old] / RUNS )) µs, new $(( CPU[new] / RUNS )) µs ($(ratio "${CPU[new]}" "${CPU[old]}")); PostgreSQL's: old $(( PGCPU[old] / RUNS )) µs, new $(( PGCPU[new] / RUNS )) µs ($(ratio "${PGCPU[new]}" "${PGCPU[old]}"))"
echo "   allocated a view: old $(( ALLOC[old] / RUNS )) B, new $(( ALLOC[new] / RUNS )) B ($(ratio "${ALLOC[new]}" "${ALLOC[old]}"))"
