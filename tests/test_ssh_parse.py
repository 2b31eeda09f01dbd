"""Table-driven tests of the pure SSH parsers over captured CLI outputs (tests/fixtures/ssh/)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from collectors import measurements as m
from collectors.counters import Limits, RateTracker
from collectors.snmp.decoders import gpon_serial
from collectors.ssh.cisco_ios import ifname, parse_show_interfaces
from collectors.ssh.collect import IF_RATES, PLATFORM_JOBS, interface_samples, observations, ssh_poll_jobs
from collectors.ssh.huawei_olt import (
    OntOptics,
    Pon,
    PonAnswers,
    parse_ont_info,
    parse_optical_info,
    parse_pon,
    parse_totals,
    pon_samples,
)
from collectors.ssh.session import SshTarget
from collectors.ssh.textfsm_parse import clean
from lab.fakenos_olt import LAB_PONS, lab_onus, render_ont_info, render_optical_info

FIX = Path(__file__).parent / "fixtures" / "ssh"
AT = datetime(2026, 1, 1, tzinfo=UTC)
TAGS = {m.TAG_DEVICE: "olt-1", m.TAG_SITE: "sh-pd-co", m.TAG_REGION: "sh", m.TAG_ROLE: "olt", m.TAG_VENDOR: "huawei"}


def fixture(name: str) -> str:
    return (FIX / name).read_text(encoding="utf-8")


def test_fixtures_are_cjk_free() -> None:
    for f in FIX.glob("*.txt"):
        assert not any("\u3000" <= ch <= "\u9fff" for ch in f.read_text(encoding="utf-8")), f.name


# --- display ont optical-info -------------------------------------------------------------------------------

OPTICS_CASES = [
    pytest.param(
        "huawei_optical_info_ma5800.txt",
        [
            OntOptics(0, -24.68, 3.68, -22.68, 38.0, 3.2, 6.0, 171),
            OntOptics(1, -19.05, 2.31, -21.40, 47.0, 3.3, 14.0, 2350),
            OntOptics(2),
            OntOptics(3, -27.96, 1.98, -29.52, 61.0, 3.26, 23.0, 14020),
            OntOptics(4),  # behind a "---- More ----" pager artefact with ANSI cursor codes
            OntOptics(5, -8.42, 2.32, -13.44, 45.0, 3.38, 15.0, 39),
        ],
        id="ma5800-8col-offline-and-pager",
    ),
    pytest.param(
        "huawei_optical_info_ma5608t.txt",
        [
            OntOptics(4, -23.10, 2.30, -24.21, 56.0, 3.26, 13.0),
            OntOptics(6, -21.08, 2.28, -21.49, 44.0, 3.24, 13.0),
            OntOptics(7, olt_rx_dbm=-20.92),
        ],
        id="ma5608t-7col-crlf-partial",
    ),
    pytest.param("huawei_optical_info_empty.txt", [], id="pon-without-onus"),
]


@pytest.mark.parametrize(("name", "expected"), OPTICS_CASES)
def test_parse_optical_info(name: str, expected: list[OntOptics]) -> None:
    assert list(parse_optical_info(fixture(name))) == expected


# --- display ont info -----------------------------------------------------------------------------------------

INFO_CASES = [
    pytest.param(
        "huawei_ont_info_0_1_0.txt",
        [
            (0, "HWTCA1B2C300", 1, "active"),
            (1, "HWTCA1B2C301", 1, "active"),
            (2, "HWTCA1B2C302", 2, "active"),
            (3, "ZTEG000A0B0C", 1, "active"),
            (4, "HWTCA1B2C304", 2, "deactive"),
            (5, "HWTCA1B2C305", 1, "active"),
        ],
        (6, 4),
        id="mixed-online-offline",
    ),
    pytest.param("huawei_ont_info_empty.txt", [], None, id="pon-without-onus"),
]


@pytest.mark.parametrize(("name", "expected", "totals"), INFO_CASES)
def test_parse_ont_info(name: str, expected: list[tuple[int, str, int, str]], totals: tuple[int, int] | None) -> None:
    text = fixture(name)
    states = parse_ont_info(text)
    assert [(s.onu_id, s.serial, s.status, s.control_flag) for s in states] == expected
    assert all(s.pon == Pon(0, 1, 0) for s in states)
    t = parse_totals(text)
    assert (None if t is None else (t.total, t.online)) == totals


@pytest.mark.parametrize(
    ("text", "pon"),
    [("0/1/3", Pon(0, 1, 3)), ("0/ 1/3", Pon(0, 1, 3)), ("GPON 0/2/15", Pon(0, 2, 15)), ("gpon_1/1/1", Pon(1, 1, 1)),
     ("ethernet0/8/0", None), ("0/1", None)],
)
def test_parse_pon(text: str, pon: Pon | None) -> None:
    assert parse_pon(text) == pon


@pytest.mark.parametrize(("pon", "ifindex"), [(Pon(0, 0, 0), 4194304000), (Pon(0, 0, 1), 4194304256),
                                              (Pon(0, 1, 0), 4194304000 + 8192)])
def test_pon_ifindex(pon: Pon, ifindex: int) -> None:
    assert pon.ifindex == ifindex


def test_onu_samples_merge_state_and_optics() -> None:
    info, optical = fixture("huawei_ont_info_0_1_0.txt"), fixture("huawei_optical_info_ma5800.txt")
    answers = [PonAnswers(Pon(0, 1, 0), info, optical)]
    samples = pon_samples(answers, TAGS, AT)
    onus = {s.tags[m.TAG_ONU_ID]: s for s in samples if s.measurement == m.ONU}
    assert sorted(onus, key=int) == ["0", "1", "2", "3", "4", "5"]
    assert dict(onus["0"].tags) == {m.TAG_DEVICE: "olt-1", m.TAG_SITE: "sh-pd-co", m.TAG_REGION: "sh",
                                    m.TAG_ROLE: "olt", m.TAG_PON: "0/1/0", m.TAG_ONU_ID: "0",
                                    m.TAG_SERIAL: "HWTCA1B2C300"}
    assert dict(onus["0"].fields) == {m.F_STATUS: 1, m.F_RX_DBM: -24.68, m.F_TX_DBM: 3.68, m.F_OLT_RX_DBM: -22.68,
                                      m.F_TEMPERATURE_C: 38.0, m.F_VOLTAGE_V: 3.2, m.F_BIAS_MA: 6.0,
                                      m.F_DISTANCE_M: 171}
    assert dict(onus["2"].fields) == {m.F_STATUS: 2}  # offline: '-' readings are absent, never zero
    pon = [s for s in samples if s.measurement == m.PON_PORT]
    assert [(dict(s.tags)[m.TAG_IFINDEX], dict(s.fields)) for s in pon] == [
        (str(Pon(0, 1, 0).ifindex), {m.F_ONUS_TOTAL: 6, m.F_ONUS_ONLINE: 4})
    ]
    for s in samples:  # every name is in the schema
        spec = m.BY_NAME[s.measurement]
        assert set(s.tags) <= set(spec.tags) and set(s.fields) <= set(spec.fields)


@pytest.mark.parametrize("pon", LAB_PONS)
def test_lab_renderers_round_trip(pon: str) -> None:
    """The lab OLT's rendered outputs parse back into its table (what the live test relies on)."""
    onus = [o for o in lab_onus() if o.pon == pon]
    states = parse_ont_info(render_ont_info(pon, lab_onus()))
    optics = {o.onu_id: o for o in parse_optical_info(render_optical_info(pon, lab_onus()))}
    assert [(s.onu_id, s.serial, s.status) for s in states] == [(o.onu_id, gpon_serial(o.serial), 1 if o.online else 2)
                                                                  for o in onus]
    for o in onus:
        got = optics[o.onu_id]
        if o.online:
            assert (got.rx_dbm, got.tx_dbm, got.olt_rx_dbm, got.voltage_v, got.distance_m) == (
                o.rx_dbm, o.tx_dbm, o.olt_rx_dbm, o.voltage_v, o.distance_m)
        else:
            assert got == OntOptics(o.onu_id)


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [("a\r\nb\r\n", "a\nb\n"), ("x ---- More ----\x1b[37D y", "x  y"), ("\x1b[1Dz  ", "z")],
)
def test_clean(raw: str, cleaned: str) -> None:
    assert clean(raw) == cleaned


