#!/usr/bin/env bash
# The first minute of a fresh node: the service published as the container image publishes it (ReadyToRun) against
# a plain Release publish (JIT only), the two alternating (ROUNDS times each) in one run, as the machine's speed
# swings. Each start is on an empty database, loaded at once: seconds until ready, views/s end to end in the first
# SECONDS_EACH under load (cold), then in the next SECONDS_EACH (warm). Then the process is started again on the
# same, now warm, store and loaded at once: a pod restarted in production (cold process, warm database).
#
#   bash deploy/bench/coldstart.sh
#   ROUNDS=3 SECONDS_EACH=15 CONNECTIONS=512 bash deploy/bench/coldstart.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

ROUNDS=${ROUNDS:-2}
SECONDS_EACH=${SECONDS_EACH:-15}
CONNECTIONS=${CONNECTIONS:-512}
PORT=${PGPORT_BENCH:-55520}
HTTP=${HTTP_PORT_BENCH:-5320}
WORK=$(mktemp -d /tmp/cchc-coldstart-XXXX)
URL="http://127.0.0.1:$HTTP"
KEY=bench-admin
source deploy/bench/lib.sh

prepare_bench
echo "== publish: JIT only, and ReadyToRun (as deploy/Dockerfile)"
dotnet publish services/CCHC.Stats.Api -c Release -o "$WORK/jit" -v q -nologo >/dev/null
dotnet publish services/CCHC.Stats.Api -c Release -r linux-x64 --self-contained false -p:PublishReadyToRun=true -o "$WORK/r2r" -v q -nologo >/dev/null
LOAD=tests/CCHC.Stats.Load/bin/Release/net10.0/CCHC.Stats.Load.dll

seconds_since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
views_per_second() { load_figures "$1" | cut -d' ' -f1; }
load() { dotnet "$LOAD" --target "$URL" --admin-key "$KEY" --seconds "$SECONDS_EACH" --connections "$CONNECTIONS" --visitors 20000 --wrk --site "$1"; }

declare -A READY COLD WARM AGAIN_READY AGAIN
run=0
for round in $(seq 1 "$ROUNDS"); do
  for variant in jit r2r; do
    run=$((run + 1))
    export BENCH_DB=cold_$run SERVICE_DLL="$WORK/$variant/CCHC.Stats.Api.dll"
    psql -q -d postgres -c "CREATE DATABASE $BENCH_DB"
    started=$(date +%s.%N); start_service; ready=$(seconds_since "$started")
    cold=$(views_per_second "$(load "cold-$run")")
    warm=$(views_per_second "$(load "warm-$run")")
    stop_service
    started=$(date +%s.%N); start_service; again_ready=$(seconds_since "$started")
    again=$(views_per_second "$(load "again-$run")")
    stop_service
    READY[$variant]+="$ready "; COLD[$variant]+="$cold "; WARM[$variant]+="$warm "
    AGAIN_READY[$variant]+="$again_ready "; AGAIN[$variant]+="$again "
    echo "   round $round $variant: new store ready $ready s, first $cold, next $warm views/s; restarted: ready $again_ready s, first $again views/s"
  done
done

echo
echo "| publish | new store: s to ready | first ${SECONDS_EACH} s, views/s (cold) | next ${SECONDS_EACH} s (warm) | cold / warm | restarted on the warm store: s to ready | its first ${SECONDS_EACH} s, views/s |"
echo "|---|---|---|---|---|---|---|"
for variant in jit r2r; do
  read -ra r <<<"${READY[$variant]}"; read -ra c <<<"${COLD[$variant]}"; read -ra w <<<"${WARM[$variant]}"
  read -ra ar <<<"${AGAIN_READY[$variant]}"; read -ra a <<<"${AGAIN[$variant]}"
  mc=$(median "${c[@]}"); mw=$(median "${w[@]}")
  echo "| $variant | $(median "${r[@]}") (${r[*]}) | $mc (${c[*]}) | $mw (${w[*]}) | $(awk -v c="$mc" -v w="$mw" 'BEGIN { printf "%.2f", c / w }') | $(median "${ar[@]}") (${ar[*]}) | $(median "${a[@]}") (${a[*]}) |"
done
