#!/usr/bin/env bash
# The demo: sets everything up on a fresh Debian 12 machine, starts a local InfluxDB and the simulated
# network (12 recorded real devices served by snmpsim + an SSH OLT), runs the collectors, the trap receiver
# and the alarm engine for a few minutes, takes an aggregation router down (and everything that hangs off
# it only) and brings it back, then shows the one trouble ticket it opened and what InfluxDB holds.
#   NETQOS_DEMO_SECONDS=480 (default) sets how long the collectors run; the fault lasts from 3/8 to 6/8 (the
#   first ONU polls and their alarms settle before it, so the ticket shows only what the outage caused; it
#   opens after 2 failed polls + the 90 s grouping window, and is resolved when the router answers again).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN=${NETQOS_DEMO_SECONDS:-480}
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

# three eighths of the way in, the Pudong aggregation router fails: with it its OLT, the microwave link, the
# cell-site router and the site's power plant go silent (they hang off it only); later it comes back
rm -f var/tickets.db var/tickets.db-* var/alarm-state.json   # the demo starts with no tickets and no alarms
(
  sleep $((SECONDS_TO_RUN * 3 / 8))
  echo "== fault: agg-sh-pd-01 stops answering"; "${NETQOS[@]}" lab fault agg-sh-pd-01 down
  sleep $((SECONDS_TO_RUN * 3 / 8))
  echo "== fault cleared: agg-sh-pd-01 answers again"; "${NETQOS[@]}" lab fault agg-sh-pd-01 up
) &
FAULTS=$!
trap 'kill $FAULTS 2>/dev/null || true' EXIT

echo "== polling for ${SECONDS_TO_RUN} s (Ctrl-C stops cleanly)"
"${NETQOS[@]}" run --duration "$SECONDS_TO_RUN" --progress 15
wait $FAULTS 2>/dev/null || true

echo "== trouble tickets (one per root cause)"
"${NETQOS[@]}" tickets list --all
for id in $("${NETQOS[@]}" tickets list --all --format json | .venv/bin/python -c \
    'import json,sys; print(" ".join(str(t["id"]) for t in json.load(sys.stdin)))'); do
  "${NETQOS[@]}" tickets show "$id"
done
echo "== what InfluxDB holds now"
.venv/bin/python -m lab.summary "$INFLUX_URL" netqos "$SINCE"
cat <<EOT

Look at the data yourself (InfluxQL over HTTP):
  curl -sG $INFLUX_URL/query --data-urlencode db=netqos \\
    --data-urlencode "q=SELECT mean(in_bps) FROM interface WHERE time > now() - 10m GROUP BY device, ifname, time(1m)"
  curl -sG $INFLUX_URL/query --data-urlencode db=netqos \\
    --data-urlencode "q=SELECT reachable, response_ms, cpu_pct, mem_pct FROM device WHERE time > now() - 10m GROUP BY device"
Tickets: '.venv/bin/python -m netqos tickets list', and the technician page:
  .venv/bin/python -m netqos tokens add me --role noc && .venv/bin/python -m netqos api   # http://127.0.0.1:8080/
The lab keeps running: '.venv/bin/python -m netqos lab down' and '.venv/bin/python -m lab.influxd stop var/influxdb'
stop it.
EOT
