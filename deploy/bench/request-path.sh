#!/usr/bin/env bash
# The request path's CPU a view, side by side: the service at a git ref against the working tree, each taking views
# with no projection running (Stats__RunProjections=false), paced below saturation, in turn (old, new, new, old, …).
# Prints the service's CPU a view of each run and the ratio of the means. Paced, the measure is steadier than a full
# load's views a second (which swing by a third between minutes here): what to bisect the ingestion path with.
#
#   bash deploy/bench/request-path.sh <git-ref>
#   RATE=2500 RUNS=4 PAGES=1 bash deploy/bench/request-path.sh 7b4c352
#
# Each run: a fresh start of the side's build on a database of its own, an 8 s warm-up, then RATE views/s (default
# 2,500) for 20 s over 64 connections, 20,000 visitors. The CPU is the service's over those 20 s, background services
# included, divided by the views acknowledged.
set -euo pipefail
REF=${1:?usage: request-path.sh <git-ref>}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
RATE=${RATE:-2500}
RUNS=${RUNS:-4}
PORT=${PGPORT_BENCH:-55530}
HTTP=${HTTP_PORT_BENCH:-5330}
WORK=$(mktemp -d /tmp/cchc-request-path-XXXX)
URL="http://127.0.0.1:$HTTP"
KEY=bench-admin
source deploy/bench/lib.sh

start_side_by_side "$REF"
# One database a build: the two keep different tables for the same events.
psql -q -d postgres -c "CREATE DATABASE cchc_old" -c "CREATE DATABASE cchc_new"

declare -A SUM=([old]=0 [new]=0)
echo "== the request path, $OLD_SHA (old) against the working tree (new): $RATE views/s for 20 s, no projection"
for run in $(seq 1 "$RUNS"); do
  for side in $(turns "$run"); do
    BENCH_DB=cchc_$side Stats__RunProjections=false SERVICE_DLL=${DLL[$side]} start_service
    load --site "warm-$side-$run" --seconds 8 --connections 64 --rate "$RATE" --wrk --ingest-only >/dev/null || true
    before=$(cpu_ticks "$SERVICE_PID")
    out=$(load --site "paced-$side-$run" --seconds 20 --connections 64 --rate "$RATE" --visitors 20000 --wrk --ingest-only)
    views=$(awk '/acknowledged/ { gsub(",", "", $3); print $3 }' <<<"$out")
    micros=$(( ($(cpu_ticks "$SERVICE_PID") - before) * 10000 / views )) # ticks are 10 ms
    SUM[$side]=$(( SUM[$side] + micros ))
    echo "   run $run, $side: $views views, the service's CPU $micros µs a view"
    stop_service
  done
done
echo "== mean: old $(( SUM[old] / RUNS )) µs, new $(( SUM[new] / RUNS )) µs a view; new/old $(echo "scale=3; ${SUM[new]} / ${SUM[old]}" | bc)"
