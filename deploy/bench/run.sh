#!/usr/bin/env bash
# The benchmark: one command, one PostgreSQL, one run, everything side by side on this machine.
#
#   bash deploy/bench/run.sh                 # 10 million views in the store (about 25 minutes)
#   VIEWS=1000000 bash deploy/bench/run.sh   # a quicker run
#
# Starts its own PostgreSQL from the machine's binaries and the service in Release, installs wrk when missing,
# targets loopback only, and writes docs/BENCHMARKS.md. Every load is bounded in time.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
VIEWS=${VIEWS:-10000000}
FIRST=${FIRST:-1000000}
PORT=${PGPORT_BENCH:-55500}
HTTP=${HTTP_PORT_BENCH:-5300}
WORK=$(mktemp -d /tmp/cchc-bench-XXXX)
URL="http://127.0.0.1:$HTTP"
KEY=bench-admin
source deploy/bench/lib.sh

prepare_bench
psql -q -d postgres -c "CREATE DATABASE naive"

field() { grep -E "$1" | head -1 | sed -E "s/.*$1[^0-9]*([0-9][0-9,.]*).*/\1/" | tr -d ','; }

echo "== (a) the naive per-hit counter: pgbench, 8 clients, 20 s"
psql -q -d naive -f deploy/bench/naive-schema.sql
NAIVE=$(pgbench -n -c 8 -j 2 -T 20 -f deploy/bench/naive-counter.sql naive 2>&1 | awk '/^tps/ { printf "%d", $3 }')
echo "   $NAIVE hits/s"

echo "== (b) the machine's limit: 2 million rows of the same shape written inside PostgreSQL"
START=$(date +%s.%N)
psql -q -d naive -c "INSERT INTO naive_hits (site, url, ip, user_agent, at) SELECT 'portal', 'https://portal.test/page/' || (g % 5000), '203.0.113.7', 'Mozilla/5.0', now() FROM generate_series(1, 2000000) g"
LIMIT=$(echo "2000000 / ($(date +%s.%N) - $START)" | bc)
echo "   $LIMIT rows/s"

# A fresh node warmed up (JIT, connection pools) by 30 s of full load into database $1 (site warmup-$2; further
# arguments go to the load tool), then steady-state table statistics as autovacuum keeps them in a running system
# (its first pass on a new table comes after up to a minute). Without them Marten's sequence-gap poll scans the
# whole event table (83 ms instead of 8 ms per poll after the warm-up, and growing with the table).
warm_up() {
  load --site "warmup-$2" --seconds 30 --connections 256 --wrk "${@:3}" >/dev/null || true
  psql -q -d "$1" -c "ANALYZE mt_events"
}

start_service
echo "== warm-up"
warm_up cchc_stats service

echo "== (c) end-to-end ingestion, full load (wrk, 256 connections, 30 s)"
FULL_OUT=$(load --site full --seconds 30 --connections 256 --visitors 20000 --wrk)
echo "$FULL_OUT"
read -r FULL FULL_P50 FULL_P99 FULL_LAG <<<"$(load_figures "$FULL_OUT")"

