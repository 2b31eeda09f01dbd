"""PysnmpClient against real agents (snmpsim serving recordings, net-snmp snmpd).

The reference is the net-snmp CLI (``snmpget`` / ``snmpbulkwalk -On``) asking the same agent, and the
recording files themselves; nothing expected is typed in by hand.
"""

from __future__ import annotations

import asyncio
import math
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from pysnmp.proto import rfc1905
from pysnmp.proto.rfc1902 import Integer32, ObjectName, OctetString

from collectors.model import SnmpError, SnmpValue, Target
from collectors.snmp.pysnmp_client import (
    ColumnWalk,
    PysnmpEngine,
    absorb_bulk_response,
    bulk_repetitions,
    is_ipv6,
)
from lab.snmpsim import SnmpsimError, SnmpsimProcess, free_udp_port
from tests.servers.snmpd import SnmpdAgent
from tests.servers.snmpsim import SnmpsimRecordings

IF_DESCR = "1.3.6.1.2.1.2.2.1.2"
IF_TYPE = "1.3.6.1.2.1.2.2.1.3"
IF_SPEED = "1.3.6.1.2.1.2.2.1.5"
IF_PHYS = "1.3.6.1.2.1.2.2.1.6"
IF_ADMIN = "1.3.6.1.2.1.2.2.1.7"
IF_OPER = "1.3.6.1.2.1.2.2.1.8"
IF_NAME = "1.3.6.1.2.1.31.1.1.1.1"
IF_HC_IN = "1.3.6.1.2.1.31.1.1.1.6"
IF_HC_OUT = "1.3.6.1.2.1.31.1.1.1.10"
IF_HIGH_SPEED = "1.3.6.1.2.1.31.1.1.1.15"
IF_ALIAS = "1.3.6.1.2.1.31.1.1.1.18"
SYS = "1.3.6.1.2.1.1"
IF_MIB_TABLE = (IF_DESCR, IF_TYPE, IF_SPEED, IF_PHYS, IF_ADMIN, IF_OPER, IF_NAME, IF_HC_IN, IF_HC_OUT,
                IF_HIGH_SPEED, IF_ALIAS)  # fmt: skip

CLI_TIMEOUT_S = 30


# ---- the references: net-snmp CLI and the recording files ----


def _cli_auth(t: Target) -> list[str]:
    if t.version == "2c":
        return ["-v2c", "-c", t.community]
    args = ["-v3", "-l", "authPriv", "-u", t.user, "-a", t.auth_protocol.replace("SHA2", "SHA-2")]
    args += ["-A", t.auth_key, "-x", t.priv_protocol.replace("AES1", "AES-1").replace("AES2", "AES-2")]
    args += ["-X", t.priv_key]
    return args + (["-n", t.context] if t.context else [])


def _parse_cli(text: str) -> dict[str, SnmpValue]:
    """``snmpbulkwalk -On -Oe -Ot -Ox`` output → ``{oid: value}`` in the contract's types."""
    records: list[str] = []
    for line in text.splitlines():
        if line.startswith(".") and " = " in line:
            records.append(line)
        elif records:
            records[-1] += " " + line  # a hex string wraps after 16 bytes
    out: dict[str, SnmpValue] = {}
    for record in records:
        oid, _, rest = record.partition(" = ")
        kind, sep, raw = rest.partition(": ")
        if not sep:
            if rest.startswith('""'):
                out[oid[1:]] = b""
            elif rest.strip().isdigit():  # Timeticks with -Ot
                out[oid[1:]] = int(rest)
            continue  # "No Such Object ...", "No more variables ..."
        if kind == "Hex-STRING":
            out[oid[1:]] = bytes.fromhex(raw)
        elif kind == "STRING":
            out[oid[1:]] = raw.strip().strip('"').encode()
        elif kind == "OID":
            out[oid[1:]] = raw.strip().lstrip(".")
        elif kind == "IpAddress":
            out[oid[1:]] = raw.strip()
        else:  # INTEGER, Counter32, Counter64, Gauge32, Timeticks
            out[oid[1:]] = int(raw.split()[0])
    return out


