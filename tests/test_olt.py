"""GPON OLT profiles: index decoders, serials, the request-rate limit and its PDU accounting, the smartax/zxa10
recordings, and a generated 1,000-ONU OLT walked through real snmpsim + pysnmp (with and without the limit).

The recording tables run over both transports (``transport``: in-memory client and real snmpsim + pysnmp);
this module serves its own snmpsim (overriding the session one) with the OLT recordings, the zxa10 recording
with ONU rows added, and the generated OLT.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from collectors import measurements as m
from collectors.counters import Limits, RateTracker
from collectors.model import PollResult, Sample, SnmpClient, Target
from collectors.snmp import indexes as ix
from collectors.snmp.collect import SnmpCollector
from collectors.snmp.decoders import gpon_serial
from collectors.snmp.pysnmp_client import DEFAULT_VARBIND_BUDGET, PysnmpClient, PysnmpEngine, bulk_repetitions
from collectors.snmp.ratelimit import (
    WARN_FRACTION,
    PollGate,
    Throttle,
    TokenBucket,
    near_timeout,
    paced_seconds,
    pdu_budget,
)
from config.profiles import Profile, ProfileSet, ReduceGroup, TableGroup, load_profiles
from lab import gen_olt
from lab.network import default_recordings_dir
from tests.servers.snmpsim import SnmpsimRecordings, _serve
from tests.snmprec import Recording, RecordingClient, load_snmprec, merge_snmprec, parse_snmprec
from tests.transports import Transport

DEVICES = default_recordings_dir()
T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
GEN_SEED, GEN_ONUS = 7, 1024
BIG = gen_olt.DEFAULT_OUT.stem  # "olt_big"


@pytest.fixture(scope="module")
def profiles() -> ProfileSet:
    return load_profiles()


# --- index decoders -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ifindex", "expected"),
    [
        (4194304000, ("0/0/0", "gpon")),
        (4194304256, ("0/0/1", "gpon")),
        (4194312960, ("0/1/3", "gpon")),  # slot adds 8192, port 256
        (4194307840, ("0/0/15", "gpon")),
        ((125 << 25) + (1 << 19) + (2 << 13) + (7 << 8), ("1/2/7", "gpon")),
        ((127 << 25) + (0 << 19) + (3 << 13) + (1 << 8), ("0/3/1", "xgpon")),  # XG-PON type 127
        (4194304000 - (1 << 32), ("0/0/0", "gpon")),  # arrived as a signed Integer32 (a trap varbind)
        (128, None),  # InLoopBack0
        (234938368, None),  # an Ethernet ifIndex of the smartax recording
        (4194304001, None),  # low byte set: not a port
        (1 << 32, None),
    ],
)
def test_huawei_pon_ifindex(ifindex: int, expected: tuple[str, str] | None) -> None:
    got = ix.huawei_pon(ifindex)
    assert (None if got is None else (got.name, got.kind)) == expected
    if got is not None and expected is not None and ifindex > 0:
        kind = 127 if got.kind == "xgpon" else 125
        assert ix.huawei_pon_ifindex(got.frame, got.slot, got.port, kind) == ifindex


@pytest.mark.parametrize(
    ("form", "index", "pon", "other_form"),
    [
        ("if", 268435456, "1/1/1", 268501248),  # gpon_1/1/1 in IF-MIB and in the GPON tables (recording)
        ("if", 268435712, "1/1/2", 268501504),
        ("if", 268437248, "1/1/8", 268503040),
        ("if", 268632064, "1/4/1", 268697856),  # gei_1/4/1: the IF-MIB form alone cannot tell
        ("gpon", 268501248, "1/1/1", 268435456),
        ("gpon", 268503040, "1/1/8", 268437248),
        ("gpon", 268566784, "1/2/1", 268500992),
        ("gpon", 268435456, None, None),  # slot 0 / port 0 is no GPON-table index
        ("if", 4194304000, None, None),
    ],
)
def test_zte_index_forms(form: str, index: int, pon: str | None, other_form: int | None) -> None:
    if form == "if":
        got, other = ix.zte_if_pon(index), ix.zte_ifindex_to_gpon(index)
    else:
        got, other = ix.zte_gpon_pon(index), ix.zte_gpon_to_ifindex(index)
    assert (None if got is None else got.name) == pon
    assert other == other_form


@pytest.mark.parametrize(
    ("decoder", "index", "tags"),
    [
        ("huawei_pon", "4194312960", {"pon": "0/1/3"}),
        ("huawei_pon", "128", None),
        ("huawei_onu", "4194304256.7", {"pon": "0/0/1", "onu_id": "7"}),
        ("huawei_onu", "4194304256", None),
        ("zte_if_pon", "268435968", {"pon": "1/1/3"}),
        ("zte_gpon_pon", "268501760", {"pon": "1/1/3"}),
        ("zte_onu", "268501248.12", {"pon": "1/1/1", "onu_id": "12"}),
        ("zte_onu", "x.1", None),
    ],
)
def test_named_index_decoders(decoder: str, index: str, tags: dict[str, str] | None) -> None:
    assert ix.INDEX_DECODERS[decoder].decode(index) == tags


@pytest.mark.parametrize(
    ("parent", "index", "expected"),
    [("drop_last", "4194304256.7", "4194304256"), ("drop_last", "5", None),
     ("zte_onu_ifindex", "268501248.3", "268435456"), ("zte_onu_ifindex", "12.3", None)],
)
def test_parent_decoders(parent: str, index: str, expected: str | None) -> None:
    assert ix.PARENT_DECODERS[parent](index) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"HWTC\x12\x34\xab\xcd", "HWTC1234ABCD"),
        (b"ZTEG\x00\x00\x00\x01", "ZTEG00000001"),
        ("48575443DEADBEEF", "HWTCDEADBEEF"),
        (b"HWTCdeadbeef", "HWTCDEADBEEF"),
        (b"\x00\x00\x00\x00\x00\x00\x00\x00", None),
        (b"short", None),
    ],
)
def test_gpon_serial(raw: bytes | str, expected: str | None) -> None:
    assert gpon_serial(raw) == expected


# --- the token bucket ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "burst", "times", "waits"),
    [
        (10, 1, [0.0, 0.0, 0.0], [0.0, 0.1, 0.2]),  # back to back: spaced 1/rate
        (10, 1, [0.0, 0.5, 0.5], [0.0, 0.0, 0.1]),  # refilled after a pause
        (20, 3, [0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.05]),  # a burst of 3, then paced
        (2, 1, [0.0, 10.0, 10.0], [0.0, 0.0, 0.5]),  # a long pause saves at most `burst`
    ],
)
def test_token_bucket(rate: float, burst: float, times: list[float], waits: list[float]) -> None:
    bucket = TokenBucket(rate, burst)
    assert [bucket.reserve(t) for t in times] == pytest.approx(waits)


async def test_collector_enforces_the_profile_limit(profiles: ProfileSet) -> None:
    """Each port call of the in-memory client takes a token: the waits follow the profile's 20/s."""
    now = [100.0]
    slept: list[float] = []

    async def sleep(s: float) -> None:
        slept.append(s)

    rec = load_snmprec(DEVICES / "smartax.snmprec")
    col = SnmpCollector(profiles, lambda t: RecordingClient(rec), RateTracker(Limits(60)), lambda: T0,
                        monotonic=lambda: now[0], sleep=sleep)
    result = await col.collect(Target("smartax", "127.0.0.1"), "huawei_smartax", "onu")
    assert result.ok
    calls = len([g for g in profiles.get("huawei_smartax").groups_for("onu")])
    assert slept == pytest.approx([0.05 * k for k in range(1, calls)])
    assert col.throttle("smartax", 20).bucket.rate == 20


