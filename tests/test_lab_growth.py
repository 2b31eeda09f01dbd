"""The grown lab: generated ONUs on the lab OLTs (SNMP recordings and the fakenos SSH OLT agree), the SSH OLT's
life cycle (up/status/fault/down) and host-key checking against the lab's known_hosts.

Pure cases check the generator and the overlay; live cases start the two lab OLTs (snmpsim + fakenos) on free
ports in a TemporaryDirectory, poll them with the real collectors, and stop them at the end of the module.
"""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TypedDict

import pytest

from collectors import measurements as m
from collectors.counters import Limits, RateTracker
from collectors.model import FieldValue, PollResult, Target
from collectors.snmp import indexes as ix
from collectors.snmp.collect import SnmpCollector
from collectors.snmp.decoders import gpon_serial
from collectors.ssh.collect import JOB_ONU, SshCollector
from collectors.ssh.pool import SessionPool
from collectors.ssh.session import NetmikoSession, SshTarget
from config.loader import Loaded, load
from config.profiles import ProfileSet, load_profiles
from lab import gen_olt, ssh
from lab.network import LabConfigError, default_recordings_dir, lab_devices, onu_plan
from lab.recordings import Record, overlay, parse
from lab.runner import LabPaths, down, fault, format_states, status, up
from lab.snmpsim import free_udp_port

REPO = Path(__file__).resolve().parents[1]
DEVICES_DIR = default_recordings_dir()
T0 = datetime(2026, 3, 1, tzinfo=UTC)
OLTS = (("olt-sh-pd-01", "smartax"), ("olt-sh-mh-01", "zxa10_c320"))
PROFILE = {"olt-sh-pd-01": "huawei_smartax", "olt-sh-mh-01": "zte_zxa10"}
IF_NAME = "1.3.6.1.2.1.31.1.1.1.1"
CAUSE = {1: "los", 2: "losi", 13: "dying_gasp"}


def free_tcp_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def loaded() -> Loaded:
    return load(REPO / "inventory.yaml", REPO / "config", env={})


def plan(device: str) -> gen_olt.OnuPlan:
    p = onu_plan(device)
    assert p is not None, device
    return p


# --- the generator (pure) ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("device", "stem"), OLTS)
def test_each_lab_olt_gets_a_few_hundred_onus_on_pon_ports_of_its_recording(device: str, stem: str) -> None:
    p = plan(device)
    items = gen_olt.plan_onus(p)
    assert items == gen_olt.plan_onus(p)  # seeded: the same table every time
    assert 200 <= len(items) == sum(n for _, n in p.pons) <= 400
    names = {r.oid.rsplit(".", 1)[1]: r.value for r in parse((DEVICES_DIR / f"{stem}.snmprec").read_text(
        encoding="iso-8859-1")) if r.oid.startswith(IF_NAME + ".")}
    want_name = "GPON {}" if p.vendor == "huawei" else "gpon_{}"
    for pon, _ in p.pons:
        ifindex = gen_olt.pon_ifindex(p.vendor, pon)
        assert names.get(str(ifindex)) == want_name.format(pon), (device, pon)  # the port exists, as encoded
        decoded = ix.huawei_pon(ifindex) if p.vendor == "huawei" else ix.zte_if_pon(ifindex)
        assert decoded is not None and decoded.name == pon
    serials = [o.serial for o in items]
    assert len(set(serials)) == len(serials)
    assert all(o.serial[:4] == (b"HWTC" if p.vendor == "huawei" else b"ZTEG") for o in items)
    offline = [o for o in items if not o.online]
    degraded = [o for o in items if o.online and o.rx_dbm is not None and o.rx_dbm <= -27.0]
    healthy = [o for o in items if o.online and o.rx_dbm is not None and o.rx_dbm > -27.0]
    assert len(offline) + len(degraded) + len(healthy) == len(items)
    assert len(offline) >= 5 and len(degraded) >= 5 and len(healthy) >= len(items) // 2
    assert all(o.rx_dbm is None and o.olt_rx_dbm is None and o.down_cause in (1, 13) for o in offline)
    assert all(-30.0 <= (o.rx_dbm or 0) <= -27.0 for o in degraded)
    assert all(-24.0 <= (o.rx_dbm or 0) <= -14.0 for o in healthy)


