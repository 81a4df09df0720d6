#!/usr/bin/env bash
# Side by side: the service at a git ref against the working tree, the same loads on both, alternating, in one run.
# This machine's speed swings by 2x between hours, so only figures taken in one run compare.
#
#   bash deploy/bench/compare.sh <git-ref>                 # e.g. HEAD~3, a tag, a commit
#   VIEWS=1000000 ROUNDS=2 bash deploy/bench/compare.sh df0a2cb
#
# Builds the ref (git archive into a scratch folder) and the working tree in Release, starts one PostgreSQL from the
# machine's binaries with a database for each, grows each store to VIEWS views and rebuilds it, then ROUNDS times, in
# alternating order (old-new, new-old, …), runs on each side: ingestion end to end at full load (20,000 visitors),
# the half load paced at half the first full rate (its 202 p99), counter reads (64 connections), stats/series of 31 days
# by hour (16 connections), asOf with 16 readers at once, and a rebuild of the whole store. Prints each side's medians and the ratios new/old.
# ASOF_DAYS=35: asOf moments only from the last 35 days, the span of a 1 M store (deploy/bench/asof.lua).
# PAGES=n: the stored views and the load both spread over n pages a site (default 5,000); PAGES=1 measures the engine
# without the page dimension's spread (one page row a period per page of events, where 5,000 pages make one a view).
# SERIES=0: no stats/series read (it warms, or not, the stored hours the asOf reads that follow it read too).
# GROUPED=1: before each load every bench site, the loaded ones included, is put in one group (a side that has no
# groups answers 404 and counts as it did); the new side's group counters are read as the site's are.
# The working tree's load tool drives both sides: the HTTP contract is what is compared.
set -euo pipefail
REF=${1:?usage: compare.sh <git-ref>}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
VIEWS=${VIEWS:-1000000}
ROUNDS=${ROUNDS:-2}
SECONDS_PER_LOAD=${SECONDS_PER_LOAD:-20}
PORT=${PGPORT_BENCH:-55520}
HTTP=${HTTP_PORT_BENCH:-5320}
WORK=$(mktemp -d /tmp/cchc-compare-XXXX)
URL="http://127.0.0.1:$HTTP"
KEY=bench-admin
source deploy/bench/lib.sh

start_side_by_side "$REF"
PROJECTOR_PID=

side() { export BENCH_DB="cchc_$1" SERVICE_DLL="${DLL[$1]}" BULK_VIEWS="${BULK[$1]}"; }
settle() {
  psql -q -d "$BENCH_DB" -c "VACUUM (ANALYZE)" -c "CHECKPOINT"
  sync
}

for s in old new; do
  echo "== $s: a store of $VIEWS views, every counter rebuilt from it"
  psql -q -d postgres -c "CREATE DATABASE cchc_$s"
  side "$s"
  start_service
  grow_and_rebuild "$VIEWS"
  settle
  stop_service
  # What (g) measures: the event table with its indexes, per stored view; and the heap and the site-day index apart.
  echo "   bytes a view: $(psql -At -d "$BENCH_DB" -c "SELECT round(pg_total_relation_size('mt_events')::numeric / count(*), 1) || ' (events with indexes), ' || round(pg_relation_size('mt_events')::numeric / count(*), 1) || ' (table), ' || round(coalesce((SELECT sum(pg_relation_size(indexrelid)) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = 'mt_events'::regclass AND c.relname LIKE 'ix_mt_events_site_day%'), 0) / count(*), 1) || ' (site-day index)' FROM mt_events")"
done

declare -A R # R[side:measure] = "value value …", one value per round
record() { R[$1:$2]="${R[$1:$2]:-} $3"; }