# Half load, three runs: one run's p99 is its worst 1 % of views, i.e. the worst ~0.3 s of the 30 s, and it moved
# between 40 and 118 ms from run to run of one build on this shared machine. The table gives the median run and all three.
# half_load_runs LABEL [load options]: sets HL_VIEWS, HL_P50, HL_P99, HL_LAG (medians) and HL_P99_RUNS, HL_LAG_RUNS.
HALF_RATE=$((FULL / 2))
half_load_runs() {
  local label=$1 run out views p50 p99 lag; shift
  local all_views=() all_p50=() all_p99=() all_lag=()
  for run in 1 2 3; do
    echo "== (c) half load, $label, run $run of 3: $HALF_RATE views/s paced, 30 s"
    out=$(load --site "$label-$run" --seconds 30 --connections 256 --visitors 20000 --rate $HALF_RATE --wrk "$@")
    echo "$out"
    read -r views p50 p99 lag <<<"$(load_figures "$out")"
    all_views+=("$views"); all_p50+=("$p50"); all_p99+=("$p99"); all_lag+=("$lag")
  done
  HL_VIEWS=$(median "${all_views[@]}"); HL_P50=$(median "${all_p50[@]}"); HL_P99=$(median "${all_p99[@]}"); HL_LAG=$(median "${all_lag[@]}")
  HL_P99_RUNS=$(IFS=/; echo "${all_p99[*]}" | sed 's#/# / #g'); HL_LAG_RUNS=$(IFS=/; echo "${all_lag[*]}" | sed 's#/# / #g')
}
half_load_runs half
HALF=$HL_VIEWS; HALF_P50=$HL_P50; HALF_P99=$HL_P99; HALF_LAG=$HL_LAG; HALF_P99_RUNS=$HL_P99_RUNS; HALF_LAG_RUNS=$HL_LAG_RUNS

# Where the half-load tail comes from (not targets): the same half load with the projection taken out of the process
# that answers. First onto a second node on this machine (the service with Stats__RunProjections=false, a projector
# beside it: same two cores, same PostgreSQL), then nowhere (no projection at all: the ingestion path alone, the
# floor). Their difference to the figure above is what the projection costs the answers; "Status of this run" in
# docs/BENCHMARKS.md has the profiling behind it. In a database of their own (dropped after), so that the store
# sizes measured below stay what they say; each restarted node is warmed up as the first one was.
stop_service
psql -q -d postgres -c "CREATE DATABASE cchc_diag"
BENCH_DB=cchc_diag Stats__RunProjections=false start_service
BENCH_DB=cchc_diag start_projector
warm_up cchc_diag split
half_load_runs split
SPLIT_P50=$HL_P50; SPLIT_P99=$HL_P99; SPLIT_LAG=$HL_LAG; SPLIT_P99_RUNS=$HL_P99_RUNS
stop_projector
warm_up cchc_diag bare --ingest-only
half_load_runs bare --ingest-only
BARE_P50=$HL_P50; BARE_P99=$HL_P99; BARE_P99_RUNS=$HL_P99_RUNS
stop_service
psql -q -d postgres -c "DROP DATABASE cchc_diag"
start_service

# The bulk load and the rebuild have just written millions of rows: autovacuum would now spend a core on them
# for minutes, under the measurements that follow (counter reads p99 10.4 instead of 4-6 ms in the 17:34 run).
# A running system does that work as rows arrive; do it here, before measuring reads and ingestion at this size.
# The vacuum rewrites every page it marks visible (gigabytes at 10 M): a checkpoint then writes them out, rather
# than the checkpointer and the kernel doing it under the reads (p99 13.8 ms in the 20:29 run, 5.4 before).
settle() {
  psql -q -d cchc_stats -c "VACUUM (ANALYZE)" -c "CHECKPOINT"
  sync
}

reads() { # counters of one bench site, 64 connections, 15 s (after a 5 s warm-up)
  wrk -t2 -c64 -d5s "$URL/api/v1/sites/bench-3/counters" >/dev/null
  local out; out=$(wrk_ok "$(wrk -t2 -c64 -d15s --latency "$URL/api/v1/sites/bench-3/counters")")
  READS=$(wrk_rate "$out")
  READS_P50=$(wrk_percentile "$out" 50%)
  READS_P99=$(wrk_percentile "$out" 99%)
}

# As-of reads at random moments of random sites, 15 s each: the latency an auditor sees with four reads at once
# (ASOF_P50/P99), and the throughput with 16 at once, which saturates the two cores (ASOF16, ASOF16_P99: there the
# p99 is mostly the wait for a core).
asof_reads() {
  local out; out=$(wrk_ok "$(wrk -t2 -c4 -d15s --latency -s deploy/bench/asof.lua "$URL")")
  ASOF=$(wrk_rate "$out")
  ASOF_P50=$(wrk_percentile "$out" 50%)
  ASOF_P99=$(wrk_percentile "$out" 99%)
  out=$(wrk_ok "$(wrk -t2 -c16 -d15s --latency -s deploy/bench/asof.lua "$URL")")
  ASOF16=$(wrk_rate "$out")
  ASOF16_P99=$(wrk_percentile "$out" 99%)
}