@pytest.mark.parametrize(
    ("dbm", "raw"),
    [(-30.0, 0), (-27.0, 1500), (-20.5, 4750), (-14.002, 7999), (None, 2147483647)],
)
def test_zte_optics_raw_is_dbm_plus_30_over_0_002(dbm: float | None, raw: int) -> None:
    onu = gen_olt.Onu("1/1/1", 268435456, 3, b"ZTEG\x00\x00\x00\x01", dbm is not None, 1, dbm, None, dbm,
                      None, None, None, None)
    rows = {oid: v for oid, _, v in gen_olt.zte_onu_rows([onu])}
    assert rows[f"{gen_olt.ZTE_RX}.268501248.3.1"] == str(raw)  # GPON-table index = ifIndex + 65792, then .1
    assert rows[f"{gen_olt.ZTE_OLT_RX}.268501248.3.1"] == str(raw)
    assert rows[f"{gen_olt.ZTE_STATE}.268501248.3"] == ("1" if dbm is not None else "2")


@pytest.mark.parametrize(
    ("records", "extra", "expected"),
    [
        (["1.1", "1.3"], [("1.2", "x")], ["1.1", "1.2=x", "1.3"]),
        (["1.1", "1.3"], [("1.3", "x")], ["1.1", "1.3=x"]),  # replaces in place
        (["1.1", "1.10"], [("1.9", "x"), ("1.2", "y")], ["1.1", "1.2=y", "1.9=x", "1.10"]),  # numeric order
        (["1.1"], [("2", "x"), ("1.1.5", "z")], ["1.1", "1.1.5=z", "2=x"]),
        (["1.1"], [], ["1.1"]),
    ],
)
def test_overlay_replaces_and_inserts_in_oid_order(
    records: list[str], extra: list[tuple[str, str]], expected: list[str]
) -> None:
    out = overlay([Record(o, "2", "0") for o in records], [Record(o, "2", v) for o, v in extra])
    assert [r.oid if r.value == "0" else f"{r.oid}={r.value}" for r in out] == expected


@pytest.mark.parametrize(("device", "stem"), OLTS)
def test_the_overlay_marks_populated_pon_ports_up(device: str, stem: str) -> None:
    p = plan(device)
    rows = {oid: v for oid, _, v in gen_olt.onu_overlay(p.vendor, gen_olt.plan_onus(p))}
    for pon, count in p.pons:
        ifindex = gen_olt.pon_ifindex(p.vendor, pon)
        assert rows[f"{gen_olt.IF_OPER_STATUS}.{ifindex}"] == "1"
        if p.vendor == "huawei":
            assert rows[f"{gen_olt.HW_ADDED_ONTS}.{ifindex}"] == str(count)


def test_the_shipped_inventory_plays_olt_sh_pd_01_over_ssh(loaded: Loaded) -> None:
    inv = loaded.inventory
    by_name = {d.name: d for d in lab_devices(inv)}
    assert by_name["olt-sh-pd-01"].ssh_port == 20265
    assert {n for n, d in by_name.items() if d.ssh_port is not None} == {"olt-sh-pd-01"}
    assert inv.device("olt-sh-pd-01").pon_ports == tuple(pon for pon, _ in plan("olt-sh-pd-01").pons)
    assert inv.credentials.ssh[inv.device("olt-sh-pd-01").ssh or ""].password is not None
    assert loaded.settings.ssh.known_hosts == "var/lab/known_hosts"
    # olt-sh-mh-01 (ZTE) has SSH credentials but no SmartAX CLI: not played over SSH, so an override is moot
    assert lab_devices(inv, ssh_ports={"olt-sh-mh-01": 20265})[5].ssh_port is None


def test_two_ssh_lab_devices_on_one_port_are_refused(loaded: Loaded) -> None:
    inv = loaded.inventory
    twin = inv.device("olt-sh-pd-01").model_copy(update={"name": "olt-twin", "port": 20999})
    inv2 = inv.model_copy(update={"devices": (*inv.devices, twin)})
    with pytest.raises(LabConfigError, match=r"SSH on 127\.0\.0\.1:20265"):
        lab_devices(inv2, (("olt-sh-pd-01", "smartax"), ("olt-twin", "smartax")))


@pytest.mark.parametrize(
    ("before", "entries", "after"),
    [
        ("", {("127.0.0.1", 20265): "ssh-rsa K1"}, "[127.0.0.1]:20265 ssh-rsa K1\n"),
        ("other ssh-ed25519 X\n[127.0.0.1]:20265 ssh-rsa OLD\n", {("127.0.0.1", 20265): "ssh-rsa K1"},
         "other ssh-ed25519 X\n[127.0.0.1]:20265 ssh-rsa K1\n"),
        ("[127.0.0.1]:2 ssh-rsa A\n", {("127.0.0.1", 22): "ssh-rsa B"},
         "[127.0.0.1]:2 ssh-rsa A\n127.0.0.1 ssh-rsa B\n"),
    ],
)
def test_known_hosts_entries_replace_their_host_only(before: str, entries: Mapping[tuple[str, int], str],
                                                      after: str) -> None:
    with tempfile.TemporaryDirectory(prefix="netqos-kh-") as tmp:
        path = Path(tmp) / "known_hosts"
        if before:
            path.write_text(before)
        ssh.update_known_hosts(path, entries)
        assert path.read_text() == after