measure() { # $1 side, $2 round
  local s=$1 round=$2 out views p99
  side "$s"
  start_service
  load --site "warmup-$round" --seconds 10 --connections 256 --wrk >/dev/null || true
  psql -q -d "$BENCH_DB" -c "ANALYZE mt_events"

  [[ ${GROUPED:-0} == 1 ]] && group_every_site "$round"
  out=$(load --site "full-$round" --seconds "$SECONDS_PER_LOAD" --connections 256 --visitors 20000 --wrk)
  read -r views _ p99 _ <<<"$(load_figures "$out")"
  record "$s" ingest "$views"
  HALF_RATE=${HALF_RATE:-$((views / 2))}
  out=$(load --site "half-$round" --seconds "$SECONDS_PER_LOAD" --connections 256 --visitors 20000 --rate "$HALF_RATE" --wrk)
  read -r _ _ p99 _ <<<"$(load_figures "$out")"
  record "$s" half_p99 "$p99"

  wrk -t2 -c64 -d5s "$URL/api/v1/sites/bench-3/counters" >/dev/null
  out=$(wrk_ok "$(wrk -t2 -c64 -d15s --latency "$URL/api/v1/sites/bench-3/counters")")
  record "$s" reads "$(wrk_rate "$out")"
  record "$s" reads_p99 "$(wrk_percentile "$out" 99%)"
  if [[ ${GROUPED:-0} == 1 && $s == new ]]; then
    out=$(wrk_ok "$(wrk -t2 -c64 -d15s --latency "$URL/api/v1/groups/bench/counters")")
    record "$s" group_reads "$(wrk_rate "$out")"
    record "$s" group_reads_p99 "$(wrk_percentile "$out" 99%)"
  fi
  if [[ ${SERIES:-1} == 1 ]]; then
    out=$(wrk_ok "$(wrk -t2 -c16 -d15s --latency -s deploy/bench/series.lua "$URL")")
    record "$s" series "$(wrk_rate "$out")"
    record "$s" series_p99 "$(wrk_percentile "$out" 99%)"
  fi
  out=$(wrk_ok "$(wrk -t2 -c16 -d15s --latency -s deploy/bench/asof.lua "$URL")")
  record "$s" asof16 "$(wrk_rate "$out")"
  record "$s" asof16_p99 "$(wrk_percentile "$out" 99%)"

  rebuild_all
  record "$s" rebuild "$REBUILD_RATE"
  stop_service
  echo "   $s, round $round: ingest ${views}/s, half-load 202 p99 $p99 ms, rebuild $REBUILD_RATE events/s"
}

# One group of every bench site and the sites the round loads (registered first, as the load tool registers them).
group_every_site() { # $1 round
  local sites=() n
  for n in $(seq 0 19); do sites+=("\"bench-$n\""); done
  for n in "full-$1" "half-$1"; do
    curl -s -o /dev/null -X PUT "$URL/api/v1/sites/$n" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
      -d '{"name":"Load test","allowedHosts":["load.test"],"onlineWindowMinutes":5}'
    sites+=("\"$n\"")
  done
  curl -s -o /dev/null -X PUT "$URL/api/v1/groups/bench" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    -d "{\"name\":\"Bench\",\"sites\":[$(IFS=,; echo "${sites[*]}")]}"
}

for round in $(seq 1 "$ROUNDS"); do
  for s in $(turns "$round"); do
    echo "== round $round of $ROUNDS: $s"
    measure "$s" "$round"
  done
done

# Latencies as wrk prints them (1.23ms, 456.00us, 1.02s) in ms; the load tool's already are.
ms() { awk '{ v = $1; if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 } printf "%.2f", v }' <<<"$1"; }
mid() { local values=() v; for v in ${R[$1:$2]}; do values+=("$(ms "$v")"); done; median "${values[@]}"; }

echo
echo "== $OLD_SHA (old) against the working tree (new): medians of $ROUNDS rounds, $VIEWS views in each store"
printf '| %-38s | %12s | %12s | %9s | %s\n' measure old new new/old "each round (old; new)"
row() { # $1 key, $2 label, $3 better when (higher|lower)
  local o n
  o=$(mid old "$1"); n=$(mid new "$1")
  printf '| %-38s | %12s | %12s | %9s | %s\n' "$2" "$o" "$n" "$(echo "scale=3; $n / $o" | bc) ($3 is better)" "${R[old:$1]# } ; ${R[new:$1]# }"
}
row ingest "ingestion end to end, views/s" higher
row half_p99 "half-load ($HALF_RATE/s) 202 p99, ms" lower
row reads "counter reads/s (64 connections)" higher
row reads_p99 "counter reads p99, ms" lower
row asof16 "asOf reads/s (16 at once)" higher
row asof16_p99 "asOf p99, ms (16 at once)" lower
if [[ ${SERIES:-1} == 1 ]]; then
  row series "stats/series reads/s (31 days by hour, 16 conn.)" higher
  row series_p99 "stats/series p99, ms" lower
fi
row rebuild "rebuild, events/s" higher
if [[ ${GROUPED:-0} == 1 ]]; then
  echo "group counter reads/s (64 connections), new: $(mid new group_reads) (each round: ${R[new:group_reads]# }), p99 $(mid new group_reads_p99) ms"
fi
