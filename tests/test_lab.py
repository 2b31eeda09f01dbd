"""The lab: live recordings and fault topology (pure), and real snmpsim devices polled with net-snmp."""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import io
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import snmpsim
from snmpsim.grammar.snmprec import SnmprecGrammar

from config.models import Inventory
from lab.network import LAB_RECORDINGS, LabConfigError, lab_devices
from lab.recordings import (
    SYS_UPTIME,
    PortRates,
    Record,
    live_recording,
    parse,
    port_rates,
    render,
    transform,
)
from lab.runner import LabPaths, down, fault, isolated_by, run_command, status, unreachable, up
from lab.snmpsim import free_udp_port
from tests.servers.snmpsim import DEVICES_DIR

EPOCH = 1_790_000_000
HC_IN = "1.3.6.1.2.1.31.1.1.1.6"
HC_OUT = "1.3.6.1.2.1.31.1.1.1.10"
IF_IN = "1.3.6.1.2.1.2.2.1.10"
IF_IN_ERRORS = "1.3.6.1.2.1.2.2.1.14"


# --- evaluating a record as snmpsim does, at a given time -----------------------------------------------


@functools.cache
def snmpsim_numeric() -> Any:
    """snmpsim's ``numeric`` variation module (a plain file that snmpsim loads by path, as here)."""
    path = Path(snmpsim.__file__).parent / "variation" / "numeric.py"
    spec = importlib.util.spec_from_file_location("snmpsim_numeric_variation", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def served(record: Record, now: float) -> int:
    """The value snmpsim 1.2.2 serves for ``record`` at wall-clock time ``now``: its own ``numeric`` module
    (clock injected) and its own type constructors (which reject out-of-range values)."""
    tag, _, variation = record.tag.partition(":")
    value: Any = record.value
    if variation:
        assert variation == "numeric"
        numeric = snmpsim_numeric()
        saved = numeric.time
        numeric.recordContext = {}  # a fresh context = a freshly started snmpsim
        numeric.moduleContext = {}
        numeric.time = SimpleNamespace(time=lambda: now)
        try:
            ctx = {"nextFlag": False, "exactMatch": True, "setFlag": False, "origOid": record.oid}
            _, _, value = numeric.variate(record.oid, tag, record.value, errorStatus=None, **ctx)
        finally:
            numeric.time = saved
    return int(SnmprecGrammar.TAG_MAP[tag](value))


def port_rows(
    index: int, *, oper: int = 1, high_mbps: int | None = 1000, speed: int | None = None, if_type: int = 6
) -> list[str]:
    rows = [f"1.3.6.1.2.1.2.2.1.3.{index}|2|{if_type}"]
    if speed is not None:
        rows.append(f"1.3.6.1.2.1.2.2.1.5.{index}|66|{speed}")
    rows += [
        f"1.3.6.1.2.1.2.2.1.8.{index}|2|{oper}",
        f"{IF_IN}.{index}|65|123456",
        f"{IF_IN_ERRORS}.{index}|65|7",
        f"{HC_IN}.{index}|70|9876543210",
        f"{HC_OUT}.{index}|70|5",
    ]
    if high_mbps is not None:
        rows.append(f"1.3.6.1.2.1.31.1.1.1.15.{index}|66|{high_mbps}")
    return rows


def recording(*rows: str, uptime: str | None = "67|4200") -> list[Record]:
    base = ["1.3.6.1.2.1.1.1.0|4|lab box"] + ([f"{SYS_UPTIME}|{uptime}"] if uptime else [])
    records = parse("\n".join([*base, "1.3.6.1.2.1.1.5.0|4|box", *rows]) + "\n")
    return sorted(records, key=lambda r: r.key)


def by_oid(records: Sequence[Record]) -> dict[str, Record]:
    return {r.oid: r for r in records}


# --- transformation (pure) -----------------------------------------------------------------------------

PORT_CASES = [
    # (case, rows, moves): whether port 1's octet counters advance
    ("up 1G by ifHighSpeed", port_rows(1), True),
    ("up, ifSpeed only", port_rows(1, high_mbps=None, speed=100_000_000), True),
    ("down", port_rows(1, oper=2), False),
    ("lowerLayerDown", port_rows(1, oper=7), False),
    ("software loopback", port_rows(1, if_type=24), False),
    ("no speed at all", port_rows(1, high_mbps=None), False),
    ("zero speed", port_rows(1, high_mbps=0, speed=0), False),
]


@pytest.mark.parametrize(("case", "rows", "moves"), PORT_CASES, ids=[c[0] for c in PORT_CASES])
def test_only_up_ports_with_a_speed_move(case: str, rows: list[str], moves: bool) -> None:
    records = recording(*rows)
    live = by_oid(transform(records, "dev-a", EPOCH))
    for oid in (f"{HC_IN}.1", f"{IF_IN}.1"):
        a, b = served(live[oid], EPOCH + 10), served(live[oid], EPOCH + 70)
        assert (b != a) is moves, (case, oid, a, b)
    if not moves:
        assert render(r for r in live.values() if r.oid != SYS_UPTIME) == render(
            r for r in records if r.oid != SYS_UPTIME
        )


SPEED_CASES = [
    # (ifHighSpeed Mbit/s, ifSpeed bit/s, the speed the rates must follow)
    (1000, None, 1_000_000_000),
    (10000, 4294967295, 10_000_000_000),
    (None, 100_000_000, 100_000_000),
    (None, 4294967295, 4294967295),
    (100000, None, 100_000_000_000),
]


@pytest.mark.parametrize(("high", "speed", "expected_bps"), SPEED_CASES)
def test_octet_rates_follow_the_port_speed_at_10_to_60_percent(
    high: int | None, speed: int | None, expected_bps: int
) -> None:
    records = recording(*port_rows(1, high_mbps=high, speed=speed))
    rates = port_rates(records, "dev-a")[1]
    assert rates.speed_bps == expected_bps
    live = by_oid(transform(records, "dev-a", EPOCH))
    for oid, counter in ((f"{HC_IN}.1", "in_octets"), (f"{HC_OUT}.1", "out_octets")):
        delta = served(live[oid], EPOCH + 3600 + 60) - served(live[oid], EPOCH + 3600)
        bps = delta * 8 / 60
        assert 0.10 * expected_bps * 0.999 <= bps <= 0.60 * expected_bps * 1.001, (oid, bps)
        assert bps == pytest.approx(rates.rate(counter) * 8, rel=1e-4)


@pytest.mark.parametrize("elapsed", [0.0, 1.0, 59.5, 3600.0, 86400.0 * 30, 86400.0 * 365 * 3])
def test_hc_counter_is_recorded_value_plus_rate_times_time_since_epoch(elapsed: float) -> None:
    records = recording(*port_rows(1))
    rate = port_rates(records, "dev-a")[1].rate("in_octets")
    live = by_oid(transform(records, "dev-a", EPOCH))
    start = served(live[f"{HC_IN}.1"], EPOCH)
    assert 9876543210 <= start < 9876543210 + 2**32  # at most one 32-bit phase above the recording
    assert served(live[f"{HC_IN}.1"], EPOCH + elapsed) == pytest.approx(start + rate * elapsed, abs=4096)


@pytest.mark.parametrize("t", [EPOCH + 5.25, EPOCH + 1234.5, EPOCH + 86400 * 7 + 0.125])
def test_32_bit_octets_equal_hc_modulo_2_32(t: float) -> None:
    live = by_oid(transform(recording(*port_rows(1, high_mbps=10000)), "dev-a", EPOCH))
    assert served(live[f"{IF_IN}.1"], t) == pytest.approx(served(live[f"{HC_IN}.1"], t) % 2**32, abs=4096)


@pytest.mark.parametrize("speed_mbps", [100, 1000, 10000, 100000])
def test_32_bit_counter_wraps_at_2_32(speed_mbps: int) -> None:
    """Sampled across many wraps: always in range, and the delta modulo 2^32 is exactly rate x dt."""
    records = recording(*port_rows(1, high_mbps=speed_mbps))
    rate = port_rates(records, "dev-a")[1].rate("in_octets")
    live = by_oid(transform(records, "dev-a", EPOCH))[f"{IF_IN}.1"]
    step = 2**32 / rate / 7.3  # about 7 samples per wrap
    wraps = 0
    previous = served(live, EPOCH)
    for i in range(1, 60):
        value = served(live, EPOCH + i * step)
        assert 0 <= value < 2**32
        wraps += value < previous
        assert (value - previous) % 2**32 == pytest.approx(rate * step, abs=4096)
        previous = value
    assert wraps >= 7


def test_snmpsim_numeric_wrap_is_off_by_one_for_counter32() -> None:
    """Why 32-bit counters use fmod: snmpsim's own ``wrap`` reduces modulo max = 2^32 - 1 (not 2^32), and
    with max=2^32 a value of exactly 2^32 is out of range. A Counter64 wrap with the default max is right."""
    assert served(Record("1.3.6.1.2.1.2.2.1.10.1", "65:numeric", "rate=0,wrap=1,initial=4294967300"), 0) == 5
    with pytest.raises(Exception, match="ValueRangeConstraint"):
        served(
            Record("1.3.6.1.2.1.2.2.1.10.1", "65:numeric", "rate=0,wrap=1,max=4294967296,initial=4294967296"),
            0,
        )
    fmod = "function=fmod%4294967300%4294967296,rate=0"
    assert served(Record("1.3.6.1.2.1.2.2.1.10.1", "65:numeric", fmod), 0) == 4
    hc = "rate=0,wrap=1,initial=18446744073709559808"  # 2^64 + 8192
    assert served(Record(f"{HC_IN}.1", "70:numeric", hc), 0) == 8192


def test_hc_counter_near_2_64_is_moved_away_from_the_wrap() -> None:
    records = [
        r if r.oid != f"{HC_IN}.1" else Record(r.oid, r.tag, str(2**64 - 1000))
        for r in recording(*port_rows(1, high_mbps=100000))
    ]
    live = by_oid(transform(records, "dev-a", EPOCH))[f"{HC_IN}.1"]
    values = [served(live, EPOCH + d) for d in (0, 86400.0 * 365, 86400.0 * 365 * 9)]
    assert values == sorted(values)


def test_errors_advance_a_few_per_minute_from_the_recorded_value() -> None:
    rows = [row for i in range(1, 41) for row in port_rows(i)]
    records = recording(*rows)
    live = by_oid(transform(records, "dev-a", EPOCH))
    counting = {i for i in range(1, 41) if served(live[f"{IF_IN_ERRORS}.{i}"], EPOCH + 3600) != 7}
    assert 1 <= len(counting) <= 15  # a few ports out of 40
    for i in counting:
        assert served(live[f"{IF_IN_ERRORS}.{i}"], EPOCH) == 7
        per_min = (served(live[f"{IF_IN_ERRORS}.{i}"], EPOCH + 3600) - 7) / 60
        assert 1 - 0.02 <= per_min <= 5 + 0.02


UPTIME_CASES = [
    # (case, recorded sysUpTime "TAG|VALUE" or None, expected tag, expected ticks at the epoch or None)
    ("timeticks", "67|4200", "67", 4200),
    ("integer-typed (ceraos)", "2|1669123", "2", 1669123),
    ("too close to the 2^32 wrap", "67|4000000000", "67", 4000000000 % 2**31),
    ("missing: added", None, "67", None),
]


@pytest.mark.parametrize(("case", "recorded", "tag", "at_epoch"), UPTIME_CASES, ids=[c[0] for c in UPTIME_CASES])
def test_sysuptime_counts_100_ticks_a_second_from_the_epoch(
    case: str, recorded: str | None, tag: str, at_epoch: int | None
) -> None:
    out = transform(recording(*port_rows(1), uptime=recorded), "dev-a", EPOCH)
    assert [r.key for r in out] == sorted(r.key for r in out), "records stay in OID order"
    uptime = by_oid(out)[SYS_UPTIME]
    assert uptime.tag == f"{tag}:numeric"
    start = served(uptime, EPOCH)
    if at_epoch is not None:
        assert start == at_epoch
    else:
        assert 86400 * 100 <= start <= 60 * 86400 * 100
    for dt in (0.5, 60.0, 86400.0 * 200):
        assert served(uptime, EPOCH + dt) == pytest.approx(start + 100 * dt, abs=1)


def test_transformation_is_deterministic_per_device_and_epoch() -> None:
    text = render(recording(*port_rows(1), *port_rows(2)))
    assert live_recording(text, "dev-a", EPOCH) == live_recording(text, "dev-a", EPOCH)
    assert live_recording(text, "dev-a", EPOCH) != live_recording(text, "dev-b", EPOCH)
    assert port_rates(parse(text), "dev-a")[1] != port_rates(parse(text), "dev-a")[2]


def test_a_restart_continues_where_the_counters_were() -> None:
    """Values depend on wall-clock time only: a fresh snmpsim (fresh variation context) at a later time
    serves more, never less, and a regenerated file with the same epoch is identical."""
    records = recording(*port_rows(1))
    first = by_oid(transform(records, "dev-a", EPOCH))
    again = by_oid(transform(records, "dev-a", EPOCH))
    assert first == again
    t = EPOCH + 5000.0
    for oid in (f"{HC_IN}.1", SYS_UPTIME):
        assert served(again[oid], t + 1) > served(first[oid], t)


LAB_STEMS = sorted({stem for _, stem in LAB_RECORDINGS})


@pytest.mark.parametrize("stem", LAB_STEMS)
def test_real_recordings_transform_cleanly(stem: str) -> None:
    """Each lab recording: every untouched line is byte-identical, every live one is servable now and later,
    counters only ever grow (mod their width) and the type tags are kept."""
    text = (DEVICES_DIR / f"{stem}.snmprec").read_text(encoding="iso-8859-1")
    original = parse(text)
    live = transform(original, f"lab-{stem}", EPOCH)
    changed = {r.oid: r for r in live if r.tag.endswith(":numeric")}
    assert SYS_UPTIME in changed
    assert [r.oid for r in live if r.oid != SYS_UPTIME] == [r.oid for r in original if r.oid != SYS_UPTIME]
    for before, after in zip(
        (r for r in original if r.oid != SYS_UPTIME),
        (r for r in live if r.oid != SYS_UPTIME),
        strict=True,
    ):
        if before.oid not in changed:
            assert after == before
        else:
            assert after.tag == f"{before.tag}:numeric"
    for r in changed.values():
        width = 2**64 if r.tag.startswith("70") else 2**32
        a, b = served(r, EPOCH + 100), served(r, EPOCH + 100.25)  # < half a 32-bit wrap at 100G
        assert (b - a) % width < width // 2, r.oid  # never backwards
        assert served(r, EPOCH + 700) != a, r.oid  # and it does move


# --- network table ------------------------------------------------------------------------------------


def inventory(upstreams: Mapping[str, Sequence[str]], ports: Mapping[str, int] | None = None) -> Inventory:
    """An inventory of lab devices with the given upstream topology (all at 127.0.0.1)."""
    ports = ports or {}
    return Inventory.model_validate(
        {
            "regions": [{"name": "sh"}],
            "sites": [{"name": "sh-lab", "region": "sh", "class": "urban"}],
            "devices": [
                {
                    "name": name,
                    "role": "router",
                    "address": "127.0.0.1",
                    "port": ports.get(name, 20160 + i),
                    "site": "sh-lab",
                    "upstream": list(up),
                }
                for i, (name, up) in enumerate(upstreams.items())
            ],
        }
    )


LAB_TOPOLOGY: dict[str, list[str]] = {
    "core-sh-01": [],
    "agg-sh-pd-01": ["core-sh-01"],
    "agg-sh-mh-01": ["core-sh-01"],
    "dist-sh-01": ["agg-sh-pd-01", "agg-sh-mh-01"],
    "olt-sh-pd-01": ["agg-sh-pd-01"],
    "olt-sh-mh-01": ["agg-sh-mh-01"],
    "ent-sh-pd-01": ["dist-sh-01"],
    "csr-sh-pd-101": ["agg-sh-pd-01"],
    "mw-sh-pd-101a": ["csr-sh-pd-101"],
    "pwr-sh-pd-101": ["csr-sh-pd-101"],
    "csr-sh-cm-201": ["agg-sh-mh-01"],
    "mw-sh-cm-201a": ["csr-sh-cm-201"],
}


def test_lab_devices_take_ports_from_the_inventory_and_the_recording_from_the_table() -> None:
    inv = inventory(LAB_TOPOLOGY)
    devices = lab_devices(inv)
    assert [d.name for d in devices] == [name for name, _ in LAB_RECORDINGS]
    assert {d.name: d.port for d in devices} == {d.name: d.port for d in inv.devices}
    assert dict((d.name, d.recording) for d in devices)["csr-sh-cm-201"] == "iosxe_asr920"
    assert lab_devices(inv, ports={"core-sh-01": 40000})[0].port == 40000
    assert [d.name for d in lab_devices(inventory({"core-sh-01": [], "other": []}))] == ["core-sh-01"]
    with pytest.raises(LabConfigError, match="both listen"):
        lab_devices(inv, ports={"core-sh-01": 40000, "junk": 1, "agg-sh-pd-01": 40000})


# --- topology (pure) ----------------------------------------------------------------------------------

ISOLATION_CASES = [
    ("core-sh-01", set(LAB_TOPOLOGY) - {"core-sh-01"}),
    (
        "agg-sh-pd-01",
        {"olt-sh-pd-01", "csr-sh-pd-101", "mw-sh-pd-101a", "pwr-sh-pd-101"},
    ),  # dist-sh-01 is dual-homed
    ("agg-sh-mh-01", {"olt-sh-mh-01", "csr-sh-cm-201", "mw-sh-cm-201a"}),
    ("dist-sh-01", {"ent-sh-pd-01"}),
    ("csr-sh-pd-101", {"mw-sh-pd-101a", "pwr-sh-pd-101"}),
    ("mw-sh-pd-101a", set()),
]


@pytest.mark.parametrize(("device", "expected"), ISOLATION_CASES, ids=[c[0] for c in ISOLATION_CASES])
def test_isolated_by(device: str, expected: set[str]) -> None:
    assert isolated_by(inventory(LAB_TOPOLOGY), device) == expected


UNREACHABLE_CASES = [
    (set(), set()),
    ({"agg-sh-pd-01"}, {"agg-sh-pd-01", "olt-sh-pd-01", "csr-sh-pd-101", "mw-sh-pd-101a", "pwr-sh-pd-101"}),
    (
        {"agg-sh-pd-01", "agg-sh-mh-01"},  # both aggregations: the dual-homed dist-sh-01 goes too
        set(LAB_TOPOLOGY) - {"core-sh-01"},
    ),
    ({"mw-sh-pd-101a", "csr-sh-cm-201"}, {"mw-sh-pd-101a", "csr-sh-cm-201", "mw-sh-cm-201a"}),
]


@pytest.mark.parametrize(("down_set", "expected"), UNREACHABLE_CASES)
def test_unreachable_with_several_devices_down(down_set: set[str], expected: set[str]) -> None:
    assert unreachable(inventory(LAB_TOPOLOGY), down_set) == expected


def test_isolated_by_ignores_devices_already_cut_off_and_rejects_unknown_names() -> None:
    cyclic = inventory({"root": [], "a": ["root"], "b": ["c"], "c": ["b"], "d": ["a"]})
    assert isolated_by(cyclic, "a") == {"d"}
    with pytest.raises(KeyError):
        isolated_by(cyclic, "nope")


SHIPPED_CASES = [
    # the shipped inventory.yaml: (devices taken down, lab devices that must go silent)
    ({"agg-sh-pd-01"}, {"agg-sh-pd-01", "olt-sh-pd-01", "mw-sh-pd-101a", "csr-sh-pd-101", "pwr-sh-pd-101"}),
    ({"agg-sh-mh-01"}, {"agg-sh-mh-01", "olt-sh-mh-01", "mw-sh-cm-201a", "csr-sh-cm-201"}),
    (
        {"agg-sh-pd-01", "agg-sh-mh-01"},
        set(LAB_TOPOLOGY) - {"core-sh-01"},  # dual-homed dist-sh-01 (and the CPE behind it) go too
    ),
    ({"mw-sh-pd-101a"}, {"mw-sh-pd-101a", "csr-sh-pd-101", "pwr-sh-pd-101"}),
]


@pytest.mark.parametrize(("down_set", "silent"), SHIPPED_CASES)
def test_the_shipped_inventory_serves_all_twelve_and_faults_follow_its_topology(
    down_set: set[str], silent: set[str]
) -> None:
    from config.loader import load

    repo = Path(__file__).resolve().parents[1]
    inv = load(repo / "inventory.yaml", repo / "config", env={}).inventory
    devices = lab_devices(inv)
    assert {(d.name, d.recording) for d in devices} == set(LAB_RECORDINGS)
    assert sorted(d.port for d in devices) == list(range(20161, 20173))
    assert unreachable(inv, down_set) & {d.name for d in devices} == silent


# --- a real lab: snmpsim processes polled with net-snmp --------------------------------------------------

LIVE = {  # device -> upstream, a corner of the lab: a fault on the aggregation silences the cell router
    "agg-sh-pd-01": [],
    "csr-sh-pd-101": ["agg-sh-pd-01"],
    "mw-sh-cm-201a": [],
}


@dataclass(frozen=True)
class Lab:
    inventory: Inventory
    state_dir: Path
    ports: dict[str, int]
    brought_up_s: float


def snmp(command: str, port: int, *oids: str, timeout_s: float = 2.0) -> dict[str, int] | None:
    """Numeric values by OID from net-snmp's ``snmpget``/``snmpbulkwalk`` (None: no answer)."""
    args = [command, "-v2c", "-c", "public", "-Oqnt", "-t", str(timeout_s), "-r", "0", f"127.0.0.1:{port}"]
    done = subprocess.run([*args, *oids], capture_output=True, text=True, timeout=30, check=False)
    if done.returncode != 0:
        assert "Timeout" in done.stderr, done.stderr
        return None
    out: dict[str, int] = {}
    for line in done.stdout.splitlines():
        oid, _, value = line.partition(" ")
        if value.strip().lstrip("-").isdigit():
            out[oid.lstrip(".")] = int(value)
    return out


def rates_of(device: str, stem: str) -> dict[int, PortRates]:
    return port_rates(parse((DEVICES_DIR / f"{stem}.snmprec").read_text(encoding="iso-8859-1")), device)


def transform_of(device: str, stem: str, epoch: int) -> list[Record]:
    return transform(parse((DEVICES_DIR / f"{stem}.snmprec").read_text(encoding="iso-8859-1")), device, epoch)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    if shutil.which("snmpget") is None:
        pytest.fail("net-snmp CLI (apt snmp) not installed")
    ports = {name: free_udp_port() for name in LIVE}
    inv = inventory(LIVE, ports)
    state_dir = tmp_path_factory.mktemp("lab") / "var" / "lab"
    paths = LabPaths.resolve(state_dir)
    t0 = time.monotonic()
    try:
        states = up(inv, state_dir, DEVICES_DIR)
        brought_up = time.monotonic() - t0
        assert [(s.device.name, s.process, s.answers) for s in states] == [(n, "running", True) for n in LIVE]
        yield Lab(inv, state_dir, ports, brought_up)
    finally:
        down(state_dir)
        if paths.runtime_dir != paths.state_dir:
            shutil.rmtree(paths.runtime_dir, ignore_errors=True)


def test_up_is_idempotent(lab: Lab) -> None:
    before = {s.device.name: s.pid for s in status(lab.inventory, lab.state_dir)}
    again = up(lab.inventory, lab.state_dir, DEVICES_DIR)
    assert {s.device.name: s.pid for s in again} == before
    assert all(s.answers for s in again)
    epoch_file = LabPaths.resolve(lab.state_dir).epoch_file
    assert int(epoch_file.read_text()) <= time.time()


def test_counters_advance_at_the_configured_rate(lab: Lab) -> None:
    epoch = int(LabPaths.resolve(lab.state_dir).epoch_file.read_text())
    for device, stem, column in (
        ("agg-sh-pd-01", "vrp_ne", HC_IN),
        ("csr-sh-pd-101", "iosxe_asr920", HC_OUT),
        ("mw-sh-cm-201a", "ceraos", IF_IN),
    ):
        rates = rates_of(device, stem)
        assert rates, device
        if_index = next(iter(rates))
        counter = "in_octets" if column in (HC_IN, IF_IN) else "out_octets"
        oids = (SYS_UPTIME, f"{column}.{if_index}")
        first = snmp("snmpget", lab.ports[device], *oids)
        time.sleep(2.5)
        second = snmp("snmpget", lab.ports[device], *oids)
        assert first is not None and second is not None
        d_ticks = second[SYS_UPTIME] - first[SYS_UPTIME]
        assert 240 <= d_ticks <= 400, device
        width = 2**32 if column == IF_IN else 2**64
        d_count = (second[oids[1]] - first[oids[1]]) % width
        assert d_count / (d_ticks / 100) == pytest.approx(rates[if_index].rate(counter), rel=0.02), device
        live_uptime = next(r for r in transform_of(device, stem, epoch) if r.oid == SYS_UPTIME)
        assert second[SYS_UPTIME] == pytest.approx(served(live_uptime, time.time()), abs=100)


def test_a_walk_shows_moving_counters_on_up_ports_only(lab: Lab) -> None:
    rates = rates_of("agg-sh-pd-01", "vrp_ne")
    first = snmp("snmpbulkwalk", lab.ports["agg-sh-pd-01"], HC_IN)
    time.sleep(1.5)
    second = snmp("snmpbulkwalk", lab.ports["agg-sh-pd-01"], HC_IN)
    assert first and second and first.keys() == second.keys()
    moved = {int(oid.rsplit(".", 1)[1]) for oid in first if second[oid] != first[oid]}
    assert moved == set(rates)
    assert all(second[oid] >= first[oid] for oid in first)


def test_restart_continues_counters_and_uptime(lab: Lab) -> None:
    device, port = "mw-sh-cm-201a", lab.ports["mw-sh-cm-201a"]
    rates = rates_of(device, "ceraos")
    if_index = next(iter(rates))
    oids = (SYS_UPTIME, f"{HC_IN}.{if_index}")
    before = snmp("snmpget", port, *oids)
    old_pid = next(s.pid for s in status(lab.inventory, lab.state_dir) if s.device.name == device)
    assert before is not None and old_pid is not None
    os.kill(old_pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while snmp("snmpget", port, SYS_UPTIME, timeout_s=0.3) is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(old_pid, 0)
    states = {s.device.name: s for s in up(lab.inventory, lab.state_dir, DEVICES_DIR)}
    assert states[device].pid != old_pid and states[device].answers
    after = snmp("snmpget", port, *oids)
    assert after is not None
    d_ticks = after[SYS_UPTIME] - before[SYS_UPTIME]
    assert d_ticks > 0, "uptime did not reset"
    d_count = after[oids[1]] - before[oids[1]]
    assert d_count > 0, "counter did not go backwards"
    assert d_count / (d_ticks / 100) == pytest.approx(rates[if_index].rate("in_octets"), rel=0.02)


def test_fault_silences_the_device_and_all_behind_it_then_restores(lab: Lab) -> None:
    result = fault(lab.inventory, lab.state_dir, "agg-sh-pd-01", "down")
    try:
        assert result.silenced == {"agg-sh-pd-01", "csr-sh-pd-101"}
        for name in ("agg-sh-pd-01", "csr-sh-pd-101"):
            assert snmp("snmpget", lab.ports[name], SYS_UPTIME, timeout_s=1.0) is None, name
        assert snmp("snmpget", lab.ports["mw-sh-cm-201a"], SYS_UPTIME) is not None
        reported = {s.device.name: s for s in up(lab.inventory, lab.state_dir, DEVICES_DIR)}
        assert {n for n, s in reported.items() if s.faulted} == {"agg-sh-pd-01", "csr-sh-pd-101"}
        assert {n for n, s in reported.items() if s.process == "stopped"} == {"agg-sh-pd-01", "csr-sh-pd-101"}
        assert not reported["agg-sh-pd-01"].answers and reported["mw-sh-cm-201a"].answers
    finally:
        restored = fault(lab.inventory, lab.state_dir, "agg-sh-pd-01", "up")
    assert restored.resumed == {"agg-sh-pd-01", "csr-sh-pd-101"} and not restored.down
    for name in LIVE:
        assert snmp("snmpget", lab.ports[name], SYS_UPTIME) is not None, name
    assert all(s.answers and not s.faulted for s in status(lab.inventory, lab.state_dir))


def test_run_command_prints_a_table_and_exits_by_health(lab: Lab) -> None:
    out = io.StringIO()
    assert run_command(lab.inventory, lab.state_dir, "status", out) == 0
    lines = out.getvalue().splitlines()
    assert lines[0].split()[:3] == ["DEVICE", "RECORDING", "ENDPOINT"]
    assert {line.split()[0] for line in lines[1:]} == set(LIVE)
    assert all(line.split()[6] == "yes" for line in lines[1:])
    out = io.StringIO()
    assert run_command(lab.inventory, lab.state_dir, "fault", out, device="mw-sh-cm-201a", state="down") == 0
    try:
        assert "silenced mw-sh-cm-201a;" in out.getvalue()
        assert run_command(lab.inventory, lab.state_dir, "status", io.StringIO()) == 0  # faulted is expected
    finally:
        run_command(lab.inventory, lab.state_dir, "fault", io.StringIO(), device="mw-sh-cm-201a", state="up")
    assert snmp("snmpget", lab.ports["mw-sh-cm-201a"], SYS_UPTIME) is not None
    out = io.StringIO()
    assert run_command(lab.inventory, lab.state_dir, "fault", out, device="nope", state="down") == 2
    assert "nope" in out.getvalue()


# --- the routers whose recordings have no counters show rates too -----------------------------------------

RATE_DEVICES = ("core-sh-01", "agg-sh-mh-01")
"""Their recordings (iosxr_asr9904, junos) have no octet counters or speed: the lab's traffic overlay adds them."""


@pytest.fixture(scope="module")
def counterless_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Inventory, dict[str, int]]]:
    """Those two devices as the shipped inventory has them (their monitored ports), on free ports."""
    from config.loader import load

    root = Path(__file__).resolve().parents[1]
    shipped = load(root / "inventory.yaml", root / "config", env={}).inventory
    ports = {name: free_udp_port() for name in RATE_DEVICES}
    devices = [shipped.device(n).model_copy(update={"port": ports[n], "upstream": ()}) for n in RATE_DEVICES]
    sites = [shipped.site(n) for n in dict.fromkeys(d.site for d in devices)]
    inv = shipped.model_copy(update={"devices": tuple(devices), "sites": tuple(sites), "services": (), "teams": ()})
    state_dir = tmp_path_factory.mktemp("ratelab") / "var" / "lab"
    paths = LabPaths.resolve(state_dir)
    try:
        states = up(inv, state_dir, DEVICES_DIR)
        assert all(s.answers for s in states), states
        yield inv, ports
    finally:
        down(state_dir)
        if paths.runtime_dir != paths.state_dir:
            shutil.rmtree(paths.runtime_dir, ignore_errors=True)