def test_the_table_file_round_trips() -> None:
    onus = gen_olt.to_lab_onus(gen_olt.plan_onus(plan("olt-sh-pd-01")))
    pons = tuple(p for p, _ in plan("olt-sh-pd-01").pons)
    assert ssh.load_table(ssh.dump_table(onus, pons)) == (onus, pons)


# --- the live lab: two OLTs, one of them with its SSH OLT -----------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Lab:
    loaded: Loaded
    state_dir: Path
    ports: dict[str, int]
    ssh_ports: dict[str, int]
    up_s: float


@pytest.fixture(scope="module")
def lab(loaded: Loaded) -> Iterator[Lab]:
    if not ssh.FAKENOS_PYTHON.exists():
        pytest.fail(".venv-fakenos is missing (scripts/setup.sh creates it)")
    with tempfile.TemporaryDirectory(prefix="netqos-labgrowth-") as tmp:
        state_dir = Path(tmp) / "var" / "lab"
        paths = LabPaths.resolve(state_dir)
        ports = {name: free_udp_port() for name, _ in OLTS}
        ssh_ports = {"olt-sh-pd-01": free_tcp_port()}
        try:
            t0 = time.monotonic()
            states = up(loaded.inventory, state_dir, DEVICES_DIR, table=OLTS, ports=ports, ssh_ports=ssh_ports)
            took = time.monotonic() - t0
            print(f"\nlab up (2 OLTs + 1 SSH OLT, cold): {took:.2f} s")
            assert [(s.device.name, s.answers, s.ssh_answers, s.note) for s in states] == [
                ("olt-sh-pd-01", True, True, ""), ("olt-sh-mh-01", True, None, "")]
            yield Lab(loaded, state_dir, ports, ssh_ports, took)
        finally:
            down(state_dir)
            if paths.runtime_dir != paths.state_dir:
                shutil.rmtree(paths.runtime_dir, ignore_errors=True)


class LabKw(TypedDict):
    table: tuple[tuple[str, str], ...]
    ports: dict[str, int]
    ssh_ports: dict[str, int]


def lab_kw(lab: Lab) -> LabKw:
    return {"table": OLTS, "ports": lab.ports, "ssh_ports": lab.ssh_ports}


def unlimited(profiles: ProfileSet) -> ProfileSet:
    """The profiles without their PDU rate limit (the limit is tested in test_olt; here it only costs time)."""
    return ProfileSet({n: dataclasses.replace(p, max_requests_per_s=None) for n, p in profiles.profiles.items()})


async def snmp_onu_poll(lab: Lab, device: str) -> PollResult:
    from collectors.snmp.pysnmp_client import PysnmpEngine

    target = Target(device, "127.0.0.1", lab.ports[device], community="public", timeout_s=5.0, retries=2)
    async with PysnmpEngine() as engine:
        col = SnmpCollector(unlimited(load_profiles()), engine.client, RateTracker(Limits(60)), lambda: T0)
        return await col.collect(target, PROFILE[device], "onu")


@pytest.fixture(scope="module")
def snmp_polls(lab: Lab) -> dict[str, PollResult]:
    async def both() -> dict[str, PollResult]:
        return {device: await snmp_onu_poll(lab, device) for device, _ in OLTS}

    t0 = time.monotonic()
    out = asyncio.run(both())
    print(f"\nSNMP onu job of both lab OLTs: {time.monotonic() - t0:.2f} s")
    return out


def onu_samples(result: PollResult) -> dict[tuple[str, str], tuple[dict[str, str], dict[str, FieldValue]]]:
    assert result.ok, result.error
    return {(s.tags[m.TAG_PON], s.tags[m.TAG_ONU_ID]): (dict(s.tags), dict(s.fields))
            for s in result.samples if s.measurement == m.ONU}