def cli_walk(t: Target, column: str) -> dict[str, SnmpValue]:
    args = [
        "snmpbulkwalk",
        *_cli_auth(t),
        "-On",
        "-Oe",
        "-Ot",
        "-Ox",
        "-Cr25",
        f"{t.address}:{t.port}",
        column,
    ]
    done = subprocess.run(args, capture_output=True, text=True, timeout=CLI_TIMEOUT_S, check=True)
    prefix = column + "."
    return {o[len(prefix) :]: v for o, v in _parse_cli(done.stdout).items() if o.startswith(prefix)}


def cli_get(t: Target, oids: list[str]) -> dict[str, SnmpValue]:
    args = ["snmpget", *_cli_auth(t), "-On", "-Oe", "-Ot", "-Ox", f"{t.address}:{t.port}", *oids]
    done = subprocess.run(args, capture_output=True, text=True, timeout=CLI_TIMEOUT_S, check=False)
    return _parse_cli(done.stdout)


def read_recording(path: Path) -> dict[str, tuple[str, str]]:
    """A ``.snmprec`` as ``{oid: (type, raw value)}``."""
    out: dict[str, tuple[str, str]] = {}
    for line in path.read_text(encoding="latin-1").splitlines():
        oid, kind, value = line.split("|", 2)
        out[oid] = (kind, value)
    return out


# ---- fixtures ----


@pytest.fixture(scope="session")
async def engine() -> AsyncIterator[PysnmpEngine]:
    async with PysnmpEngine() as eng:
        yield eng


def agent_target(request: pytest.FixtureRequest, agent: str) -> Target:
    """``snmpsim:<stem>``, ``snmpsim-v3:<stem>`` or ``snmpd:<target name>`` → a Target of a running agent."""
    kind, _, name = agent.partition(":")
    if kind.startswith("snmpsim"):
        sim: SnmpsimRecordings = request.getfixturevalue("snmpsim_recordings")
        return sim.target_v3(name) if kind == "snmpsim-v3" else sim.target(name)
    snmpd: SnmpdAgent = request.getfixturevalue("snmpd_agent")
    return snmpd.target(name)


# ---- get ----

GET_CASES = [
    ("snmpsim:iosxr_asr9904", [f"{SYS}.1.0", f"{SYS}.2.0", f"{SYS}.4.0"]),
    ("snmpsim:iosxr_asr9904", [f"{SYS}.1.0", f"{SYS}.3.0", f"{SYS}.99.0", f"{IF_DESCR}.999999"]),
    ("snmpsim:junos", [f"{SYS}.5.0", f"{IF_DESCR}.1", "1.3.6.1.9.9"]),
    ("snmpsim-v3:smartax", [f"{SYS}.1.0", f"{SYS}.2.0", f"{SYS}.77.0"]),
    ("snmpd:v2c", [f"{SYS}.1.0", f"{SYS}.2.0", f"{SYS}.4.0", f"{SYS}.5.0", f"{SYS}.99.0", f"{SYS}.1.1"]),
    ("snmpd:v3_sha_aes", [f"{SYS}.1.0", f"{SYS}.2.0", f"{SYS}.99.0"]),
    ("snmpd:v3_sha256_aes256", [f"{SYS}.1.0", f"{SYS}.5.0", f"{IF_DESCR}.1"]),
]


@pytest.mark.parametrize(("agent", "oids"), GET_CASES)
async def test_get_matches_cli(
    request: pytest.FixtureRequest, engine: PysnmpEngine, agent: str, oids: list[str]
) -> None:
    target = agent_target(request, agent)
    client = engine.client(target)
    got = await client.get(oids)
    expected = cli_get(target, oids)
    assert got == expected
    assert set(got) <= set(oids)
    assert client.varbinds == len(got)


