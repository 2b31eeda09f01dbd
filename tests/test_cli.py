"""The ``netqos`` command line end to end: real snmpsim / snmpd agents, real processes for exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from netqos.cli import main
from tests.servers.snmpd import SnmpdAgent
from tests.servers.snmpsim import SnmpsimRecordings
from tests.test_collect_recordings import OPER, STEMS, key

ROOT = Path(__file__).resolve().parents[1]


def _json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("stem", STEMS)
def test_poll_once_json_has_every_expected_port(
    stem: str, snmpsim_recordings: SnmpsimRecordings, capsys: pytest.CaptureFixture[str]
) -> None:
    t = snmpsim_recordings
    code = main(["poll", "--once", "--target", f"{t.host}:{t.port}", "--community", stem,
                 "--format", "json", "--retries", "2"])
    out = capsys.readouterr().out
    assert code == 0
    samples = _json_lines(out)
    by_index = {s["tags"]["ifindex"]: s for s in samples if s["measurement"] == "interface"}
    device = [s for s in samples if s["measurement"] == "device"]
    assert len(device) == 1 and device[0]["fields"]["reachable"] == 1
    present = {s["tags"]["ifindex"] for s in samples if s["measurement"] == "interface"}
    expected_ports = key(stem)["ports"]
    checked = 0
    for port in expected_ports:
        idx = str(port["ifIndex"])
        if idx not in present:
            continue  # in LibreNMS's key but not in the (sparse) recording: the recording wins
        checked += 1
        s = by_index[idx]
        assert s["tags"]["ifname"] == port["ifName"]
        if port.get("ifOperStatus") in OPER:
            assert s["fields"]["oper_status"] == OPER[port["ifOperStatus"]]
        if "ifSpeed" in port:
            assert s["fields"]["speed_bps"] == port["ifSpeed"]
    assert checked >= 0.9 * len(expected_ports)
    for s in samples:
        assert s["time"].endswith("Z")


def test_poll_line_protocol_and_rates_over_two_polls(
    snmpsim_recordings: SnmpsimRecordings, capsys: pytest.CaptureFixture[str]
) -> None:
    t = snmpsim_recordings
    code = main(["poll", "--target", f"{t.host}:{t.port}", "--community", "vrp_ne",
                 "--job", "interfaces", "--count", "2", "--interval", "1"])
    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    assert all(line.startswith("interface,device=") for line in lines)
    first = [ln for ln in lines if " in_bps=" in ln or ",in_bps=" in ln]
    # rates only on the second poll: the recording's counters do not move, so they are exactly zero
    assert first, "the second poll gives rates"
    assert all("in_bps=0" in ln for ln in first)
    half = len(lines) // 2  # the same rows twice; only the second poll's can carry a rate
    assert not any(",in_bps=" in ln for ln in lines[:half])
    assert len(first) <= half


@pytest.mark.parametrize("user", ["v3_sha_aes", "v3_sha256_aes256"])
def test_poll_adhoc_snmpv3(user: str, snmpd_agent: SnmpdAgent, capsys: pytest.CaptureFixture[str]) -> None:
    tgt = snmpd_agent.target(user)
    code = main(["poll", "--once", "--target", f"{tgt.address}:{tgt.port}", "--v3-user", tgt.user,
                 "--auth-protocol", tgt.auth_protocol, "--auth-key", tgt.auth_key,
                 "--priv-protocol", tgt.priv_protocol, "--priv-key", tgt.priv_key,
                 "--format", "json", "--job", "system"])
    samples = _json_lines(capsys.readouterr().out)
    assert code == 0
    assert samples[0]["measurement"] == "device" and samples[0]["fields"]["reachable"] == 1


def test_poll_dead_device_is_reported_not_raised(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["poll", "--once", "--target", "127.0.0.1:9", "--community", "x", "--timeout", "0.3",
                 "--retries", "0", "--format", "json"])
    cap = capsys.readouterr()
    assert code == 1
    (dev,) = [s for s in _json_lines(cap.out) if s["measurement"] == "device"]
    assert dev["fields"] == {"reachable": 0}
    assert "job=system failed: timeout" in cap.err


BROKEN = [
    ("devices:\n  - name: [\n", "inventory.yaml:3:1: YAML syntax error"),
    ("regions: []\nsites: []\ndevices:\n  - name: r1\n    role: router\n    address: 10.0.0.999\n    site: s\n",
     "devices[0].address"),
]


@pytest.mark.parametrize(("text", "expected"), BROKEN)
def test_check_reports_mistakes_without_traceback(text: str, expected: str, tmp_path: Path) -> None:
    inv = tmp_path / "inventory.yaml"
    inv.write_text(text)
    proc = subprocess.run(
        [sys.executable, "-m", "netqos", "check", "--inventory", str(inv), "--config", str(ROOT / "config")],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ}, timeout=60,
    )
    assert proc.returncode == 2
    assert expected in proc.stderr
    assert "Traceback" not in proc.stderr


def test_check_shipped_configuration() -> None:
    proc = subprocess.run([sys.executable, "-m", "netqos", "check"], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "devices: 12" in proc.stdout and proc.stdout.rstrip().endswith("ok")