def test_bucket_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        TokenBucket(0)


# --- the recordings this module serves ----------------------------------------------------------------------

Z = "1.3.6.1.4.1.3902.1012.3"
ZTE_ONUS = f"""
{Z}.28.1.1.2.268501248.1|4|onu-a
{Z}.28.1.1.2.268501248.2|4|onu-b
{Z}.28.1.1.2.268501760.1|4|onu-c
{Z}.28.1.1.5.268501248.1|4x|5a5445470000abcd
{Z}.28.1.1.5.268501248.2|4x|5a54454700001234
{Z}.28.1.1.5.268501760.1|4x|5a54454700000042
{Z}.28.2.1.2.268501248.1|2|1
{Z}.28.2.1.2.268501248.2|2|2
{Z}.28.2.1.2.268501760.1|2|1
{Z}.50.12.1.1.10.268501248.1.1|2|2500
{Z}.50.12.1.1.10.268501248.2.1|2|65535
{Z}.50.12.1.1.10.268501760.1.1|2|1000
{Z}.50.12.1.1.14.268501248.1.1|2|5000
"""
ZTE = "zxa10_onus"  # the zxa10_c320 recording with the ONU rows above (GPON-table index form)


def _zte_text() -> str:
    return merge_snmprec((DEVICES / "zxa10_c320.snmprec").read_text(encoding="iso-8859-1"), ZTE_ONUS)


