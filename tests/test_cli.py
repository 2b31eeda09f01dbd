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
from tests.test_snmp_client import V6_COMMUNITY, snmpd_v6  # noqa: F401 (a fixture)

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


# --- usage errors: exit 2 with a clear message, before any packet is sent -------------------------------------


def _run(argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch | None = None,
         ) -> tuple[int, str, str]:  # fmt: skip
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own usage errors
        code = int(exc.code or 0)
    cap = capsys.readouterr()
    return code, cap.out, cap.err


ADHOC = ["poll", "--once", "--timeout", "0.3", "--retries", "0"]
USAGE_CASES = [
    ("port-too-big", ["--target", "127.0.0.1:99999", "--community", "x"], "the port must be a number from 1 to 65535"),
    ("port-zero", ["--target", "127.0.0.1:0", "--community", "x"], "from 1 to 65535, got '0'"),
    ("port-not-a-number", ["--target", "127.0.0.1:snmp", "--community", "x"], "from 1 to 65535, got 'snmp'"),
    ("bad-ipv4", ["--target", "10.0.0.256", "--community", "x"], "not an IP address or host name"),
    ("ipv6-unclosed", ["--target", "[::1:161", "--community", "x"], "write an IPv6 address as [ADDRESS]:PORT"),
    ("negative-timeout", ["--target", "127.0.0.1", "--community", "x", "--timeout", "-1"], "must be > 0, got -1"),
    ("zero-timeout", ["--target", "127.0.0.1", "--community", "x", "--timeout", "0"], "must be > 0, got 0"),
    ("negative-retries", ["--target", "127.0.0.1", "--community", "x", "--retries", "-2"], "must be >= 0"),
    ("zero-count", ["--target", "127.0.0.1", "--community", "x", "--count", "0"], "must be >= 1"),
    ("short-auth-key", ["--target", "127.0.0.1", "--v3-user", "u", "--auth-key", "short", "--priv-key", "long-enough"],
     "--auth-key: SNMPv3 auth key must be at least 8 characters"),
    ("short-priv-key",
     ["--target", "127.0.0.1", "--v3-user", "u", "--auth-key", "long-enough", "--priv-key", "1234567"],
     "--priv-key: SNMPv3 priv key must be at least 8 characters"),
    ("v3-without-priv", ["--target", "127.0.0.1", "--v3-user", "u", "--auth-key", "long-enough"],
     "needs an authentication and a privacy key"),
    ("no-credentials", ["--target", "127.0.0.1"], "--target needs --community"),
    ("unknown-priv-protocol", ["--target", "127.0.0.1", "--v3-user", "u", "--priv-protocol", "AES512"],
     "invalid choice: 'AES512'"),
    ("unknown-job", ["--target", "127.0.0.1", "--community", "x", "--job", "bogus"], "--job bogus: unknown job"),
    ("ssh-job", ["--target", "127.0.0.1", "--community", "x", "--job", "ssh_onu"], "an SSH job"),
    ("unknown-profile", ["--target", "127.0.0.1", "--community", "x", "--profile", "cisco_iosxx"], "unknown profile"),
    ("key-inline-and-file", ["--target", "127.0.0.1", "--v3-user", "u", "--auth-key", "long-enough",
                             "--auth-key-file", "/dev/null"], "not allowed with argument"),
    ("key-file-missing", ["--target", "127.0.0.1", "--v3-user", "u", "--auth-key-file", "/nonexistent/auth",
                          "--priv-key", "long-enough"], "--auth-key-file /nonexistent/auth: cannot read"),
    ("key-file-empty", ["--target", "127.0.0.1", "--v3-user", "u", "--auth-key-file", "/dev/null",
                        "--priv-key", "long-enough"], "--auth-key-file /dev/null: the file is empty"),
    ("key-env-unset", ["--target", "127.0.0.1", "--v3-user", "u", "--auth-key", "long-enough",
                       "--priv-key-env", "NETQOS_TEST_SURELY_UNSET"], "NETQOS_TEST_SURELY_UNSET: the environment"),
    ("target-and-device", ["--target", "127.0.0.1", "--community", "x", "--device", "core-sh-01"], "not both"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "argv", "message"), USAGE_CASES, ids=[c[0] for c in USAGE_CASES])