# --- Cisco show interfaces -------------------------------------------------------------------------------------

IF_CASES = [
    pytest.param(
        "cisco_ios_show_interfaces_isr4331.txt",
        {
            "Gi0/0/0": ("uplink to agg-sh-pd-01 Gi0/0/3", 1, 1, 1_000_000_000,
                        (18446744073709, 2345678901234, 42, 3, 17, 231)),
            "Gi0/0/1": (None, 2, 2, 1_000_000_000, (0, 0, 0, 0, 0, 0)),
            "Gi0/0/2": ("backup to bank branch", 1, 2, 100_000_000, (15360, 14160, 0, 0, 0, 0)),
            "Lo0": (None, 1, 1, 8_000_000_000, (0, 0, 0, 0, 0, 0)),
        },
        id="isr4331",
    ),
    pytest.param(
        "cisco_ios_show_interfaces_c9500.txt",
        {
            "Fa1": (None, 1, 2, 10_000_000, (0, 0, 0, 0, 0, 0)),
            "Te1/1/1": ("vss", 1, 1, 10_000_000_000, (2783400652228, 377708181830, 0, 0, 0, 4)),
            "Te1/1/5": (None, 2, 2, 10_000_000_000, None),
            "Te1/1/12": ("shop floor", 1, 2, 1_000_000_000, None),  # notconnect, BW 1 Gbit/s
        },
        id="c9500-captured",
    ),
]


