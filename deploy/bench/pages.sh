#!/usr/bin/env bash
# The pages' reads on a store whose sites have many articles: one page's views ("Lượt xem") and the most-read list.
#
#   bash deploy/bench/pages.sh                         # 6 million views over 100,000 pages on each of 20 sites
#   VIEWS=2000000 PAGES=20000 bash deploy/bench/pages.sh
#   TOP_WARMUP=40s bash deploy/bench/pages.sh            # the lists read for 40 s before they are measured
#
# Starts its own PostgreSQL and the working tree's service in Release, grows the store (bulk-views.sql: each site's
# views spread over PAGES pages), rebuilds every counter from it, then reads: pages/views with 64 connections, the
# pages drawn uniformly (nearly every read a page not read in the last second: the database's primary-key read) and
# skewed as readers read; pages/top with 16 connections over random sites, periods and lengths (mostly the index's
# read); stats/series of 31 days by hour; and PostgreSQL's own time for the top-100 of a year. Prints a table for docs/BENCHMARKS.md.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
VIEWS=${VIEWS:-6000000}
export PAGES=${PAGES:-100000}
PORT=${PGPORT_BENCH:-55530}
HTTP=${HTTP_PORT_BENCH:-5330}
WORK=$(mktemp -d /tmp/cchc-pages-XXXX)
URL="http://127.0.0.1:$HTTP"
KEY=bench-admin
source deploy/bench/lib.sh

prepare_bench
start_service
echo "== a store of $VIEWS views, $PAGES pages on each of 20 sites, every counter rebuilt from it"
grow_and_rebuild "$VIEWS"
echo "   rebuild: $REBUILD_RATE events/s"
psql -q -d cchc_stats -c "VACUUM (ANALYZE)" -c "CHECKPOINT"
COUNTED=$(psql -At -d cchc_stats -c "SELECT count(*) FROM cchc_counts WHERE scope = 'bench-3' AND dimension = 'page' AND period = 'total'")
echo "   bench-3 has $COUNTED pages counted"

row() { printf '| %-58s | %10s | %8s | %8s |\n' "$1" "$(wrk_rate "$2")" "$(wrk_percentile "$2" 50%)" "$(wrk_percentile "$2" 99%)"; }
wrk -t2 -c64 -d5s -s deploy/bench/page-views.lua "$URL" -- "$PAGES" >/dev/null
psql -q -d cchc_stats -c "SELECT pg_stat_statements_reset()" >/dev/null
UNIFORM=$(wrk_ok "$(wrk -t2 -c64 -d15s --latency -s deploy/bench/page-views.lua "$URL" -- "$PAGES")")
SKEWED=$(wrk_ok "$(wrk -t2 -c64 -d15s --latency -s deploy/bench/page-views.lua "$URL" -- "$PAGES" skew)")
HOT=$(wrk_ok "$(wrk -t2 -c64 -d15s --latency -s deploy/bench/page-views.lua "$URL" -- "$PAGES" hot)")
# Every list read once: its first reader waits for the database. TOP_WARMUP=40s measures lists already read (a long
# list's first read reads every page of its period, 0.6 s at 100,000 pages: 80 lists take longer than the default).
wrk -t2 -c16 -d"${TOP_WARMUP:-5s}" -s deploy/bench/top-pages.lua "$URL" >/dev/null
TOP=$(wrk_ok "$(wrk -t2 -c16 -d15s --latency -s deploy/bench/top-pages.lua "$URL")")
TOP_ASOF=$(wrk_ok "$(wrk -t2 -c4 -d15s --latency -s deploy/bench/top-pages-asof.lua "$URL")")
SERIES=$(wrk_ok "$(wrk -t2 -c16 -d15s --latency -s deploy/bench/series.lua "$URL")")
TOP_SQL=$(psql -At -d cchc_stats -c "EXPLAIN (ANALYZE, FORMAT JSON) SELECT key, page_views + baseline_page_views FROM cchc_counts
  WHERE scope = 'bench-3' AND dimension = 'page' AND period = 'year' AND period_key = to_char(now(), 'YYYY')
  ORDER BY page_views + baseline_page_views DESC, key LIMIT 100" | python3 -c 'import json,sys; print(round(json.load(sys.stdin)[0]["Execution Time"], 3))')

echo
echo "== $(date -u +%F' '%H:%M) UTC: $VIEWS views, $PAGES pages a site ($COUNTED counted on bench-3), rebuild $REBUILD_RATE events/s"
printf '| %-58s | %10s | %8s | %8s |\n' read "reads/s" p50 p99
row "pages/views, 64 connections, pages uniform over $PAGES" "$UNIFORM"
row "pages/views, 64 connections, pages skewed (readers' way)" "$SKEWED"
row "pages/views, 64 connections, 100 pages (the day's news)" "$HOT"
row "pages/top, 16 connections, random site, period and limit" "$TOP"
row "pages/top?asOf= (random moment), 4 connections" "$TOP_ASOF"
row "stats/series, 31 days by hour (744 points), 16 connections" "$SERIES"
echo "PostgreSQL's time for the top 100 of a year on bench-3 (EXPLAIN ANALYZE): $TOP_SQL ms"
echo "PostgreSQL's statements during the reads, by total time:"
psql -At -F ' | ' -d cchc_stats -c "SELECT '| ' || calls, round(total_exec_time / 1000)::text || ' s', round(mean_exec_time::numeric, 2)::text || ' ms', rows,
  left(regexp_replace(query, '\s+', ' ', 'g'), 110) || ' |' FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 6"