@pytest.fixture(scope="module")
def snmpsim_recordings() -> Iterator[SnmpsimRecordings]:
    """snmpsim serving the OLT recordings, the zxa10 one with ONUs, and the generated OLT (overrides the
    session fixture in this module)."""
    with tempfile.TemporaryDirectory(prefix="netqos-olt-") as tmp:
        made = Path(tmp) / f"{ZTE}.snmprec"
        made.write_text(_zte_text(), encoding="iso-8859-1")
        sources = [DEVICES / "smartax.snmprec", DEVICES / "zxa10_c320.snmprec", made, gen_olt.DEFAULT_OUT]
        yield from _serve(sources, Path(tmp) / "serve")


@pytest.fixture(scope="module")
def recordings() -> dict[str, Recording]:
    return {
        "smartax": load_snmprec(DEVICES / "smartax.snmprec"),
        "zxa10_c320": load_snmprec(DEVICES / "zxa10_c320.snmprec"),
        ZTE: parse_snmprec(_zte_text().splitlines()),
        BIG: load_snmprec(gen_olt.DEFAULT_OUT),
    }


async def _poll(profiles: ProfileSet, transport: Transport, stem: str, profile: str, job: str) -> PollResult:
    async def nosleep(s: float) -> None:
        return None

    col = SnmpCollector(profiles, transport.factory, RateTracker(Limits(60)), lambda: T0, sleep=nosleep)
    result = await col.collect(transport.target(stem), profile, job)
    assert result.ok, result.error
    return result


# --- the smartax recording against LibreNMS's sensors ------------------------------------------------------

SENSOR_FIELD = {  # LibreNMS sensor class -> (field, factor from LibreNMS's unit to ours)
    "temperature": (m.F_TEMPERATURE_C, 1.0),
    "voltage": (m.F_VOLTAGE_V, 1.0),
    "current": (m.F_BIAS_MA, 1000.0),  # LibreNMS: A; ours: mA
    "dbm": (m.F_TX_DBM, 1.0),
}


def _smartax_cases() -> list[tuple[str, str, float]]:
    key = json.loads((DEVICES / "smartax.expected.json").read_text())
    out = []
    for s in key["sensors"]:
        if ".2011.6.128.1.1.2.23.1." in s["oid"] and s["class"] in SENSOR_FIELD:
            out.append((s["oid"].rsplit(".", 1)[1], s["class"], float(s["current"])))
    return out


@pytest.fixture(scope="module")
async def smartax_ports(profiles: ProfileSet, transport: Transport) -> dict[str, Sample]:
    result = await _poll(profiles, transport, "smartax", "huawei_smartax", "onu")
    return {s.tags[m.TAG_IFINDEX]: s for s in result.samples if s.measurement == m.PON_PORT}


@pytest.mark.parametrize(("ifindex", "cls", "value"), _smartax_cases())
def test_smartax_pon_optics_match_librenms(
    smartax_ports: dict[str, Sample], ifindex: str, cls: str, value: float
) -> None:
    field, factor = SENSOR_FIELD[cls]
    assert smartax_ports[ifindex].fields[field] == pytest.approx(value * factor)


def test_smartax_pon_ports_are_the_pon_ifindexes(smartax_ports: dict[str, Sample]) -> None:
    key = json.loads((DEVICES / "smartax.expected.json").read_text())
    pons = {str(p["ifIndex"]): p for p in key["ports"] if str(p["ifName"]).startswith("GPON ")}
    assert set(smartax_ports) == set(pons) and len(pons) == 32
    for ifindex, port in pons.items():
        sample = smartax_ports[ifindex]
        assert "GPON " + sample.tags[m.TAG_PON] == port["ifName"]
        assert sample.fields[m.F_OPER_STATUS] == {"up": 1, "down": 2}[port["ifOperStatus"]]
    # no ONU table in this recording: onus_total falls back to "Added ONTs" (LibreNMS: 11 on 0/0/15)
    assert smartax_ports["4194307840"].fields[m.F_ONUS_TOTAL] == 11
    assert m.F_ONUS_ONLINE not in smartax_ports["4194307840"].fields


