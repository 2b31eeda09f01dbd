#!/usr/bin/env bash
# The demo: sets everything up on a fresh Debian 12 machine, starts a local InfluxDB and the simulated
# network (12 recorded real devices served by snmpsim), runs the collectors for a few minutes with a
# fault injected half way, and prints what was written and the InfluxQL to look at it.
#   NETQOS_DEMO_SECONDS=180 (default) sets how long the collectors run.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN=${NETQOS_DEMO_SECONDS:-180}
INFLUX_URL=http://127.0.0.1:18086
NETQOS=(.venv/bin/python -m netqos)

scripts/setup.sh
echo "== starting InfluxDB 1.6.7 on $INFLUX_URL (data in var/influxdb)"
.venv/bin/python -m lab.influxd start var/influxdb 18086 netqos
echo "== checking inventory.yaml and config/"
"${NETQOS[@]}" check
echo "== starting the simulated network"
"${NETQOS[@]}" lab up
SINCE=$(date -u +%Y-%m-%dT%H:%M:%SZ)

# half way through, the Minhang aggregation router fails (and with it what hangs off it only), then returns
(
  sleep $((SECONDS_TO_RUN / 2))
  echo "== fault: agg-sh-mh-01 stops answering"; "${NETQOS[@]}" lab fault agg-sh-mh-01 down
  sleep $((SECONDS_TO_RUN / 4))
  echo "== fault cleared: agg-sh-mh-01 answers again"; "${NETQOS[@]}" lab fault agg-sh-mh-01 up
) &
FAULTS=$!
trap 'kill $FAULTS 2>/dev/null || true' EXIT

echo "== polling for ${SECONDS_TO_RUN} s (Ctrl-C stops cleanly)"
"${NETQOS[@]}" run --duration "$SECONDS_TO_RUN" --progress 15
wait $FAULTS 2>/dev/null || true

echo "== what InfluxDB holds now"
.venv/bin/python -m lab.summary "$INFLUX_URL" netqos "$SINCE"
cat <<EOT

Look at the data yourself (InfluxQL over HTTP):
  curl -sG $INFLUX_URL/query --data-urlencode db=netqos \\
    --data-urlencode "q=SELECT mean(in_bps) FROM interface WHERE time > now() - 10m GROUP BY device, ifname, time(1m)"
  curl -sG $INFLUX_URL/query --data-urlencode db=netqos \\
    --data-urlencode "q=SELECT reachable, response_ms, cpu_pct, mem_pct FROM device WHERE time > now() - 10m GROUP BY device"
The lab keeps running: '.venv/bin/python -m netqos lab down' and '.venv/bin/python -m lab.influxd stop var/influxdb'
stop it.
EOT
