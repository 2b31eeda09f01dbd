#!/usr/bin/env bash
# The netqos polling benchmark: netqos vs the net-snmp CLI vs prometheus-snmp-exporter on a simulated fleet.
#   scripts/bench.sh            # 200 agents x 48 interfaces, 3 interleaved rounds (a few minutes)
#   scripts/bench.sh --quick    # 50 agents, 1 round (smoke run)
#   scripts/bench.sh --help     # every option
# Needs root (a network namespace holds the agents) and scripts/setup.sh run once.
# Prints a table; writes var/bench/latest.json. See bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
NETNS=netqos-bench
[ -x .venv/bin/python ] || { echo "bench: .venv missing: run scripts/setup.sh first" >&2; exit 2; }
for tool in snmpd snmpget snmpbulkwalk prometheus-snmp-exporter curl ip; do
  command -v "$tool" >/dev/null || { echo "bench: $tool missing: run scripts/setup.sh first" >&2; exit 2; }
done
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"

# Belt and braces: the Python side removes the namespace itself; this catches a hard kill of it.
cleanup() {
  if $SUDO ip netns pids "$NETNS" >/dev/null 2>&1; then
    for pid in $($SUDO ip netns pids "$NETNS"); do $SUDO kill "$pid" 2>/dev/null || true; done
    $SUDO ip netns del "$NETNS" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

$SUDO .venv/bin/python -m bench.poll_fleet "$@"