def test_poll_usage_errors_exit_2(case: str, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run([*ADHOC, *argv], capsys)
    assert code == 2, (out, err)
    assert message in err
    assert out == "" and "Traceback" not in err
    assert "long-enough" not in err  # a secret never echoed


# --- a small inventory + config dir of our own --------------------------------------------------------------

TREE_INVENTORY = """\
regions: [{name: east}]
sites: [{name: s1, region: east, class: urban}]
credentials:
  snmp:
    ro: {version: "2c", community: {env: NETQOS_TEST_COMMUNITY}}
devices:
  - {name: with-snmp, role: router, address: 127.0.0.1, port: PORT, snmp: ro, site: s1}
  - {name: no-snmp, role: router, address: 127.0.0.1, port: PORT, site: s1}
"""
TREE_SETTINGS = "influxdb: {api: v1, url: 'http://127.0.0.1:1'}\njobs:\n  system: {interval_s: 30, timeout_s: 5}\n"
CUSTOM_PROFILE = """\
name: site_custom
extends: [system]
groups:
  - name: site_info
    job: site_info
    kind: scalars
    measurement: device
    fields:
      sysname: {oid: 1.3.6.1.2.1.1.5.0, type: str}
"""


def _tree(root: Path, port: int, settings: str = TREE_SETTINGS, profile: bool = False) -> tuple[Path, Path]:
    inv = root / "inventory.yaml"
    inv.write_text(TREE_INVENTORY.replace("PORT", str(port)))
    cfg = root / "config"
    cfg.mkdir()
    (cfg / "netqos.yaml").write_text(settings)
    if profile:
        (cfg / "profiles").mkdir()
        (cfg / "profiles" / "site_custom.yaml").write_text(CUSTOM_PROFILE)
    return inv, cfg


DEVICE_CASES = [
    ("no-snmp-credentials", ["--device", "no-snmp"], 2, "device(s) no-snmp have no SNMP credentials"),
    ("unknown-device", ["--device", "nosuch"], 2, "unknown device(s) nosuch"),
    ("unknown-job", ["--device", "with-snmp", "--job", "interfacs"], 2, "--job interfacs: unknown job"),
    ("with-snmp", ["--device", "with-snmp", "--job", "system"], 0, ""),
    ("all-skips-no-snmp", ["--job", "system"], 0, ""),
]


@pytest.mark.parametrize(("case", "argv", "code", "message"), DEVICE_CASES, ids=[c[0] for c in DEVICE_CASES])
def test_poll_inventory_devices(
    case: str, argv: list[str], code: int, message: str, snmpd_agent: SnmpdAgent, tmp_path: Path,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("NETQOS_TEST_COMMUNITY", snmpd_agent.community)
    inv, cfg = _tree(tmp_path, snmpd_agent.port)
    got, out, err = _run(["poll", "--inventory", str(inv), "--config", str(cfg), "--format", "json", *argv], capsys)
    assert got == code, err
    assert message in err
    if code == 0:
        devices = [s["tags"]["device"] for s in _json_lines(out) if s["measurement"] == "device"]
        assert devices == ["with-snmp"]  # the device without credentials is not polled


CHECK_CASES = [
    ("misspelt-job", "  interfacs: {interval_s: 30}\n", "jobs.interfacs: unknown job 'interfacs'", 4),
    ("timeout-not-below-interval", "  interfaces: {interval_s: 30, timeout_s: 45}\n",
     "jobs.interfaces.timeout_s: timeout_s (45 s) should be less than interval_s (30 s)", -4),
    ("ssh-job-is-known", "  ssh_onu: {interval_s: 300, timeout_s: 120}\n", "", 0),
    ("profile-job-is-known", "  bgp: {interval_s: 30}\n", "", 0),
]  # fmt: skip


@pytest.mark.parametrize(("case", "extra", "message", "line"), CHECK_CASES, ids=[c[0] for c in CHECK_CASES])
def test_check_validates_job_names_and_timeouts(
    case: str, extra: str, message: str, line: int, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("NETQOS_TEST_COMMUNITY", "x")
    inv, cfg = _tree(tmp_path, 161, settings=TREE_SETTINGS + extra)
    code, out, err = _run(["check", "--inventory", str(inv), "--config", str(cfg)], capsys)
    if line < 0:  # a warning: check passes and says it
        assert code == 0 and f"warning: {cfg / 'netqos.yaml'}:{-line}:" in out and message in out, out
    elif message:
        assert code == 2 and f"{cfg / 'netqos.yaml'}:{line}:" in err and message in err, err
    else:
        assert code == 0 and out.rstrip().endswith("ok") and "warning" not in out, err


def test_target_uses_the_config_dirs_profiles(
    snmpd_agent: SnmpdAgent, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _inv, cfg = _tree(tmp_path, snmpd_agent.port, profile=True)
    base = ["poll", "--target", f"127.0.0.1:{snmpd_agent.port}", "--community", snmpd_agent.community,
            "--profile", "site_custom", "--job", "site_info", "--format", "json"]  # fmt: skip
    code, _out, err = _run(base, capsys)  # the default config/ has no such profile
    assert code == 2 and "unknown job" in err
    code, out, err = _run([*base, "--config", str(cfg)], capsys)
    assert code == 0, err
    (sample,) = _json_lines(out)
    assert sample["measurement"] == "device" and sample["fields"]["sysname"]


SECRET_CASES = [("inline", "inline"), ("file", "env"), ("env", "file")]


@pytest.mark.parametrize(("auth_from", "priv_from"), SECRET_CASES)
def test_v3_keys_from_file_or_env(
    auth_from: str, priv_from: str, snmpd_agent: SnmpdAgent, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    tgt = snmpd_agent.target("v3_sha256_aes256")
    argv = ["poll", "--target", f"{tgt.address}:{tgt.port}", "--v3-user", tgt.user, "--auth-protocol", "sha-256",
            "--priv-protocol", tgt.priv_protocol, "--job", "system", "--format", "json"]  # fmt: skip
    for option, value, source in (("auth-key", tgt.auth_key, auth_from), ("priv-key", tgt.priv_key, priv_from)):
        if source == "inline":
            argv += [f"--{option}", value]
        elif source == "file":
            path = tmp_path / option
            path.write_text(value + "\n")
            argv += [f"--{option}-file", str(path)]
        else:
            monkeypatch.setenv(f"NETQOS_TEST_{option.upper().replace('-', '_')}", value)
            argv += [f"--{option}-env", f"NETQOS_TEST_{option.upper().replace('-', '_')}"]
    code, out, err = _run(argv, capsys)
    assert code == 0, err
    (device,) = [s for s in _json_lines(out) if s["measurement"] == "device"]
    assert device["fields"]["reachable"] == 1


def test_wrong_key_from_file_fails_auth(snmpd_agent: SnmpdAgent, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    tgt = snmpd_agent.target("v3_sha_aes")
    (tmp_path / "auth").write_text("not-the-key\n")
    code, _out, err = _run(["poll", "--target", f"{tgt.address}:{tgt.port}", "--v3-user", tgt.user,
                            "--auth-key-file", str(tmp_path / "auth"), "--priv-key", tgt.priv_key, "--job", "system",
                            "--timeout", "0.5", "--retries", "0"], capsys)  # fmt: skip
    assert code == 1 and "failed: auth" in err


V6_TARGETS = ["::1", "[::1]:{port}", "0:0:0:0:0:0:0:1"]


@pytest.mark.parametrize("form", V6_TARGETS)
def test_poll_ipv6_target(form: str, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]) -> None:
    port: int = request.getfixturevalue("snmpd_v6")  # net-snmp on [::1] (tests/test_snmp_client.py)
    target = form.format(port=port) if "{port}" in form else form
    argv = ["poll", "--target", target, "--community", V6_COMMUNITY, "--job", "system", "--format", "json",
            "--timeout", "1"]  # fmt: skip
    if "{port}" not in form:  # a bare address means port 161, where nothing listens here
        code, out, err = _run([*argv, "--retries", "0", "--timeout", "0.3"], capsys)
        assert code == 1 and "timeout" in err
        return
    code, out, err = _run(argv, capsys)
    assert code == 0, err
    (device,) = _json_lines(out)
    assert device["tags"]["device"] == f"[::1]:{port}" and device["fields"]["reachable"] == 1


def test_lab_trap_offers_every_kind_the_lab_can_send() -> None:
    from lab.traps import KINDS
    from netqos.cli import build_parser

    parser = build_parser()
    for kind in KINDS:
        args = parser.parse_args(["lab", "trap", "olt-sh-pd-01", kind])
        assert args.kind == kind
    with pytest.raises(SystemExit):
        parser.parse_args(["lab", "trap", "olt-sh-pd-01", "noSuchKind"])