def expected_snmp(vendor: str, o: gen_olt.Onu) -> dict[str, FieldValue]:
    """The fields the vendor's profile must decode from the generator's truth (no reading: no field)."""
    want: dict[str, FieldValue | None] = {m.F_STATUS: 1 if o.online else 2, m.F_RX_DBM: o.rx_dbm,
                                          m.F_OLT_RX_DBM: o.olt_rx_dbm}
    if vendor == "huawei":
        want |= {
            m.F_TX_DBM: o.tx_dbm, m.F_VOLTAGE_V: o.voltage_v, m.F_DISTANCE_M: o.distance_m,
            m.F_TEMPERATURE_C: None if o.temperature_c is None else float(o.temperature_c),
            m.F_BIAS_MA: None if o.bias_ma is None else float(o.bias_ma), m.F_LAST_DOWN_CAUSE: CAUSE[o.down_cause],
        }
    return {k: v for k, v in want.items() if v is not None}


@pytest.mark.parametrize(("device", "stem"), OLTS)
def test_snmp_onu_job_decodes_the_generated_table(snmp_polls: dict[str, PollResult], device: str, stem: str) -> None:
    p = plan(device)
    items = gen_olt.plan_onus(p)
    got = onu_samples(snmp_polls[device])
    assert set(got) == {(o.pon, str(o.onu_id)) for o in items}
    for o in items:
        tags, fields = got[(o.pon, str(o.onu_id))]
        assert tags[m.TAG_SERIAL] == gpon_serial(o.serial), o
        want = expected_snmp(p.vendor, o)
        assert fields.keys() == want.keys(), o  # the sentinel gives no field, never a number
        for k, v in want.items():
            assert fields[k] == (v if isinstance(v, str) else pytest.approx(v, abs=1e-6)), (o, k)
    ports = {s.tags[m.TAG_PON]: s.fields for s in snmp_polls[device].samples if s.measurement == m.PON_PORT}
    for pon, count in p.pons:
        assert ports[pon][m.F_ONUS_TOTAL] == count, pon
        assert ports[pon][m.F_ONUS_ONLINE] == sum(o.online for o in items if o.pon == pon), pon
        assert ports[pon][m.F_OPER_STATUS] == 1, pon


def ssh_target_of(lab: Lab, known_hosts: Path, conn_timeout_s: float | None = None) -> SshTarget:
    from netqos.app import ssh_targets

    settings = lab.loaded.settings.model_copy(
        update={"ssh": lab.loaded.settings.ssh.model_copy(update={"known_hosts": str(known_hosts)})})
    target = ssh_targets(lab.loaded.inventory, settings)["olt-sh-pd-01"]
    target = dataclasses.replace(target, port=lab.ssh_ports["olt-sh-pd-01"])
    return target if conn_timeout_s is None else dataclasses.replace(target, conn_timeout_s=conn_timeout_s)


async def ssh_onu_poll(lab: Lab, known_hosts: Path, conn_timeout_s: float | None = None) -> PollResult:
    target = ssh_target_of(lab, known_hosts, conn_timeout_s)
    pool = SessionPool(NetmikoSession.open)
    try:
        collector = SshCollector({"olt-sh-pd-01": target}, pool, RateTracker(Limits(300)), lambda: T0)
        return await collector.collect("olt-sh-pd-01", JOB_ONU)
    finally:
        await pool.close()


def test_lab_known_hosts_holds_the_lab_host_key(lab: Lab) -> None:
    paths = LabPaths.resolve(lab.state_dir)
    pub = " ".join((lab.state_dir / f"{ssh.HOST_KEY_FILE}.pub").read_text().split()[:2])
    assert pub.startswith("ssh-rsa ")
    assert paths.known_hosts.read_text().splitlines() == [f"[127.0.0.1]:{lab.ssh_ports['olt-sh-pd-01']} {pub}"]


