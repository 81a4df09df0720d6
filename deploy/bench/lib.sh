# Shared by the benchmark scripts (sourced): a PostgreSQL of their own from the machine's binaries, stopped on
# exit, wrk, the service in Release, and a store grown to a size and rebuilt. Expects PORT (PostgreSQL), WORK (a
# scratch folder), URL (the service's address) and KEY (its admin key); sets PG, BIN, PGHOST/PGPORT/PGUSER.
PG="$WORK/pg"
export PGHOST=127.0.0.1 PGPORT=$PORT PGUSER=postgres

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
BIN=$(dirname "$(readlink -f "$(command -v pg_ctl || ls /usr/lib/postgresql/*/bin/pg_ctl | tail -1)")")
as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# effective_io_concurrency 200: bitmap heap scans (an asOf recount of a site-day) prefetch their pages, the usual
# setting for SSD storage (PostgreSQL's default of 1 is for a single spinning disk).
# Huge pages for the shared buffers (HUGE_PAGES=0: without), as PostgreSQL's documentation advises for a server with
# shared buffers of a gigabyte or more. Without them each backend maps the shared buffers 4 KiB at a time, one page
# fault at its first touch of each: a read of 50 buffers that takes 0.2 ms in a backend that has touched them took
# 1–2 ms in one that had not, and the service's pool spreads reads over dozens of backends. asOf on a 1 M store, 16
# readers: 605–691 reads/s without, 1,029–1,180 with (docs/BENCHMARKS.md). Reserving them needs root; without it PostgreSQL
# finds none and runs without (huge_pages=try); HUGE_PAGES=0 turns them off.
SHARED_BUFFERS=${SHARED_BUFFERS:-1GB}
pg_start() { # starts the server of $PG with the bench's settings
  as_pg "$BIN/pg_ctl" -D "$PG" -l "$PG/server.log" -w -o "-p $PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$PG -c max_connections=300 -c shared_buffers=$SHARED_BUFFERS -c huge_pages=$([[ ${HUGE_PAGES:-1} == 1 ]] && echo try || echo off) -c max_wal_size=4GB -c effective_io_concurrency=200 -c shared_preload_libraries=pg_stat_statements" start >/dev/null
  echo "   huge pages held: $(( $(huge_pages_held) * 2 )) MiB"
}
huge_pages_held() { awk '/HugePages_Total/ { t = $2 } /HugePages_Free/ { f = $2 } /HugePages_Rsvd/ { r = $2 } END { print t - f + r }' /proc/meminfo; }
reserve_huge_pages() { # enough 2 MiB pages for the shared buffers and PostgreSQL's other shared memory (an eighth more)
  [[ ${HUGE_PAGES:-1} == 1 && -w /proc/sys/vm/nr_hugepages ]] || return 0
  local mb want
  mb=$(numfmt --from=iec "${SHARED_BUFFERS%B}" | awk '{ print int($1 / 1048576) }')
  want=$(( (mb + mb / 8 + 64) / 2 + $(huge_pages_held) ))
  (( $(cat /proc/sys/vm/nr_hugepages) >= want )) || echo "$want" >/proc/sys/vm/nr_hugepages
}
start_postgres() {
  echo "== PostgreSQL in $PG, port $PORT"
  mkdir -p "$PG" && [[ $(id -u) == 0 ]] && chown -R postgres:postgres "$WORK"
  as_pg "$BIN/initdb" -D "$PG" -U postgres --auth=trust -E UTF8 --no-locale >/dev/null
  reserve_huge_pages
  pg_start
}

# Stopped, its data is deleted (a 10 M-view store is about 12 GB, on a disk shared with others); KEEP_PG=1 keeps it
# for a look afterwards.
stop_postgres() {
  as_pg "$BIN/pg_ctl" -D "$PG" -m fast stop >/dev/null 2>&1 || true
  [[ ${KEEP_PG:-0} == 1 ]] || rm -rf "$PG"
}

# The common start of a benchmark: the solution built in Release, PostgreSQL started with an empty database
# for the service, and both the service and PostgreSQL stopped when the script exits.
prepare_bench() {
  echo "== build (Release)"
  dotnet build -c Release CCHC.Stats.sln -v q -nologo >/dev/null
  start_postgres
  SERVICE_PID=; PROJECTOR_PID=
  trap '[[ -n $SERVICE_PID ]] && kill "$SERVICE_PID" 2>/dev/null; [[ -n $PROJECTOR_PID ]] && kill "$PROJECTOR_PID" 2>/dev/null; stop_postgres' EXIT
  psql -q -d postgres -c "CREATE DATABASE cchc_stats"
}

# A node of the service at $1, started and ready; sets NODE_PID. Settings in the caller's environment pass through
# (Stats__RunProjections=false start_service: a node that takes views and runs no projection; BENCH_DB: another
# database than cchc_stats; SERVICE_DLL: another build of the service, e.g. a published one).
start_node() {
  ConnectionStrings__Postgres="Host=127.0.0.1;Port=$PORT;Username=postgres;Database=${BENCH_DB:-cchc_stats};Maximum Pool Size=100" \
  Stats__AdminKey=$KEY Stats__AuditorKey=bench-auditor Stats__ViewsPerClientPerMinute=0 Stats__SealDays=false \
  Logging__LogLevel__Default=Warning \
    dotnet "${SERVICE_DLL:-services/CCHC.Stats.Api/bin/Release/net10.0/CCHC.Stats.Api.dll}" --urls "$1" >>"$WORK/service.log" 2>&1 &
  NODE_PID=$!
  for _ in $(seq 1 120); do curl -sf "$1/health/ready" >/dev/null && return; sleep 0.5; done
  echo "service did not start at $1"; tail -30 "$WORK/service.log"; exit 1
}
start_service() { start_node "$URL"; SERVICE_PID=$NODE_PID; }
stop_node() { kill "$1"; wait "$1" 2>/dev/null || true; }
stop_service() { stop_node "$SERVICE_PID"; SERVICE_PID=; }

# A second node on this machine that runs the projection and takes no load (the port after the service's): with
# the service started with Stats__RunProjections=false, the split a deployment makes with the projection on a node
# of its own — here sharing the same two cores and the same PostgreSQL.
start_projector() { start_node "http://127.0.0.1:$((${URL##*:} + 1))"; PROJECTOR_PID=$NODE_PID; }
stop_projector() { stop_node "$PROJECTOR_PID"; PROJECTOR_PID=; }
# CPU the processes $@ have spent (user and system): in clock ticks of 10 ms, and in whole seconds.
cpu_ticks() { local t=0; for p in "$@"; do t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0))); done; echo "$t"; }
cpu_seconds() { echo $(( $(cpu_ticks "$@") / 100 )); }
# The load tool (tests/CCHC.Stats.Load) against the service at $URL with the bench's admin key.
load() { dotnet tests/CCHC.Stats.Load/bin/Release/net10.0/CCHC.Stats.Load.dll --target "$URL" --admin-key $KEY "$@"; }
peak_rss_mb() { awk '/VmHWM/ { printf "%d", $2 / 1024 }' "/proc/$SERVICE_PID/status"; }

# Grows the store of ${BENCH_DB:-cchc_stats} by $1 page views written straight into the event table
# (${BULK_VIEWS:-deploy/bench/bulk-views.sql}: in a side-by-side run, each side's own, so that its events have the shape
# its service writes), then has the service rebuild every counter from it (rebuild_all).
grow_and_rebuild() { # $1 views to add
  local db=${BENCH_DB:-cchc_stats}
  register_bench_sites
  stop_service
  psql -q -d "$db" -v count="$1" -v pages="${PAGES:-5000}" -f "${BULK_VIEWS:-deploy/bench/bulk-views.sql}"
  # The service will rebuild every counter from the store: start the projection where the store ends.
  psql -q -d "$db" -c "UPDATE mt_event_progression SET last_seq_id = (SELECT max(seq_id) FROM mt_events) WHERE name LIKE 'counters:%'"
  start_service
  rebuild_all
}

# What PostgreSQL has written to its WAL since it started, and its checkpoints: records, full-page images, bytes,
# checkpoints by time and on request (WAL grown past max_wal_size), buffers the checkpoints wrote. wal_since prints the
# difference of two such lines. (PostgreSQL 15 and 16; from 17 the checkpoints are in pg_stat_checkpointer, and the
# figures are left out.)
WAL_FIGURES="SELECT concat_ws(' ', w.wal_records, w.wal_fpi, w.wal_bytes, b.checkpoints_timed, b.checkpoints_req, b.buffers_checkpoint) FROM pg_stat_wal w, pg_stat_bgwriter b"
wal_now() { psql -At -d "$1" -c "$WAL_FIGURES" 2>/dev/null || true; } # $1 a database; empty where the figures are not available
wal_since() {
  [[ -n $1 && -n $2 ]] || { echo "WAL figures not available"; return; }
  paste -d' ' <(tr ' ' '\n' <<<"$1") <(tr ' ' '\n' <<<"$2") | awk '{ d[NR] = $2 - $1 } END {
    printf "WAL %d records, %d full-page images, %.0f MB; checkpoints %d timed, %d requested, %d buffers written", d[1], d[2], d[3] / 1048576, d[4], d[5], d[6] }'
}

# Has the service rebuild every counter of ${BENCH_DB:-cchc_stats} from its store: sets REBUILD_EVENTS,
# REBUILD_RATE (events/s), REBUILD_SECONDS, the CPU seconds the service and PostgreSQL spent (REBUILD_CPU_SERVICE,
# REBUILD_CPU_PG), what it wrote to the WAL and its checkpoints (REBUILD_WAL) and PostgreSQL's top statements
# (REBUILD_PROFILE).
rebuild_all() {
  local db=${BENCH_DB:-cchc_stats} events start end cpu_service cpu_pg wal
  events=$(psql -At -d "$db" -c "SELECT count(*) FROM mt_events")
  psql -q -d "$db" -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" -c "SELECT pg_stat_statements_reset()" >/dev/null
  cpu_service=$(cpu_seconds "$SERVICE_PID"); cpu_pg=$(cpu_seconds $(pgrep -u postgres postgres))
  wal=$(wal_now "$db")
  start=$(date +%s.%N)
  curl -sf -X POST -H "Authorization: Bearer $KEY" "$URL/api/v1/admin/rebuild" >/dev/null
  [[ -n ${ON_REBUILD:-} ]] && $ON_REBUILD # e.g. a profiler attached to the service (rebuild.sh TRACE=1)
  until curl -sf -H "Authorization: Bearer $KEY" "$URL/api/v1/admin/rebuild" | grep -q '"completed"'; do sleep 1; done
  end=$(date +%s.%N)
  REBUILD_CPU_SERVICE=$(( $(cpu_seconds "$SERVICE_PID") - cpu_service ))
  REBUILD_CPU_PG=$(( $(cpu_seconds $(pgrep -u postgres postgres)) - cpu_pg ))
  REBUILD_WAL=$(wal_since "$wal" "$(wal_now "$db")")
  # Where PostgreSQL spent the rebuild: its statements by total time.
  REBUILD_PROFILE=$(psql -At -F ' | ' -d "$db" -c "SELECT '| ' || calls, round(total_exec_time / 1000)::text || ' s', round(mean_exec_time::numeric, 1)::text || ' ms', rows, left(regexp_replace(query, '\s+', ' ', 'g'), 90) || ' |' FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = '$db') ORDER BY total_exec_time DESC LIMIT 5")
  REBUILD_EVENTS=$events
  REBUILD_RATE=$(echo "$events / ($end - $start)" | bc)
  REBUILD_SECONDS=$(echo "($end - $start) / 1" | bc)
}


# The figures of a load tool report ($1): "views/s end to end, 202 p50 ms, 202 p99 ms, visible lag p99 s", one line.
load_figures() {
  local views p50 p99 lag
  views=$(echo "$1" | grep "end to end" | sed -E 's/.*= ([0-9,]+) views\/s.*/\1/' | tr -d ',')
  p50=$(echo "$1" | grep "202 latency" | sed -E 's/.*p50 ([0-9.]+).*/\1/')
  p99=$(echo "$1" | grep "202 latency" | sed -E 's/.*p99 ([0-9.]+).*/\1/')
  lag=$(echo "$1" | grep "visible lag" | sed -E 's/.*p99 ([0-9.]+).*/\1/')
  echo "${views:--} ${p50:--} ${p99:--} ${lag:--}"
}

# The median; of an even count, the mean of the middle two (of two rounds: their mean, not the lower).
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# The 20 sites bulk-views.sql writes views for (bench-0 … bench-19), registered as a portal's operator would: the
# counter and asOf reads are of these sites, and an unregistered site answers 404.
register_bench_sites() {
  for n in $(seq 0 19); do
    curl -sf -o /dev/null -X PUT -H "Authorization: Bearer $KEY" -H "Content-Type: application/json" \
      -d "{\"name\":\"Bench $n\",\"timeZone\":\"Asia/Ho_Chi_Minh\",\"allowedHosts\":[\"bench.test\"],\"publishStats\":true}" "$URL/api/v1/sites/bench-$n"
  done
}

# Figures from a wrk report ($1): requests a second, and a latency percentile ($2: 50%, 99%) as wrk prints it.
wrk_rate() { awk '/Requests\/sec/ { printf "%d", $2 }' <<<"$1"; }
wrk_percentile() { awk -v p="$2" '$1 == p { print $2 }' <<<"$1"; }

# wrk's report ($1), unless some answers were errors: a read benchmark must not time 404s or 503s.
wrk_ok() {
  if grep -q "Non-2xx" <<<"$1"; then
    echo "wrk got error answers; not reporting these as reads:" >&2
    echo "$1" >&2
    exit 1
  fi
  echo "$1"
}

# The two sides' order in round $1 of an alternating comparison: old first in odd rounds, new first in even ones, so
# neither side always runs on the warmer machine.
turns() { if (( $1 % 2 )); then echo "old new"; else echo "new old"; fi; }

# The service at git ref $1 (git archive into $WORK/old) and the working tree, both built in Release, for a side-by-side
# run: sets OLD_SHA, DLL[old], DLL[new] and BULK[old], BULK[new] (each side's bulk-views.sql).
build_old_and_new() {
  OLD_SHA=$(git rev-parse --short "$1")
  echo "== build $1 ($OLD_SHA) and the working tree (Release)"
  mkdir -p "$WORK/old"
  git archive "$1" | tar -x -C "$WORK/old"
  dotnet build -c Release "$WORK/old/services/CCHC.Stats.Api" -v q -nologo >/dev/null
  dotnet build -c Release CCHC.Stats.sln -v q -nologo >/dev/null
  declare -gA DLL=([old]="$WORK/old/services/CCHC.Stats.Api/bin/Release/net10.0/CCHC.Stats.Api.dll"
                   [new]="services/CCHC.Stats.Api/bin/Release/net10.0/CCHC.Stats.Api.dll")
  declare -gA BULK=([old]="$WORK/old/deploy/bench/bulk-views.sql" [new]="deploy/bench/bulk-views.sql")
}

# The common start of a side-by-side run: git ref $1 and the working tree built (build_old_and_new), PostgreSQL started,
# and both it and the service (SERVICE_PID) stopped when the script exits. The caller makes its databases.
start_side_by_side() {
  build_old_and_new "$1"
  start_postgres
  SERVICE_PID=
  trap '[[ -n $SERVICE_PID ]] && kill "$SERVICE_PID" 2>/dev/null; stop_postgres' EXIT
}