# --- ZTE: the recording's PON ports, and ONU rows added in the GPON-table index form ------------------------


@pytest.fixture(scope="module")
async def zte(profiles: ProfileSet, transport: Transport) -> PollResult:
    return await _poll(profiles, transport, ZTE, "zte_zxa10", "onu")


def test_zte_pon_ports_from_ifname(zte: PollResult, recordings: dict[str, Recording]) -> None:
    rec = recordings["zxa10_c320"]
    names = {i: v.decode() for i, v in rec.subtree("1.3.6.1.2.1.31.1.1.1.1").items()
             if isinstance(v, bytes) and v.startswith(b"gpon_")}
    ports = {s.tags[m.TAG_IFINDEX]: s for s in zte.samples if s.measurement == m.PON_PORT}
    assert set(ports) == set(names) and len(names) == 8
    for i, name in names.items():
        assert "gpon_" + ports[i].tags[m.TAG_PON] == name
        assert ports[i].fields[m.F_OPER_STATUS] == rec.values[f"1.3.6.1.2.1.2.2.1.8.{i}"]


@pytest.mark.parametrize(
    ("ifindex", "total", "online"), [("268435456", 2, 1), ("268435968", 1, 1), ("268435712", 0, 0)]
)
def test_zte_onu_counts_join_through_the_index_conversion(
    zte: PollResult, ifindex: str, total: int, online: int
) -> None:
    [port] = [s for s in zte.samples if s.measurement == m.PON_PORT and s.tags[m.TAG_IFINDEX] == ifindex]
    assert (port.fields[m.F_ONUS_TOTAL], port.fields[m.F_ONUS_ONLINE]) == (total, online)


@pytest.mark.parametrize(
    ("pon", "onu_id", "serial", "status", "rx", "olt_rx"),
    [
        ("1/1/1", "1", "ZTEG0000ABCD", 1, 2500 * 0.002 - 30, 5000 * 0.002 - 30),
        ("1/1/1", "2", "ZTEG00001234", 2, None, None),  # 65535: no reading
        ("1/1/3", "1", "ZTEG00000042", 1, 1000 * 0.002 - 30, None),
    ],
)
def test_zte_onus(
    zte: PollResult, pon: str, onu_id: str, serial: str, status: int, rx: float | None, olt_rx: float | None
) -> None:
    [onu] = [s for s in zte.samples if s.measurement == m.ONU and s.tags[m.TAG_PON] == pon
             and s.tags[m.TAG_ONU_ID] == onu_id]
    assert onu.tags[m.TAG_SERIAL] == serial
    assert onu.fields[m.F_STATUS] == status
    assert onu.fields.get(m.F_RX_DBM) == (None if rx is None else pytest.approx(rx))
    assert onu.fields.get(m.F_OLT_RX_DBM) == (None if olt_rx is None else pytest.approx(olt_rx))


# --- one poll's PDUs: the gate counts them and warns near the job's timeout ---------------------------------


