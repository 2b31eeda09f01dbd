#!/usr/bin/env bash
# Install everything netqos needs on a fresh Debian 12 machine: apt packages, the venv, pip packages.
# Idempotent: a second run only checks. Used by scripts/demo.sh and scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(influxdb snmpd snmp victoria-metrics prometheus-snmp-exporter python3-venv iproute2 time postgresql chromium
              openssh-server)  # openssh-server: sshd started by hand by the SSH tests
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing apt packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # the packages' own services are not used: netqos starts its servers on loopback itself
  for svc in influxdb snmpd victoria-metrics prometheus-snmp-exporter; do
    $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true
  done
fi

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $($PY --version)"
  "$PY" -m venv .venv
fi
stamp=.venv/.netqos-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: pip install -e '.[lab,dev]'"
  .venv/bin/pip install -q -e '.[lab,dev]'
  touch "$stamp"
fi

# fakenos (the lab's SSH OLT) pins paramiko<=4: it lives in its own venv, never in .venv
if [ ! -x .venv-fakenos/bin/python ]; then
  echo "setup: creating .venv-fakenos for fakenos"
  "$PY" -m venv .venv-fakenos
fi
if [ ! -f .venv-fakenos/.netqos-installed ]; then
  .venv-fakenos/bin/pip install -q "fakenos>=1.2.1,<2"
  touch .venv-fakenos/.netqos-installed
fi