# Ingestion end to end on the store as it stands, after a 10 s warm-up load: the first load after a rebuild runs cold (on
# the 10 M store, 5,141 views/s with a 202 p99 of 1,018 ms; the two loads after it 7,931 and 8,653 views/s, p99 85-90 ms).
ingest_at_size() {
  load --site "warm-$1" --seconds 10 --connections 256 --visitors 20000 --wrk >/dev/null 2>&1 || true
  local out; out=$(load --site "size-$1" --seconds 20 --connections 256 --visitors 20000 --wrk || true)
  echo "$out" >&2
  load_figures "$out" | cut -d' ' -f1
}

echo "== store of about $FIRST views"
CURRENT=$(psql -At -d cchc_stats -c "SELECT count(*) FROM mt_events")
grow_and_rebuild $((FIRST > CURRENT ? FIRST - CURRENT : 1000))
SMALL_EVENTS=$REBUILD_EVENTS; SMALL_REBUILD=$REBUILD_RATE
settle
reads; SMALL_READS=$READS; SMALL_READS_P50=$READS_P50; SMALL_READS_P99=$READS_P99
asof_reads; SMALL_ASOF_P50=$ASOF_P50; SMALL_ASOF_P99=$ASOF_P99
SMALL_INGEST=$(ingest_at_size small)
echo "   $SMALL_EVENTS events: rebuild $SMALL_REBUILD/s, reads $SMALL_READS/s p99 $SMALL_READS_P99, asOf p99 $SMALL_ASOF_P99, ingest $SMALL_INGEST/s"

echo "== store of about $VIEWS views"
CURRENT=$(psql -At -d cchc_stats -c "SELECT count(*) FROM mt_events")
grow_and_rebuild $((VIEWS > CURRENT ? VIEWS - CURRENT : 1000))
BIG_EVENTS=$REBUILD_EVENTS; BIG_REBUILD=$REBUILD_RATE; BIG_REBUILD_SECONDS=$REBUILD_SECONDS
settle
reads; BIG_READS=$READS; BIG_READS_P50=$READS_P50; BIG_READS_P99=$READS_P99
asof_reads; BIG_ASOF=$ASOF; BIG_ASOF_P50=$ASOF_P50; BIG_ASOF_P99=$ASOF_P99; BIG_ASOF16=$ASOF16; BIG_ASOF16_P99=$ASOF16_P99
BIG_INGEST=$(ingest_at_size big)
echo "   $BIG_EVENTS events: rebuild $BIG_REBUILD/s, reads $BIG_READS/s p99 $BIG_READS_P99, asOf p99 $BIG_ASOF_P99, ingest $BIG_INGEST/s"

echo "== (g) memory and disk"
PEAK=$(peak_rss_mb)
BYTES=$(psql -At -d cchc_stats -c "SELECT pg_total_relation_size('mt_events') / count(*) FROM mt_events")
ALL_BYTES=$(psql -At -d cchc_stats -c "SELECT (pg_total_relation_size('mt_events') + pg_total_relation_size('mt_streams')) / (SELECT count(*) FROM mt_events)")
# Bytes per stored view, table by table and index by index.
DISK=$(psql -At -F ' | ' -d cchc_stats -c "SELECT '| ' || c.relname, pg_size_pretty(pg_relation_size(c.oid)), (pg_relation_size(c.oid) / (SELECT count(*) FROM mt_events))::text || ' B |' FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i') AND (c.relname LIKE '%mt_events%' OR c.relname LIKE '%visitor_day%' OR c.relname LIKE '%mt_streams%') ORDER BY pg_relation_size(c.oid) DESC")
RATIO=$(printf "%.1f" "$(echo "scale=3; $FULL / $NAIVE" | bc)")
CPU=$(lscpu | awk -F: '/Model name/ { gsub(/^ +/, "", $2); print $2; exit }')

