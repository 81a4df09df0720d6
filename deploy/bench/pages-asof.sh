#!/usr/bin/env bash
# The pages' asOf reads on a site with a long history, side by side: the service at a git ref against the working tree.
# A site's pages have a row a day, a month and a year each (and all time); an asOf read of a long period sums some of
# them, so what it costs depends on how many it reads, not on how many views made them.
#
#   bash deploy/bench/pages-asof.sh <git-ref>
#   PAGES=10000 FROM=2024-01-01 bash deploy/bench/pages-asof.sh 59d932b
#
# Writes bench-1's page counts straight into the counts table (PAGES pages, default 3,000, a row each day from FROM,
# default 2025-01-01, to 2026-12-06, with their months, years and all time: 2.2 M rows by default; no event store behind
# them, so only the reads are measured), then starts each side in turn (old, new, new, old) and reads, with 4
# connections for 8 s each: pages/top of all time, a year, a month and a week, pages/views of one page, and counters,
# all as of 2026-12-06 12:00 (+07:00); then counters again, beside 8 connections reading the all-time list. Checks that
# both sides answered the same.
set -euo pipefail
REF=${1:?usage: pages-asof.sh <git-ref>}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
PAGES=${PAGES:-3000}
FROM=${FROM:-2025-01-01}
PORT=${PGPORT_BENCH:-55530}
HTTP=${HTTP_PORT_BENCH:-5330}
WORK=$(mktemp -d /tmp/cchc-pages-asof-XXXX)
URL="http://127.0.0.1:$HTTP"
KEY=bench-admin
source deploy/bench/lib.sh

start_side_by_side "$REF"
psql -q -d postgres -c "CREATE DATABASE cchc_stats"
SERVICE_DLL=${DLL[old]} start_service
register_bench_sites
stop_service
psql -q -d cchc_stats <<SQL
INSERT INTO cchc_counts (scope, dimension, key, period, period_key, page_views, visits, visitors, baseline_page_views, baseline_visits, first_visitors)
SELECT 'bench-1', 'page', '/p/' || p, 'day', to_char(d, 'YYYY-MM-DD'), 1 + (p * 7 + extract(doy FROM d)::int) % 5, 0, 0, 0, 0, 0
FROM generate_series(1, $PAGES) p, generate_series('$FROM'::date, '2026-12-06'::date, '1 day') d;
INSERT INTO cchc_counts SELECT scope, dimension, key, 'month', left(period_key, 7), sum(page_views), 0, 0, 0, 0, 0
FROM cchc_counts WHERE scope = 'bench-1' AND period = 'day' GROUP BY 1, 2, 3, 5;
INSERT INTO cchc_counts SELECT scope, dimension, key, 'year', left(period_key, 4), sum(page_views), 0, 0, 0, 0, 0
FROM cchc_counts WHERE scope = 'bench-1' AND period = 'month' GROUP BY 1, 2, 3, 5;
INSERT INTO cchc_counts SELECT scope, dimension, key, 'total', 'all', sum(page_views), 0, 0, 0, 0, 0
FROM cchc_counts WHERE scope = 'bench-1' AND period = 'year' GROUP BY 1, 2, 3;
VACUUM ANALYZE cchc_counts;
SQL
echo "== $PAGES pages of bench-1 from $FROM: $(psql -At -d cchc_stats -c "SELECT count(*) FROM cchc_counts WHERE scope = 'bench-1'") rows"

AT=2026-12-06T12%3A00%3A00%2B07%3A00
declare -A READS=(
  [top-total]="pages/top?period=total&limit=10&asOf=$AT" [top-year]="pages/top?period=year&limit=10&asOf=$AT"
  [top-month]="pages/top?period=month&limit=10&asOf=$AT" [top-week]="pages/top?period=week&limit=10&asOf=$AT"
  [page-views]="pages/views?url=https%3A%2F%2Fbench.test%2Fp%2F17&asOf=$AT" [counters]="counters?asOf=$AT")
ORDER=(top-total top-year top-month top-week page-views counters)
declare -A RATE
echo "== $OLD_SHA (old) against the working tree (new): reads/s, p50, p99 (4 connections, 8 s)"
for run in 1 2; do
  for side in $(turns "$run"); do
    SERVICE_DLL=${DLL[$side]} start_service
    for read in "${ORDER[@]}"; do
      curl -sf -o "$WORK/$side-$read.json" "$URL/api/v1/sites/bench-1/${READS[$read]}"
      out=$(wrk_ok "$(wrk -t1 -c4 -d8s --latency "$URL/api/v1/sites/bench-1/${READS[$read]}")")
      printf '   run %d, %s: %-10s %6s reads/s, p50 %9s, p99 %9s\n' "$run" "$side" "$read" "$(wrk_rate "$out")" "$(wrk_percentile "$out" 50%)" "$(wrk_percentile "$out" 99%)"
      RATE[$side-$read]=$(( ${RATE[$side-$read]:-0} + $(wrk_rate "$out") ))
    done
    # The site's asOf while 8 connections read the all-time list: wide reads must leave it a turn.
    wrk -t1 -c8 -d10s "$URL/api/v1/sites/bench-1/${READS[top-total]}" >"$WORK/lists.txt" &
    lists=$!
    sleep 1
    out=$(wrk_ok "$(wrk -t1 -c4 -d8s --latency "$URL/api/v1/sites/bench-1/${READS[counters]}")")
    wait "$lists"
    printf '   run %d, %s: counters beside 8 readers of the all-time list: %s reads/s, p50 %s, p99 %s (the list: %s reads/s)\n' "$run" "$side" \
      "$(wrk_rate "$out")" "$(wrk_percentile "$out" 50%)" "$(wrk_percentile "$out" 99%)" "$(wrk_rate "$(cat "$WORK/lists.txt")")"
    stop_service
  done
done
echo "== reads/s, new/old (both runs summed); answers"
for read in "${ORDER[@]}"; do
  same=$(cmp -s "$WORK/old-$read.json" "$WORK/new-$read.json" && echo "the same answer" || echo "DIFFERENT answers")
  printf '   %-10s %6s → %6s = %sx; %s\n' "$read" "${RATE[old-$read]}" "${RATE[new-$read]}" "$(echo "scale=2; ${RATE[new-$read]} / (${RATE[old-$read]} + (${RATE[old-$read]} == 0))" | bc)" "$same"
done