# ---- walk ----

WALK_CASES = [
    ("snmpsim:iosxr_asr9904", IF_DESCR),
    ("snmpsim:iosxr_asr9904", IF_PHYS),  # MAC addresses: non-UTF-8 bytes
    ("snmpsim:iosxr_asr9904", IF_HC_IN),
    ("snmpsim:iosxr_asr9904", IF_ALIAS),
    ("snmpsim:smartax", IF_HC_IN),  # several GETBULK rounds
    ("snmpsim:junos", IF_HC_OUT),  # Counter64 beyond 2**32
    ("snmpsim:zxa10_c320", "1.3.6.1.2.1.1.9.1.2"),  # sysORID: OID values
    ("snmpsim:iosxr_asr9904", f"{IF_DESCR}9"),  # no such column (a sibling prefix must not match)
    ("snmpsim:iosxr_asr9904", "1.3.6.1.6.3.99"),  # past the recording's last OID: endOfMibView
    ("snmpsim-v3:vrp_ne", IF_NAME),
    ("snmpd:v2c", IF_DESCR),
    ("snmpd:v2c", IF_TYPE),
    ("snmpd:v2c", "1.3.6.1.2.1.4.20.1.1"),  # ipAdEntAddr: IpAddress values
    ("snmpd:v2c", "1.3.6.1.2.1.1.9.1.2"),  # sysORID
    ("snmpd:v2c", "1.3.6.1.2.1.25.2.3.1.3"),  # hrStorageDescr
    ("snmpd:v3_sha_aes", "1.3.6.1.2.1.1.9.1.3"),  # sysORDescr
    ("snmpd:v3_sha512_aes192", IF_DESCR),
    ("snmpd:v3_md5_des", IF_PHYS),
]


@pytest.mark.parametrize(("agent", "column"), WALK_CASES)
async def test_walk_matches_snmpbulkwalk(
    request: pytest.FixtureRequest, engine: PysnmpEngine, agent: str, column: str
) -> None:
    target = agent_target(request, agent)
    client = engine.client(target)
    got = await client.walk(column)
    assert got == cli_walk(target, column)
    assert client.varbinds == len(got)


@pytest.mark.parametrize(
    ("agent", "max_repetitions"),
    [
        ("snmpsim:iosxr_asr9904", 25),
        ("snmpsim:smartax", 10),
        ("snmpd:v2c", 3),
        ("snmpd:v3_sha256_aes256", 25),
    ],
)
async def test_walk_table_matches_column_walks(
    request: pytest.FixtureRequest, engine: PysnmpEngine, agent: str, max_repetitions: int
) -> None:
    target = replace(agent_target(request, agent), max_repetitions=max_repetitions)
    client = engine.client(target)
    got = await client.walk_table(IF_MIB_TABLE)
    expected = {column: cli_walk(target, column) for column in IF_MIB_TABLE}
    for column in (IF_HC_IN, IF_HC_OUT):  # snmpd's counters move between the two walks
        if agent.startswith("snmpd"):
            assert got[column].keys() == expected[column].keys()
            got[column] = expected[column]
    assert got == expected
    # one GETBULK carries all unfinished columns: fewer requests than walking column by column
    per_column = sum(math.ceil((len(rows) + 1) / max_repetitions) for rows in expected.values())
    assert client.stats.requests < per_column
    assert client.varbinds == sum(len(rows) for rows in expected.values())


async def test_walk_stops_at_row_cap(snmpsim_recordings: SnmpsimRecordings, engine: PysnmpEngine) -> None:
    target = snmpsim_recordings.target("smartax", max_repetitions=7)
    full = await engine.client(target).walk(IF_DESCR)
    capped = await engine.client(target, max_rows=10).walk(IF_DESCR)
    assert len(full) > 10
    assert list(capped.items()) == list(full.items())[:10]


