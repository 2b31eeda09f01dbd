"""Table-driven tests of the pure SSH parsers over captured CLI outputs (tests/fixtures/ssh/)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from collectors import measurements as m
from collectors.counters import Limits, RateTracker
from collectors.snmp.decoders import gpon_serial
from collectors.ssh.answers import KIND_DEVICE, KIND_PARSE, Answer, AnswerError, first_line
from collectors.ssh.cisco_ios import ifname, parse_show_interfaces, read_show_interfaces
from collectors.ssh.collect import IF_RATES, PLATFORM_JOBS, interface_samples, observations, ssh_poll_jobs
from collectors.ssh.huawei_boards import Board, gpon_boards, read_boards, read_ports
from collectors.ssh.huawei_olt import (
    OntOptics,
    Pon,
    PonAnswers,
    detail_command,
    down_cause,
    info_command,
    optical_command,
    parse_ont_info,
    parse_optical_info,
    parse_pon,
    parse_totals,
    pon_samples,
    read_detail,
    read_info,
    read_optical,
)
from collectors.ssh.session import SshTarget
from collectors.ssh.textfsm_parse import clean
from lab.fakenos_olt import (
    LAB_PONS,
    UNKNOWN,
    board_ports,
    lab_onus,
    render_boards,
    render_ont_detail,
    render_ont_info,
    render_optical_info,
    render_port_state,
)

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
    pon = Pon(0, 1, 0)
    info = Answer(info_command(pon), fixture("huawei_ont_info_0_1_0.txt"))
    optical = Answer(optical_command(pon), fixture("huawei_optical_info_ma5800.txt"))
    details = ((2, Answer(detail_command(pon, 2), fixture("huawei_ont_detail_offline.txt"))),)
    answers = [PonAnswers(pon, info, optical, details)]
    samples = pon_samples(answers, TAGS, AT)
    onus = {s.tags[m.TAG_ONU_ID]: s for s in samples if s.measurement == m.ONU}
    assert sorted(onus, key=int) == ["0", "1", "2", "3", "4", "5"]
    assert dict(onus["0"].tags) == {m.TAG_DEVICE: "olt-1", m.TAG_SITE: "sh-pd-co", m.TAG_REGION: "sh",
                                    m.TAG_ROLE: "olt", m.TAG_PON: "0/1/0", m.TAG_ONU_ID: "0",
                                    m.TAG_SERIAL: "HWTCA1B2C300"}
    assert dict(onus["0"].fields) == {m.F_STATUS: 1, m.F_RX_DBM: -24.68, m.F_TX_DBM: 3.68, m.F_OLT_RX_DBM: -22.68,
                                      m.F_TEMPERATURE_C: 38.0, m.F_VOLTAGE_V: 3.2, m.F_BIAS_MA: 6.0,
                                      m.F_DISTANCE_M: 171}
    # offline: '-' readings are absent, never zero; the down cause from 'display ont info 0 1 0 2'
    assert dict(onus["2"].fields) == {m.F_STATUS: 2, m.F_LAST_DOWN_CAUSE: "losi"}
    assert m.F_LAST_DOWN_CAUSE not in onus["4"].fields  # offline, but its cause was not asked
    pon_rows = [s for s in samples if s.measurement == m.PON_PORT]
    assert [(dict(s.tags)[m.TAG_IFINDEX], dict(s.fields)) for s in pon_rows] == [
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


@pytest.mark.parametrize(
    ("platform", "intervals", "scheduled", "warned"),
    [
        pytest.param("cisco_ios", {"ssh_onu": (300.0, 60.0)}, [], ["ssh_interfaces"], id="router-without-interval"),
        pytest.param("huawei_smartax", {"ssh_interfaces": (60.0, 30.0)}, [], ["ssh_onu"], id="olt-without-interval"),
        pytest.param("cisco_ios", {"ssh_interfaces": (60.0, 30.0)}, ["ssh_interfaces"], [], id="configured"),
        pytest.param("linux", {}, [], [], id="platform-without-jobs"),
    ],
)
def test_ssh_poll_jobs_warn_about_jobs_without_interval(
    caplog: pytest.LogCaptureFixture, platform: str, intervals: dict[str, tuple[float, float]],
    scheduled: list[str], warned: list[str],
) -> None:
    t = SshTarget("rtr-9", "127.0.0.1", platform, "u")
    with caplog.at_level(logging.WARNING, logger="collectors.ssh.collect"):
        got = ssh_poll_jobs([t], intervals)
    assert [j.job for j in got] == scheduled
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == len(warned)
    for msg, job in zip(warnings, warned, strict=True):
        assert "device=rtr-9" in msg and f"job={job}" in msg


# --- unrecognised answers fail the poll; only the vendor's "no ONT" text means zero -------------------------

PON = Pon(0, 1, 0)
NO_ONT = fixture("huawei_ont_info_empty.txt")
CARET_UNKNOWN = "                   ^\n  % Unknown command, the error locates at '^'\n"

ANSWER_CASES = [
    pytest.param(NO_ONT, None, "", id="no-ont-is-zero"),
    pytest.param("\r\n  Failure: The ONT does not exist\r\n", None, "", id="no-ont-crlf-is-zero"),
    pytest.param(CARET_UNKNOWN, KIND_DEVICE, "% Unknown command, the error locates at '^'", id="unknown-command"),
    pytest.param("  % Unknown command, the error locates at '^'", KIND_DEVICE,
                 "% Unknown command, the error locates at '^'", id="unknown-command-no-caret"),
    pytest.param("  Failure: The board does not exist\n", KIND_DEVICE, "Failure: The board does not exist",
                 id="board-does-not-exist"),
    pytest.param("  % Parameter error, the error locates at '^'\n", KIND_DEVICE,
                 "% Parameter error, the error locates at '^'", id="parameter-error"),
    pytest.param("  Failure: The port is not in service\n", KIND_DEVICE, "Failure: The port is not in service",
                 id="port-not-in-service"),
    pytest.param("  Error: System is busy, please retry later\n", KIND_DEVICE,
                 "Error: System is busy, please retry later", id="system-busy"),
    pytest.param("", KIND_PARSE, "", id="empty"),
    pytest.param("\r\n   \r\n", KIND_PARSE, "", id="blank-lines"),
    pytest.param("  Command is being executed. Please wait...\n", KIND_PARSE,
                 "Command is being executed. Please wait...", id="unrecognised-text"),
    pytest.param(UNKNOWN, KIND_DEVICE, "% Unknown command, the error locates at '^'", id="lab-olt-unknown"),
]


@pytest.mark.parametrize("where", ["info", "optical"])
@pytest.mark.parametrize(("text", "kind", "line"), ANSWER_CASES)
def test_olt_answers_errors_are_not_empty_pons(where: str, text: str, kind: str | None, line: str) -> None:
    info = Answer(info_command(PON), text if where == "info" else NO_ONT)
    optical = Answer(optical_command(PON), text if where == "optical" else NO_ONT)
    answers = [PonAnswers(PON, info, optical)]
    if kind is None:
        samples = pon_samples(answers, TAGS, AT)
        assert [(s.measurement, dict(s.fields)) for s in samples] == [
            (m.PON_PORT, {m.F_ONUS_TOTAL: 0, m.F_ONUS_ONLINE: 0})]
        return
    with pytest.raises(AnswerError) as err:
        pon_samples(answers, TAGS, AT)
    command = info.command if where == "info" else optical.command
    assert (err.value.kind, err.value.command, err.value.line) == (kind, command, line)
    reason = err.value.reason("olt-1")
    assert reason.startswith(f"{kind}: olt-1: {command!r}: ")
    assert reason.endswith(line or "(empty answer)")


@pytest.mark.parametrize(("text", "kind", "line"), ANSWER_CASES)
def test_ont_detail_errors(text: str, kind: str | None, line: str) -> None:
    answer = Answer(detail_command(PON, 2), text)
    if kind is None:
        assert read_detail(PON, 2, answer) is None  # deleted since the table was read: no cause, no error
        return
    with pytest.raises(AnswerError) as err:
        read_detail(PON, 2, answer)
    assert (err.value.kind, err.value.line) == (kind, line)


@pytest.mark.parametrize(
    ("text", "kind", "line"),
    [
        pytest.param("        ^\n% Invalid input detected at '^' marker.\n", KIND_DEVICE,
                     "% Invalid input detected at '^' marker.", id="invalid-input"),
        pytest.param("% Authorization failed.\n", KIND_DEVICE, "% Authorization failed.", id="authorization"),
        pytest.param("", KIND_PARSE, "", id="empty"),
        pytest.param("Building configuration...\n", KIND_PARSE, "Building configuration...", id="other-command"),
    ],
)
def test_show_interfaces_errors(text: str, kind: str, line: str) -> None:
    with pytest.raises(AnswerError) as err:
        read_show_interfaces(Answer("show interfaces", text), {m.TAG_DEVICE: "r1"})
    assert (err.value.kind, err.value.command, err.value.line) == (kind, "show interfaces", line)


def test_good_answers_pass_the_checks() -> None:
    info = Answer(info_command(PON), fixture("huawei_ont_info_0_1_0.txt"))
    states, totals = read_info(info)
    assert len(states) == 6 and totals is not None and totals.total == 6
    assert len(read_optical(Answer(optical_command(PON), fixture("huawei_optical_info_ma5800.txt")))) == 6
    rows = read_show_interfaces(Answer("show interfaces", fixture("cisco_ios_show_interfaces_c9500.txt")), {})
    assert len(rows) == fixture("cisco_ios_show_interfaces_c9500.txt").count(", line protocol is ")


@pytest.mark.parametrize(
    ("raw", "line"),
    [("", ""), ("\n   ^\n  % Unknown command\n", "% Unknown command"), ("\x1b[1D  x  y \r\n", "x  y"),
     ("a" * 300, "a" * 120)],
)
def test_first_line(raw: str, line: str) -> None:
    assert first_line(raw) == line


# --- last down cause -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cli", "cause"),
    [("LOS", "los"), ("LOSi/LOBi", "losi"), ("LOSi", "losi"), ("dying-gasp", "dying_gasp"), ("LOFi", "lofi"),
     ("ONT reset", "ont_reset"), ("deactived ONT", "deactived_ont"), ("-", None), ("", None), (" -- ", None)],
)
def test_down_cause(cli: str, cause: str | None) -> None:
    assert down_cause(cli) == cause


@pytest.mark.parametrize(
    ("name", "pon", "onu_id", "status", "cause"),
    [
        pytest.param("huawei_ont_detail_offline.txt", Pon(0, 1, 0), 2, 2, "losi", id="offline-losi"),
        pytest.param("huawei_ont_detail_online_crlf.txt", Pon(0, 2, 3), 12, 1, None, id="online-never-down-pager"),
        pytest.param("huawei_ont_detail_offline.txt:empty-description", Pon(0, 1, 0), 2, 2, "losi",
                     id="empty-value-above-the-cause"),
    ],
)
def test_parse_ont_detail(name: str, pon: Pon, onu_id: int, status: int, cause: str | None) -> None:
    file, _, variant = name.partition(":")
    text = fixture(file)
    if variant == "empty-description":
        text = text.replace("Description             : school", "Description             :")
        assert "Description             :\n  Last down cause" in text
    detail = read_detail(pon, onu_id, Answer(detail_command(pon, onu_id), text))
    assert detail is not None
    assert (detail.pon, detail.onu_id, detail.status, detail.last_down_cause) == (pon, onu_id, status, cause)


@pytest.mark.parametrize("onu", lab_onus(), ids=lambda o: f"{o.pon}-{o.onu_id}")
def test_lab_ont_detail_round_trips(onu: object) -> None:
    from lab.fakenos_olt import LabOnu

    assert isinstance(onu, LabOnu)
    pon = parse_pon(onu.pon)
    assert pon is not None
    detail = read_detail(pon, onu.onu_id, Answer(detail_command(pon, onu.onu_id), render_ont_detail(onu)))
    assert detail is not None
    assert detail.status == (1 if onu.online else 2)
    assert detail.last_down_cause == down_cause(onu.last_down_cause)


# --- PON port discovery ----------------------------------------------------------------------------------------


def test_read_boards_captured() -> None:
    boards = read_boards(Answer("display board 0", fixture("huawei_display_board_0.txt")))
    assert [b.slot for b in boards] == [1, 2, 3, 4, 5, 8, 9, 10, 11]
    up, down = gpon_boards(boards)
    assert [(b.interface, b.name) for b in up] == [("0/1", "H901GPHF"), ("0/5", "H901GPSF")]
    assert [(b.interface, b.status) for b in down] == [("0/2", "Failed"), ("0/4", "Auto_find")]


@pytest.mark.parametrize(
    ("name", "gpon", "normal"),
    [("H901GPHF", True, True), ("H807GPBD", True, True), ("H805GPFD", True, True), ("H901OXHD", False, True),
     ("H901MPLA", False, True), ("H901PILA", False, True)],
)
def test_board_kinds(name: str, gpon: bool, normal: bool) -> None:
    b = Board(0, 1, name, "Normal")
    assert (b.gpon, b.normal) == (gpon, normal)


def test_read_ports_captured() -> None:
    pons = read_ports(Answer("display port state all", fixture("huawei_port_state_all_0_1.txt")))
    assert pons == (Pon(0, 1, 0), Pon(0, 1, 1), Pon(0, 1, 2))


@pytest.mark.parametrize(("text", "kind"), [(CARET_UNKNOWN, KIND_DEVICE), ("", KIND_PARSE),
                                            ("  Failure: The board does not exist", KIND_DEVICE)])
@pytest.mark.parametrize("reader", ["boards", "ports"])
def test_discovery_errors(reader: str, text: str, kind: str) -> None:
    with pytest.raises(AnswerError) as err:
        if reader == "boards":
            read_boards(Answer("display board 0", text))
        else:
            read_ports(Answer("display port state all", text))
    assert err.value.kind == kind


def test_lab_discovery_round_trips() -> None:
    boards = board_ports(LAB_PONS)
    up, down = gpon_boards(read_boards(Answer("display board 0", render_boards(boards, [3]))))
    assert [b.interface for b in up] == list(boards) and [b.slot for b in down] == [3]
    for board, count in boards.items():
        ports = read_ports(Answer("display port state all", render_port_state(board, count, lab_onus())))
        assert [str(p) for p in ports] == [f"{board}/{i}" for i in range(count)]