cat > docs/BENCHMARKS.md <<EOF
# Benchmarks

Run on $(date -u +"%Y-%m-%d %H:%M UTC") with \`bash deploy/bench/run.sh\` (VIEWS=$VIEWS), on $(nproc) cores
($CPU), $(free -g | awk '/Mem:/ { print $2 }') GiB; the service (Release), PostgreSQL 15 and the load generators all on the
same machine, one PostgreSQL for everything.

| | measure | result | target |
|---|---|---|---|
| (a) | naive per-hit counter (insert + 5 upserts per hit, pgbench, 8 clients) | $NAIVE hits/s | — |
| (b) | machine limit: rows of the same shape written inside PostgreSQL | $LIMIT rows/s | — |
| (c) | end-to-end ingestion, full load (wrk, 256 connections): 202 → visible | **$FULL views/s** = ${RATIO}× (a) | ≥ 10,000 and ≥ 5× (a) |
| (c) | 202 latency p50 / p99, full load | $FULL_P50 / $FULL_P99 ms | — |
| (c) | visible lag p99, full load (incl. the 0.5 s counter refresh) | $FULL_LAG s | — |
| (c) | half load ($HALF_RATE views/s paced), median of 3 runs: end to end | $HALF views/s | — |
| (c) | 202 latency p50 / p99, half load, median of 3 runs (p99 of each: $HALF_P99_RUNS) | $HALF_P50 / **$HALF_P99 ms** | p99 ≤ 50 ms |
| (c) | visible lag p99, half load, median of 3 runs (each: $HALF_LAG_RUNS) | $HALF_LAG s | ≤ 2 s |
| (c) | *why the half-load p99:* the projection on a second node on this machine (same cores, same PostgreSQL), median of 3 (p99 of each: $SPLIT_P99_RUNS) | $SPLIT_P50 / $SPLIT_P99 ms; lag p99 $SPLIT_LAG s | — |
| (c) | *why the half-load p99:* no projection at all, the ingestion path alone (the floor), median of 3 (p99 of each: $BARE_P99_RUNS) | $BARE_P50 / $BARE_P99 ms | — |
| (d) | counter reads, store of $BIG_EVENTS events (64 connections) | $BIG_READS reads/s, p50 $BIG_READS_P50, p99 $BIG_READS_P99 | ≥ 20,000/s, p99 ≤ 10 ms |
| (e) | asOf reads, store of $BIG_EVENTS events: 4 at once (16 at once: $BIG_ASOF16 reads/s, p99 $BIG_ASOF16_P99) | $BIG_ASOF reads/s, p50 $BIG_ASOF_P50, **p99 $BIG_ASOF_P99** | p99 ≤ 50 ms |
| (f) | rebuild of every projection from $BIG_EVENTS events | $BIG_REBUILD events/s ($BIG_REBUILD_SECONDS s) | ≥ 40,000/s |
| (g) | service peak memory (VmHWM) over the whole run | $PEAK MB | ≤ 400 MB |
| (g) | bytes on disk per stored view: events with indexes / with streams too | $BYTES / $ALL_BYTES B | ≤ 400 B |

Scale with the data:

| store | ingestion end to end | counter reads | reads p99 | asOf p99 | rebuild |
|---|---|---|---|---|---|
| $SMALL_EVENTS events | $SMALL_INGEST views/s | $SMALL_READS/s | $SMALL_READS_P99 | $SMALL_ASOF_P99 | $SMALL_REBUILD events/s |
| $BIG_EVENTS events | $BIG_INGEST views/s | $BIG_READS/s | $BIG_READS_P99 | $BIG_ASOF_P99 | $BIG_REBUILD events/s |

How the large store is made: \`deploy/bench/bulk-views.sql\` appends page-view events of the same shape the
service writes (20 sites, a million visitors, one view every 3 s) straight into \`mt_events\`, then the service
rebuilds every counter from them through \`POST /api/v1/admin/rebuild\` — which is measurement (f). The tables are
then vacuumed and analysed (what autovacuum does as rows arrive in a running system) before reads and ingestion
are measured at that size.

Where the rebuild's time goes ($BIG_EVENTS events, $BIG_REBUILD_SECONDS s): the service used $REBUILD_CPU_SERVICE s of CPU,
PostgreSQL $REBUILD_CPU_PG s; $REBUILD_WAL. PostgreSQL's statements by total time (pg_stat_statements):

| calls | total | mean | rows | statement |
|---|---|---|---|---|
$REBUILD_PROFILE

Disk, per stored view ($BIG_EVENTS events):

| relation | size | per view |
|---|---|---|
$DISK

## Keeping the event table manageable for years

At the rate of the busiest portals (a few million views a day across all sites) the event table grows by a
billion rows in a year or two. What keeps it manageable:

- **Nothing on the hot paths reads old events.** Live counters come from the projection's documents; \`asOf\`
  reads one site-day of raw events through the \`(siteId, day)\` index; ingestion only appends. By design
  their cost depends on a day's events, not on the history's length; the scale table above is the check. For
  \`asOf\` it is not yet flat (a longer history spreads the random moments over days that exist, and a day's
  views over pages shared with other sites; see the status below).
- **Retention: raw events for the audit horizon, counters and seals for ever.** Once a day is sealed
  (\`DaySealed\` carries its figures and a hash chained to the previous day), its raw views are needed only
  for audit and rebuilds. A nightly job exports the views of days older than the horizon (\`GET /events\`
  as NDJSON, to cold storage), then archives their streams. Each group's stream holds views of one moment, so
  archiving by stream follows the calendar.
- **Marten's archiving and partitioning.** \`opts.Events.UseArchivedStreamPartitioning = true\` makes
  \`mt_events\` a table partitioned on \`is_archived\`; \`ArchiveStream\` moves a stream's events to the archive
  partition, which queries of live events never touch and which can sit on a cheaper tablespace or be
  detached once exported. Rebuilds then start from the oldest kept day, with the sealed figures of archived
  days as baselines (\`BaselineRecorded\`, the mechanism portals already use to carry old counters over).
- **Disk per view** (table above): a view is one row of about 290 B — a ~150 B jsonb payload (site, local
  time, visitor hash, URL; an absent referrer or title has no key, and the site-local day is the local time's first
  ten characters, not a field of its own) and Marten's per-row columns (\`seq_id\`,
  \`id\`, \`stream_id\`, \`version\`, \`type\`, \`tenant_id\`, \`timestamp\`, \`is_archived\`; \`mt_dotnet_type\` is left
  NULL, since every event type is registered and read back by its alias). Its index entries: the sequence
  key, Marten's \`(stream_id, version)\` key (compact because stream ids are time-ordered UUIDv7s, so inserts
  fill pages at the right edge), and the site-day index, which is keyed by \`(siteId, day, local ten minutes)\`
  without the sequence so that PostgreSQL's B-tree deduplication stores a site's ten minutes of views as lists of
  row pointers (about 23 B a view, against 88 B with the sequence in the key). Storing a group of views as one event
  would share the per-row columns among the group, at the price of a coarser event (an auditor's row would be a group). The
  visitor-day documents are derived data: they could be dropped for days older than the late-import window
  and rebuilt when needed.

Commands: \`pgbench -n -c 8 -j 2 -T 20 -f deploy/bench/naive-counter.sql\`; the load tool
\`tests/CCHC.Stats.Load\` (\`--wrk\`: wrk sends the load; \`--rate\` paces it for the half load); \`wrk -c64 -d15s\` for counter
reads; \`wrk -c4 -d15s -s deploy/bench/asof.lua\` and \`-c16\` for asOf reads.
EOF
cat docs/BENCHMARKS.md