# ---- values straight from the recordings ----


def _big_counter64(path: Path) -> list[tuple[str, int]]:
    return [(o, int(v)) for o, (k, v) in read_recording(path).items() if k == "70" and int(v) >= 2**32]


def _non_utf8_strings(path: Path) -> list[tuple[str, bytes]]:
    out = []
    for oid, (kind, value) in read_recording(path).items():
        if kind == "4x":
            raw = bytes.fromhex(value)
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                out.append((oid, raw))
    return out


@pytest.mark.parametrize("stem", ["junos", "zxa10_c320", "vrp_ar169sfp"])
async def test_counter64_round_trip(snmpsim_recordings: SnmpsimRecordings, engine: PysnmpEngine, stem: str) -> None:
    records = _big_counter64(snmpsim_recordings.recording(stem))[:20]
    assert records, f"{stem} has no Counter64 beyond 2**32"
    got = await engine.client(snmpsim_recordings.target(stem)).get([o for o, _ in records])
    assert got == dict(records)
    assert all(type(v) is int for v in got.values())


@pytest.mark.parametrize("stem", ["iosxr_asr9904", "ericsson-ml", "eltek-webpower"])
async def test_octetstring_non_utf8_is_bytes(
    snmpsim_recordings: SnmpsimRecordings, engine: PysnmpEngine, stem: str
) -> None:
    records = _non_utf8_strings(snmpsim_recordings.recording(stem))[:20]
    assert records, f"{stem} has no non-UTF-8 OctetString"
    got = await engine.client(snmpsim_recordings.target(stem)).get([o for o, _ in records])
    assert got == dict(records)


# ---- failures ----

ERROR_CASES = [
    ("snmpsim:iosxr_asr9904", {"community": "no-such-recording"}, "timeout"),
    ("snmpd:v2c", {"community": "wrong-community"}, "timeout"),
    ("snmpd:v3_sha_aes", {"auth_key": "wrong-auth-key"}, "auth"),
    ("snmpd:v3_sha256_aes256", {"auth_key": "wrong-auth-key-2"}, "auth"),
    ("snmpd:v3_sha_aes", {"user": "no_such_user"}, "auth"),
    ("snmpd:v3_sha_aes", {"auth_protocol": "SHA256"}, "auth"),
    ("snmpd:v3_sha_aes", {"port": 0}, "timeout"),  # port 0 → a closed port picked at run time
    ("snmpd:v3_sha_aes", {"priv_key": "wrong-priv-key"}, "timeout"),  # net-snmp drops what it cannot decrypt
    ("snmpd:v2c", {"address": "no-such-host.invalid"}, "unreachable"),  # RFC 2606: never resolves
]


@pytest.mark.parametrize(("agent", "change", "reason"), ERROR_CASES)
async def test_errors_have_reasons(
    request: pytest.FixtureRequest, engine: PysnmpEngine, agent: str, change: dict[str, object], reason: str
) -> None:
    if change.get("port") == 0:
        change = {**change, "port": free_udp_port()}
    target = replace(agent_target(request, agent), timeout_s=0.3, retries=1, **change)  # type: ignore[arg-type]
    client = engine.client(target)
    started = time.monotonic()
    with pytest.raises(SnmpError) as caught:
        await client.walk(IF_DESCR)
    elapsed = time.monotonic() - started
    assert caught.value.reason == reason, caught.value
    assert elapsed < target.timeout_s * (target.retries + 1) + 2.0  # + v3 discovery, a loaded machine
    assert client.varbinds == 0


# ---- the walk's bookkeeping, on hand-made responses (pure) ----


def _vb(oid: str, value: object) -> tuple[ObjectName, object]:
    return ObjectName(oid), value