@pytest.mark.parametrize(("name", "expected"), IF_CASES)
def test_parse_show_interfaces(
    name: str, expected: dict[str, tuple[str | None, int, int, int, tuple[int, ...] | None]]
) -> None:
    rows = {r.tags[m.TAG_IFNAME]: r for r in parse_show_interfaces(fixture(name), {m.TAG_DEVICE: "r1", "junk": "x"})}
    for name_, (alias, admin, oper, speed, counters) in expected.items():
        r = rows[name_]
        assert r.tags.get(m.TAG_IFALIAS) == alias
        assert r.tags[m.TAG_DEVICE] == "r1" and "junk" not in r.tags
        assert (r.fields[m.F_ADMIN_STATUS], r.fields[m.F_OPER_STATUS], r.fields[m.F_SPEED_BPS]) == (admin, oper, speed)
        if counters is not None:
            got = tuple(r.fields[k] for k in (m.F_IN_OCTETS, m.F_OUT_OCTETS, m.F_IN_ERRORS, m.F_OUT_ERRORS,
                                              m.F_IN_DISCARDS, m.F_OUT_DISCARDS))
            assert got == counters
        assert set(r.fields) <= set(m.BY_NAME[m.INTERFACE].fields)


@pytest.mark.parametrize(
    ("long", "short"),
    [("GigabitEthernet0/0/1", "Gi0/0/1"), ("TenGigabitEthernet1/1/1", "Te1/1/1"), ("Loopback0", "Lo0"),
     ("Port-channel12", "Po12"), ("Vlan100", "Vl100"), ("Ethernet-Internal1", "Ethernet-Internal1")],
)
def test_ifname(long: str, short: str) -> None:
    assert ifname(long) == short


def test_interface_rates_over_two_polls() -> None:
    """Rates come from the shared RateTracker, as on the SNMP path: absent on the first poll, then bits/s."""
    text = fixture("cisco_ios_show_interfaces_isr4331.txt")
    later = text.replace("18446744073709 bytes", f"{18446744073709 + 75_000_000} bytes")
    tracker = RateTracker(Limits(interval_s=60))
    first = parse_show_interfaces(text, {m.TAG_DEVICE: "r1"})
    r1 = tracker.observe("r1/ssh_interfaces", observations(first, 0.0), IF_RATES)
    s1 = {s.tags[m.TAG_IFNAME]: s for s in interface_samples(first, r1, AT)}
    assert m.F_IN_BPS not in s1["Gi0/0/0"].fields
    second = parse_show_interfaces(later, {m.TAG_DEVICE: "r1"})
    r2 = tracker.observe("r1/ssh_interfaces", observations(second, 60.0), IF_RATES)
    s2 = {s.tags[m.TAG_IFNAME]: s for s in interface_samples(second, r2, AT)}
    assert s2["Gi0/0/0"].fields[m.F_IN_BPS] == pytest.approx(75_000_000 * 8 / 60)
    assert s2["Gi0/0/0"].fields[m.F_IN_UTIL_PCT] == pytest.approx(75_000_000 * 8 / 60 / 1e9 * 100)
    assert s2["Gi0/0/0"].fields[m.F_OUT_BPS] == 0.0


@pytest.mark.parametrize(("platform", "jobs"), [("huawei_smartax", ["ssh_onu"]), ("cisco_ios", ["ssh_interfaces"]),
                                                ("linux", [])])
def test_ssh_poll_jobs(platform: str, jobs: list[str]) -> None:
    t = SshTarget("d1", "127.0.0.1", platform, "u", tags={m.TAG_DEVICE: "d1", m.TAG_SITE: "s", m.TAG_ROLE: "olt"})
    got = ssh_poll_jobs([t], {"ssh_onu": (300.0, 60.0), "ssh_interfaces": (60.0, 30.0)})
    assert [j.job for j in got] == jobs
    assert all(j.job in PLATFORM_JOBS[platform] and dict(j.tags) == {m.TAG_SITE: "s", m.TAG_ROLE: "olt"} for j in got)