@pytest.mark.parametrize(
    ("rate", "timeout_s", "pdus", "warn_at"),
    [
        (20.0, 10.0, 200, int(WARN_FRACTION * 10.0 * 20.0) + 1),  # (161 − 1) / 20 s = 8 s = 80 % of 10 s
        (20.0, 10.0, 160, None),  # 159 / 20 = 7.95 s: below 80 %
        (50.0, 110.0, 4500, int(WARN_FRACTION * 110.0 * 50.0) + 1),
        (20.0, None, 3000, None),  # no timeout known: never warns
        (5.0, 1.0, 10, int(WARN_FRACTION * 1.0 * 5.0) + 1),
    ],
)
async def test_poll_gate_counts_pdus_and_warns_once_near_the_timeout(
    caplog: pytest.LogCaptureFixture, rate: float, timeout_s: float | None, pdus: int, warn_at: int | None
) -> None:
    now = [0.0]

    async def sleep(s: float) -> None:
        now[0] += s

    throttle = Throttle(TokenBucket(rate), lambda: now[0], sleep)
    gate = PollGate(throttle, "olt9", "onu", timeout_s)
    warned_at = None
    with caplog.at_level(logging.WARNING, logger="collectors.snmp.ratelimit"):
        for _ in range(pdus):
            await gate.wait()
            if gate.warned and warned_at is None:
                warned_at = gate.pdus
    assert warned_at == warn_at
    warnings = [r.getMessage() for r in caplog.records if "device=olt9 job=onu" in r.getMessage()]
    assert len(warnings) == (0 if warn_at is None else 1)
    pacing = gate.pacing
    assert pacing.pdus == pdus == throttle.requests
    assert now[0] == pytest.approx((pdus - 1) / rate)  # the fake clock moved by the sleeps only
    assert pacing.waited_s == pytest.approx((pdus - 1) / rate) == pytest.approx(pacing.paced_s)
    assert pacing.near_timeout == (warn_at is not None)


@pytest.mark.parametrize(
    ("rate", "timeout_s", "budget"),
    [(20.0, 110.0, 1760), (20.0, 10.0, 160), (50.0, 110.0, 4400), (0.5, 1.0, 1)],
)
def test_pdu_budget_is_the_last_count_without_a_warning(rate: float, timeout_s: float, budget: int) -> None:
    assert pdu_budget(rate, timeout_s) == budget
    if budget > 1:
        assert not near_timeout(budget, rate, timeout_s)
        assert near_timeout(budget + 1, rate, timeout_s)
    assert paced_seconds(budget, rate) < WARN_FRACTION * timeout_s or budget == 1


async def test_collector_warns_when_a_poll_nears_its_job_timeout(
    profiles: ProfileSet, caplog: pytest.LogCaptureFixture
) -> None:
    now = [0.0]

    async def sleep(s: float) -> None:
        now[0] += s

    rec = load_snmprec(DEVICES / "smartax.snmprec")
    calls = len(profiles.get("huawei_smartax").groups_for("onu"))  # the in-memory client: one PDU per port call
    rate = profiles.get("huawei_smartax").max_requests_per_s or 0.0
    timeout_s = paced_seconds(calls, rate) / WARN_FRACTION  # this poll needs just the warning's share of it
    wiring: dict[str, Any] = {"budgets": {"onu": timeout_s, "system": 60.0}}  # job -> timeout_s
    col = SnmpCollector(profiles, lambda t: RecordingClient(rec), RateTracker(Limits(60)), lambda: T0,
                        monotonic=lambda: now[0], sleep=sleep, **wiring)
    with caplog.at_level(logging.WARNING, logger="collectors.snmp.ratelimit"):
        assert (await col.collect(Target("olt7", "127.0.0.1"), "huawei_smartax", "onu")).ok
        assert (await col.collect(Target("olt7", "127.0.0.1"), "huawei_smartax", "system")).ok
    warnings = [r.getMessage() for r in caplog.records if r.name == "collectors.snmp.ratelimit"]
    assert len(warnings) == 1 and "device=olt7 job=onu" in warnings[0] and f"{calls} PDUs" in warnings[0]


# --- the generated 1,000-ONU OLT through real snmpsim + pysnmp -----------------------------------------------


def test_generated_recording_is_current() -> None:
    assert gen_olt.DEFAULT_OUT.read_text(encoding="iso-8859-1") == gen_olt.snmprec(
        gen_olt.onus(GEN_ONUS, GEN_SEED)
    ), "re-run python -m lab.gen_olt"


def walk_steps(rows: list[int], max_repetitions: int, budget: int) -> int:
    """GETBULKs a multi-column walk of columns with ``rows`` rows takes (PysnmpClient's way): every PDU asks
    each unfinished column for ``bulk_repetitions(width)`` more rows; a column is done once it is asked past
    its last row."""
    asked = [0] * len(rows)
    active = list(range(len(rows)))
    steps = 0
    while active:
        r = bulk_repetitions(len(active), max_repetitions, budget)
        steps += 1
        for j in active:
            asked[j] += r
        active = [j for j in active if asked[j] <= rows[j]]
    return steps