ABSORB_CASES = [
    # (columns, response, max_rows, expected rows per column, still active)
    (["1.1"], [_vb("1.1.1", Integer32(5)), _vb("1.1.2", Integer32(6))], 100, [{"1": 5, "2": 6}], ["1.1"]),
    (["1.1"], [_vb("1.1.1", Integer32(5)), _vb("1.2.1", Integer32(6))], 100, [{"1": 5}], []),
    (["1.1"], [_vb("1.1.1", Integer32(5)), _vb("1.1.1", Integer32(5))], 100, [{"1": 5}], []),  # loop
    (["1.1"], [_vb("1.1.3", Integer32(5)), _vb("1.1.2", Integer32(5))], 100, [{"3": 5}], []),  # decreasing
    (["1.1"], [_vb("1.1.1", Integer32(5)), _vb("1.1.1", rfc1905.endOfMibView)], 100, [{"1": 5}], []),
    (["1.1"], [_vb("1.1.1", Integer32(1)), _vb("1.1.2", Integer32(2))], 1, [{"1": 1}], []),  # cap
    (["1.1"], [_vb("1.10.1", Integer32(1))], 100, [{}], []),  # sibling prefix
    (
        ["1.1", "1.2"],
        [
            _vb("1.1.1", OctetString(b"\xff")),
            _vb("1.2.1", Integer32(1)),
            _vb("1.2.1", Integer32(1)),
            _vb("1.2.2", Integer32(2)),  # column 1 ran out (ragged)
            _vb("1.2.2", Integer32(2)),
        ],
        100,
        [{"1": b"\xff"}, {"1": 1, "2": 2}],
        ["1.2"],
    ),
]


@pytest.mark.parametrize(("columns", "response", "max_rows", "rows", "active"), ABSORB_CASES)
def test_absorb_bulk_response(
    columns: list[str],
    response: list[tuple[ObjectName, object]],
    max_rows: int,
    rows: list[dict[str, SnmpValue]],
    active: list[str],
) -> None:
    walks = [ColumnWalk.of(c) for c in columns]
    still, kept = absorb_bulk_response(walks, response, max_rows, "test-device")
    assert [w.rows for w in walks] == rows
    assert [w.name for w in still] == active
    assert kept == sum(len(r) for r in rows)


@pytest.mark.parametrize(
    ("width", "max_repetitions", "budget", "expected"),
    [
        (1, 25, 64, 25),
        (1, 100, 64, 100),
        (2, 100, 64, 50),
        (11, 25, 64, 5),
        (41, 25, 64, 1),
        (100, 25, 64, 1),
        (2, 10, 64, 10),
    ],
)
def test_bulk_repetitions(width: int, max_repetitions: int, budget: int, expected: int) -> None:
    assert bulk_repetitions(width, max_repetitions, budget) == expected


# ---- the snmpsim launcher ----


@pytest.fixture
def private_dir() -> Iterator[Path]:
    """A 0700 directory under /tmp: unreadable for the unprivileged snmpsim child (forces staging as root)."""
    with tempfile.TemporaryDirectory(prefix="netqos-launcher-") as tmp:
        yield Path(tmp)


async def test_launcher_serves_moving_counters_and_cleans_up(engine: PysnmpEngine, private_dir: Path) -> None:
    data = private_dir / "data"
    data.mkdir(mode=0o700)
    (data / "dev1.snmprec").write_text(
        f"{SYS}.3.0|67:numeric|rate=100,initial=5000\n{IF_HC_IN}.1|70:numeric|rate=1000000,initial={2**40}\n"
    )
    port = free_udp_port()
    proc = SnmpsimProcess.start(
        data, [("127.0.0.1", port)], private_dir / "cache", private_dir / "snmpsim.log", variations=("numeric",)
    )
    try:
        ready_s = proc.wait_ready("dev1", timeout_s=30)
        assert 0 < ready_s < 30
        client = engine.client(Target("dev1", "127.0.0.1", port, community="dev1", timeout_s=2.0))
        first = await client.get([f"{SYS}.3.0", f"{IF_HC_IN}.1"])
        await asyncio.sleep(1.1)
        second = await client.get([f"{SYS}.3.0", f"{IF_HC_IN}.1"])
        assert first.keys() == second.keys() == {f"{SYS}.3.0", f"{IF_HC_IN}.1"}
        for oid, later in second.items():
            earlier = first[oid]
            assert isinstance(later, int) and isinstance(earlier, int)
            assert later > earlier
        assert second[f"{IF_HC_IN}.1"] >= 2**40  # type: ignore[operator]
    finally:
        staged = proc._staged_dir
        proc.stop()
    assert not proc.running
    assert staged is not None and not staged.exists()
    assert proc.stop() == proc.stop()  # idempotent