@pytest.mark.parametrize("device", RATE_DEVICES)
def test_two_polls_of_a_counterless_recording_give_rates(
    device: str, counterless_lab: tuple[Inventory, dict[str, int]], capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from netqos.cli import main

    inv, ports = counterless_lab
    code = main(["poll", "--target", f"127.0.0.1:{ports[device]}", "--community", "public", "--job", "interfaces",
                 "--count", "2", "--interval", "2", "--format", "json"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    rated = {
        s["tags"]["ifname"]: s["fields"]
        for s in map(json.loads, out.splitlines())
        if s["measurement"] == "interface" and "in_bps" in s["fields"]
    }
    watched = inv.device(device).monitored_ports
    assert watched and set(watched) <= set(rated), (watched, sorted(rated))
    for port in watched:
        fields = rated[port]
        assert fields["in_bps"] > 0 and fields["out_bps"] > 0, port
        assert 0 < fields["in_util_pct"] < 100 and fields["oper_status"] == 1, port


# --- the demo's summary counts every measurement of the schema -------------------------------------------

SUMMARY_COUNTS = [  # points per measurement written after `since` (0: none of that kind)
    {"device": 3, "interface": 5, "poller": 4, "pon_port": 2, "onu": 7, "radio": 1, "power": 2, "bgp_peer": 3},
    {"device": 1, "poller": 1},
]


@pytest.mark.parametrize("counts", SUMMARY_COUNTS)
def test_summary_counts_points_of_every_measurement(request: pytest.FixtureRequest, counts: dict[str, int]) -> None:
    from datetime import UTC, datetime, timedelta

    from collectors import measurements as m
    from collectors.model import Sample
    from collectors.sink.influx_v1 import InfluxV1Writer
    from collectors.sink.lineproto import encode_many
    from config.models import InfluxV1
    from lab.summary import summary

    server = request.getfixturevalue("influx_up")
    db = f"summary_{os.getpid()}_{len(counts)}"
    server.create_db(db)
    since = datetime(2026, 3, 1, tzinfo=UTC)
    samples: list[Sample] = []
    for meas in m.SCHEMA:
        for i in range(counts.get(meas.name, 0)):
            fields: dict[str, int | float | str | bool] = {meas.fields[0]: 1}
            if i % 2:  # some points carry a second field, most do not: still one point each
                fields[meas.fields[-1]] = 2
            samples.append(Sample(meas.name, {m.TAG_DEVICE: f"d{i % 2}"}, fields, since + timedelta(seconds=i + 1)))
        samples.append(Sample(meas.name, {m.TAG_DEVICE: "old"}, {meas.fields[0]: 1}, since - timedelta(hours=1)))
    samples.append(Sample("not_in_schema", {}, {"x": 1}, since + timedelta(seconds=1)))
    writer = InfluxV1Writer(InfluxV1(api="v1", url=server.url, database=db), timeout_s=5)
    body = "\n".join(encode_many(samples)).encode()
    writer.write(body, body.count(b"\n") + 1)
    writer.close()

    lines = summary(server.url, db, since.isoformat().replace("+00:00", "Z"))
    for meas in m.SCHEMA:
        assert f"points in '{meas.name}': {counts.get(meas.name, 0)}" in lines, lines
    kinds = sum(1 for n in counts.values() if n)
    assert f"samples written: {sum(counts.values())} in {kinds} measurements" in lines
