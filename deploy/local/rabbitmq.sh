#!/usr/bin/env bash
# A RabbitMQ broker from Debian's package (rabbitmq-server), run as a plain process on loopback: no service
# manager, no Docker. Used by .ci/run and by the tests of the rabbitmq transport (they restart it mid-load).
#
#   deploy/local/rabbitmq.sh start|stop|restart|status
#
# CCHC_RABBITMQ_PORT (default 5672) picks the AMQP port; the node's name, data and logs follow from it
# (/tmp/cchc-rabbitmq-<port>), so a restart keeps the queues and their messages. Prints the AMQP address.
set -euo pipefail

port=${CCHC_RABBITMQ_PORT:-5672}
base=${CCHC_RABBITMQ_DIR:-/tmp/cchc-rabbitmq-$port}
export PATH="$PATH:/usr/sbin:/usr/lib/rabbitmq/bin"
export RABBITMQ_NODENAME="cchc$port@localhost"
export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT=$port ERL_EPMD_ADDRESS=127.0.0.1
export RABBITMQ_DIST_PORT=$((port + 20000))
export RABBITMQ_MNESIA_BASE="$base/mnesia" RABBITMQ_LOG_BASE="$base/log" RABBITMQ_PID_FILE="$base/rabbitmq.pid"

ctl() { rabbitmqctl -n "$RABBITMQ_NODENAME" "$@"; }

install() {
  if ! command -v rabbitmq-server >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server >/dev/null
  fi
}

start() {
  install
  if ctl status >/dev/null 2>&1; then
    echo "amqp://guest:guest@127.0.0.1:$port"
    return
  fi
  mkdir -p "$base/mnesia" "$base/log"
  # The package's wrapper runs the broker as the rabbitmq user when called by root.
  if [[ $(id -u) == 0 ]]; then chown -R rabbitmq:rabbitmq "$base"; fi
  rabbitmq-server -detached >/dev/null 2>&1 || true
  for _ in $(seq 1 60); do
    if ctl await_startup --timeout 5 >/dev/null 2>&1; then
      echo "amqp://guest:guest@127.0.0.1:$port"
      return
    fi
    sleep 1
  done
  echo "RabbitMQ did not start; its log:" >&2
  tail -n 40 "$base"/log/*.log >&2 || true
  exit 1
}

stop() {
  ctl stop "$RABBITMQ_PID_FILE" >/dev/null 2>&1 || true
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  status) ctl status ;;
  *) echo "usage: $0 start|stop|restart|status" >&2; exit 2 ;;
esac