def expected_pdus(profile: Profile, job: str, rec: Recording, max_repetitions: int, budget: int) -> int:
    """The request PDUs one poll of ``job`` needs on ``rec``: one walk per table group, of the columns not
    walked yet (as :func:`collectors.snmp.collect.fetch` does; this job has no scalar GET)."""
    walked: set[str] = set()
    total = 0
    for g in profile.groups_for(job):
        assert isinstance(g, TableGroup | ReduceGroup)
        wanted = [c for c in g.columns if c not in walked]
        walked.update(wanted)
        if wanted:
            total += walk_steps([len(rec.subtree(c)) for c in wanted], max_repetitions, budget)
    return total


@pytest.mark.parametrize("limited", [False, True], ids=["unlimited", "shipped-limit"])
async def test_generated_olt_round_trip_and_pacing(
    profiles: ProfileSet, snmpsim_recordings: SnmpsimRecordings, recordings: dict[str, Recording], limited: bool
) -> None:
    items = gen_olt.onus(GEN_ONUS, GEN_SEED)
    prof = profiles.get("huawei_smartax")
    limit = prof.max_requests_per_s if limited else None
    assert not limited or limit is not None
    olt = Profile("olt", prof.vendor, prof.detect, prof.groups, prof.source, limit)
    target = snmpsim_recordings.target(BIG, timeout_s=5.0, retries=2)
    clients: list[PysnmpClient] = []
    async with PysnmpEngine() as engine:

        def factory(t: Target) -> SnmpClient:
            clients.append(engine.client(t))
            return clients[-1]

        col = SnmpCollector(ProfileSet({**profiles.profiles, "olt": olt}), factory, RateTracker(Limits(60)),
                            lambda: T0)
        t0 = time.perf_counter()
        result = await col.collect(target, "olt", "onu")
        took = time.perf_counter() - t0
        admitted = col.throttle(target.name, limit).requests if limit is not None else None
    assert result.ok, result.error
    pdus = sum(c.stats.requests for c in clients)
    want = expected_pdus(olt, "onu", recordings[BIG], target.max_repetitions, DEFAULT_VARBIND_BUDGET)
    print(f"\n{GEN_ONUS:,}-ONU onu job, limit={limit}/s: {took:.2f} s, {pdus} PDUs (expected {want}), "
          f"{result.varbinds} varbinds = {result.varbinds / pdus:.1f} per PDU, "
          f"{pdus / GEN_ONUS:.3f} PDUs per ONU")
    assert pdus == want  # the PDU count follows from the table sizes and the GETBULK sizing
    assert result.varbinds / pdus <= DEFAULT_VARBIND_BUDGET
    if limit is not None:
        assert admitted == pdus  # the gate saw every PDU
        assert took >= (pdus - 1) / limit  # ... and spaced them 1/limit apart
    got = {(s.tags[m.TAG_PON], s.tags[m.TAG_ONU_ID]): s for s in result.samples if s.measurement == m.ONU}
    assert len(got) == len(items) >= 1000
    for o in items:
        s = got[(o.pon, str(o.onu_id))]
        assert s.tags[m.TAG_SERIAL] == o.serial[:4].decode() + o.serial[4:].hex().upper()
        assert s.fields[m.F_STATUS] == (1 if o.online else 2)
        for field, value in ((m.F_RX_DBM, o.rx_dbm), (m.F_TX_DBM, o.tx_dbm), (m.F_OLT_RX_DBM, o.olt_rx_dbm),
                             (m.F_VOLTAGE_V, o.voltage_v), (m.F_DISTANCE_M, o.distance_m)):
            if value is None:
                assert field not in s.fields, (o, field)  # the sentinel is no field, never a number
            else:
                assert s.fields[field] == pytest.approx(value, abs=1e-6), (o, field)
        assert s.fields[m.F_LAST_DOWN_CAUSE] == {1: "los", 2: "losi", 13: "dying_gasp"}[o.down_cause]
    ports = {s.tags[m.TAG_PON]: s for s in result.samples if s.measurement == m.PON_PORT}
    for pon in {o.pon for o in items}:
        mine = [o for o in items if o.pon == pon]
        assert ports[pon].fields[m.F_ONUS_TOTAL] == len(mine)
        assert ports[pon].fields[m.F_ONUS_ONLINE] == sum(o.online for o in mine)