def test_launcher_refuses_a_busy_port(private_dir: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy:
        busy.bind(("127.0.0.1", 0))
        port = busy.getsockname()[1]
        with pytest.raises(SnmpsimError, match="cannot listen"):
            SnmpsimProcess.start(private_dir, [("127.0.0.1", port)], private_dir / "cache", private_dir / "log")


def test_launcher_reports_an_exited_process(private_dir: Path) -> None:
    port = free_udp_port()
    proc = SnmpsimProcess.start(
        private_dir, [("127.0.0.1", port)], private_dir / "cache", private_dir / "log",
        extra_args=["--v3-user=x", "--v3-auth-proto=NOPE"],
    )  # fmt: skip
    started = time.monotonic()
    try:
        with pytest.raises(SnmpsimError, match="exited"):
            proc.wait_ready("anything", timeout_s=30)
    finally:
        proc.stop()
    assert time.monotonic() - started < 15


# ---- IPv6 (net-snmp snmpd on ::1) and Cisco's AES-192/256 key extension (snmpsim) ----

V6_COMMUNITY = "netqos-v6"
V6_USER = ("v6_sha_aes", "authpass-v6-1", "privpass-v6-1")


def _free_udp6_port() -> int:
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
        s.bind(("::1", 0))
        port: int = s.getsockname()[1]
        return port


def _v6_answers(port: int) -> bool:
    done = subprocess.run(
        ["snmpget", "-v2c", "-c", V6_COMMUNITY, "-t", "0.2", "-r", "0", f"udp6:[::1]:{port}", f"{SYS}.5.0"],
        capture_output=True, text=True, timeout=CLI_TIMEOUT_S, check=False, env={"MIBS": ""},
    )  # fmt: skip
    return done.returncode == 0


@pytest.fixture(scope="module")
def snmpd_v6() -> Iterator[int]:
    """net-snmp snmpd listening on UDP [::1] only (v2c + one v3 authPriv user); yields its port."""
    user, auth, priv = V6_USER
    with tempfile.TemporaryDirectory(prefix="netqos-snmpd6-") as tmp:
        root = Path(tmp)
        (root / "var").mkdir()
        port = _free_udp6_port()
        (root / "snmpd.conf").write_text(
            f"agentAddress udp6:[::1]:{port}\nrocommunity6 {V6_COMMUNITY} ::1\n"
            f'createUser {user} SHA "{auth}" AES "{priv}"\nrouser {user} priv\n'
        )
        proc = subprocess.Popen(
            ["/usr/sbin/snmpd", "-f", "-C", "-c", str(root / "snmpd.conf"), "-Lf", str(root / "log"),
             "-p", str(root / "pid")],
            env={"SNMP_PERSISTENT_DIR": str(root / "var"), "MIBS": ""},
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 15
            while not _v6_answers(port):
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"snmpd on [::1]:{port} did not start: {(root / 'log').read_text(errors='replace')}")
                time.sleep(0.1)
            yield port
        finally:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


V6_CASES = [("::1", "2c"), ("::1", "3"), ("[::1]", "2c"), ("0:0:0:0:0:0:0:1", "3")]


@pytest.mark.parametrize(("address", "version"), V6_CASES)
async def test_ipv6_target_gets_and_walks(snmpd_v6: int, engine: PysnmpEngine, address: str, version: str) -> None:
    user, auth, priv = V6_USER
    target = (
        Target("v6", address, snmpd_v6, community=V6_COMMUNITY, timeout_s=2.0)
        if version == "2c"
        else Target("v6", address, snmpd_v6, version="3", user=user, auth_protocol="SHA", auth_key=auth,
                    priv_protocol="AES", priv_key=priv, timeout_s=2.0)
    )
    client = engine.client(target)
    got = await client.get([f"{SYS}.5.0", f"{SYS}.3.0"])
    assert set(got) == {f"{SYS}.5.0", f"{SYS}.3.0"} and got[f"{SYS}.5.0"] == socket.gethostname().encode()
    descr = await client.walk(IF_DESCR)
    assert b"lo" in descr.values()  # the agent's own loopback interface


def test_is_ipv6() -> None:
    cases = {"::1": True, "[::1]": True, "2001:db8::7": True, "127.0.0.1": False, "router-1.example": False,
             "::ffff:10.0.0.1": True, "": False}  # fmt: skip
    assert {a: is_ipv6(a) for a in cases} == cases


ASR9904 = Path(__file__).resolve().parents[1] / "lab" / "devices" / "iosxr_asr9904.snmprec"
CISCO_AES = [("AES192C", "AES192"), ("AES256C", "AES256")]
"""Our name → snmpsim's name of the same protocol (snmpsim's ``AES192``/``AES256`` are pysnmp's Reeder/Cisco
key extension; its Blumenthal ones are ``AES192BLMT``/``AES256BLMT``)."""


@pytest.fixture(scope="module")
def snmpsim_cisco_aes() -> Iterator[int]:
    """snmpsim serving ``iosxr_asr9904`` with one v3 user per Cisco AES variant; yields its port."""
    with tempfile.TemporaryDirectory(prefix="netqos-ciscoaes-") as tmp:
        root = Path(tmp)
        data = root / "data"
        data.mkdir()
        (data / "iosxr_asr9904.snmprec").write_bytes(ASR9904.read_bytes())
        port = free_udp_port()
        extra = [
            arg
            for ours, theirs in CISCO_AES
            for arg in (f"--v3-user=u{ours.lower()}", "--v3-auth-key=authpass-cisco", "--v3-auth-proto=SHA",
                        "--v3-priv-key=privpass-cisco", f"--v3-priv-proto={theirs}")
        ]  # fmt: skip
        proc = SnmpsimProcess.start(data, [("127.0.0.1", port)], root / "cache", root / "log", extra_args=extra)
        try:
            proc.wait_ready("iosxr_asr9904", timeout_s=30)
            yield port
        finally:
            proc.stop()


@pytest.mark.parametrize(("priv", "wrong"), [(p, w) for p, _ in CISCO_AES for w in (False, True)])
async def test_cisco_aes_key_extension(snmpsim_cisco_aes: int, engine: PysnmpEngine, priv: str, wrong: bool) -> None:
    # the Blumenthal variant of the same key length must NOT decrypt: the two extensions really differ
    used = priv.removesuffix("C") if wrong else priv
    target = Target(
        "cisco", "127.0.0.1", snmpsim_cisco_aes, version="3", user=f"u{priv.lower()}", auth_protocol="SHA",
        auth_key="authpass-cisco",
        priv_protocol=used, priv_key="privpass-cisco", context="iosxr_asr9904", timeout_s=1.0, retries=0,
    )  # fmt: skip
    client = engine.client(target)
    if wrong:
        with pytest.raises(SnmpError):
            await client.get([f"{SYS}.1.0"])
    else:
        got = await client.get([f"{SYS}.1.0"])
        kind, raw = read_recording(ASR9904)[f"{SYS}.1.0"]
        assert kind == "4x" and got[f"{SYS}.1.0"] == bytes.fromhex(raw)