async def test_ssh_onu_through_the_lab_known_hosts_equals_snmp(lab: Lab, snmp_polls: dict[str, PollResult]) -> None:
    t0 = time.monotonic()
    result = await ssh_onu_poll(lab, LabPaths.resolve(lab.state_dir).known_hosts)
    print(f"\nssh_onu of olt-sh-pd-01 (272 ONUs, 5 PONs, login included): {time.monotonic() - t0:.2f} s")
    got = onu_samples(result)
    snmp = onu_samples(snmp_polls["olt-sh-pd-01"])
    items = gen_olt.plan_onus(plan("olt-sh-pd-01"))
    assert set(got) == set(snmp) == {(o.pon, str(o.onu_id)) for o in items}
    common = 0
    for key, (tags, fields) in got.items():
        snmp_tags, snmp_fields = snmp[key]
        assert tags[m.TAG_SERIAL] == snmp_tags[m.TAG_SERIAL], key
        shared = fields.keys() & snmp_fields.keys()
        assert m.F_STATUS in shared
        if fields[m.F_STATUS] == 1:  # online: every optical reading is on both paths
            assert {m.F_RX_DBM, m.F_TX_DBM, m.F_OLT_RX_DBM, m.F_VOLTAGE_V, m.F_DISTANCE_M} <= shared, key
        for k in shared:
            assert fields[k] == pytest.approx(snmp_fields[k], abs=1e-6), (key, k)
        common += len(shared)
    assert common >= 5 * len(items) // 2
    pons = {s.tags[m.TAG_PON]: s.fields for s in result.samples if s.measurement == m.PON_PORT}
    assert {p: (f[m.F_ONUS_TOTAL], f[m.F_ONUS_ONLINE]) for p, f in pons.items()} == {
        pon: (n, sum(o.online for o in items if o.pon == pon)) for pon, n in plan("olt-sh-pd-01").pons}


async def test_ssh_olt_with_an_unknown_key_is_refused(lab: Lab) -> None:
    with tempfile.TemporaryDirectory(prefix="netqos-kh-") as tmp:
        other = Path(tmp) / "known_hosts"
        other.write_text(f"[127.0.0.1]:{lab.ssh_ports['olt-sh-pd-01']} ssh-ed25519 "
                         "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n")
        result = await ssh_onu_poll(lab, other)
    assert (result.ok, result.error) == (False, "hostkey")


def test_up_is_idempotent_and_status_shows_the_ssh_olt(lab: Lab) -> None:
    before = {s.device.name: (s.pid, s.ssh_pid) for s in status(lab.loaded.inventory, lab.state_dir, **lab_kw(lab))}
    t0 = time.monotonic()
    again = up(lab.loaded.inventory, lab.state_dir, DEVICES_DIR, **lab_kw(lab))
    print(f"\nlab up again (all running): {time.monotonic() - t0:.2f} s")
    assert {s.device.name: (s.pid, s.ssh_pid) for s in again} == before
    assert before["olt-sh-pd-01"][1] is not None and before["olt-sh-mh-01"][1] is None
    assert [(s.answers, s.ssh_process, s.ssh_answers) for s in again] == [(True, "running", True), (True, None, None)]


async def test_fault_silences_the_ssh_olt_too(lab: Lab) -> None:
    inv, port = lab.loaded.inventory, lab.ssh_ports["olt-sh-pd-01"]
    result = fault(inv, lab.state_dir, "olt-sh-pd-01", "down", **lab_kw(lab))
    try:
        assert result.silenced == {"olt-sh-pd-01"}
        state = next(s for s in result.states if s.device.name == "olt-sh-pd-01")
        assert (state.process, state.ssh_process) == ("stopped", "stopped")
        assert not ssh.answers("127.0.0.1", port, 1.0)
        polled = await ssh_onu_poll(lab, LabPaths.resolve(lab.state_dir).known_hosts, conn_timeout_s=2.0)
        assert not polled.ok and polled.error in ("timeout", "closed", "unreachable"), polled.error
        table = format_states(status(inv, lab.state_dir, **lab_kw(lab))).splitlines()
        assert f"tcp/{port}:pid={state.ssh_pid}:stopped:answers=no" in table[1].split()
    finally:
        restored = fault(inv, lab.state_dir, "olt-sh-pd-01", "up", **lab_kw(lab))
    assert restored.resumed == {"olt-sh-pd-01"}
    assert ssh.answers("127.0.0.1", port, 2.0)
    states = status(inv, lab.state_dir, **lab_kw(lab))
    assert [(s.faulted, s.ssh_process, s.ssh_answers) for s in states] == [
        (False, "running", True), (False, None, None)]


def test_down_stops_the_ssh_olt(lab: Lab) -> None:
    states = {s.device.name: s for s in status(lab.loaded.inventory, lab.state_dir, **lab_kw(lab))}
    stopped = down(lab.state_dir)
    assert sorted(stopped) == sorted([("olt-sh-pd-01", states["olt-sh-pd-01"].pid), ("olt-sh-mh-01",
                                      states["olt-sh-mh-01"].pid), ("olt-sh-pd-01", states["olt-sh-pd-01"].ssh_pid)])
    assert not ssh.answers("127.0.0.1", lab.ssh_ports["olt-sh-pd-01"], 0.5)
    after = status(lab.loaded.inventory, lab.state_dir, **lab_kw(lab))
    assert [(s.process, s.ssh_process) for s in after] == [("absent", "absent"), ("absent", None)]
