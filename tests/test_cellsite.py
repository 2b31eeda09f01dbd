"""Cell-site profiles (microwave radios, site power) against the recordings and LibreNMS's answer keys.

Every table runs over both transports (``transport``: the in-memory client and real snmpsim + pysnmp). This
module serves its own snmpsim (overriding the session one): the lab's recordings plus recordings made here --
rows of LibreNMS's MINI-LINK TN and NetSure recordings (``tests/snmpsim/{ericsson-tn_tn,netsure}.snmprec`` in
librenms/librenms; not in lab/devices), a NetSure on the EES-POWER-MIB written from the MIB, and copies of the
Eltek recording with faults written in.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from collectors import measurements as m
from collectors.counters import Limits, RateTracker
from collectors.model import PollResult, Target
from collectors.snmp.collect import SnmpCollector
from config.profiles import ProfileSet, load_profiles
from lab.network import default_recordings_dir
from tests.servers.snmpsim import SnmpsimRecordings, _serve
from tests.snmprec import Recording, RecordingClient, load_snmprec, merge_snmprec, parse_snmprec
from tests.transports import Transport

DEVICES = default_recordings_dir()
T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)



def _lab(stem: str) -> str:
    return (DEVICES / f"{stem}.snmprec").read_text(encoding="iso-8859-1")


TN = "1.3.6.1.4.1.193.81.3.4"
# MINI-LINK TN: the RF rows (Tx, RSL) and the terminal rows (name, capacity) are LibreNMS's TN recording's; the
# ifName and the modem (MSE) rows are written here -- that recording has no MSE row.
MINILINK_TN = f"""
1.3.6.1.2.1.1.1.0|4|MINI-LINK Traffic Node
1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.193.81.1.1.3
1.3.6.1.2.1.1.3.0|67|66396900
1.3.6.1.2.1.2.2.1.2.2113143041|4|RF
1.3.6.1.2.1.2.2.1.2.2129920257|4|RF
1.3.6.1.2.1.2.2.1.2.2134638594|4|LAN
1.3.6.1.2.1.2.2.1.2.2146697473|4|RF
1.3.6.1.2.1.2.2.1.2.2146697601|4|RF
1.3.6.1.2.1.2.2.1.8.2113143041|2|4
1.3.6.1.2.1.2.2.1.8.2129920257|2|4
1.3.6.1.2.1.2.2.1.8.2134638594|2|2
1.3.6.1.2.1.2.2.1.8.2146697473|2|2
1.3.6.1.2.1.2.2.1.8.2146697601|2|1
1.3.6.1.2.1.31.1.1.1.1.2113143041|4|RF 1/1
1.3.6.1.2.1.31.1.1.1.1.2129920257|4|RF 1/2
1.3.6.1.2.1.31.1.1.1.1.2134638594|4|LAN 1/3
1.3.6.1.2.1.31.1.1.1.1.2146697473|4|RF 2/1
1.3.6.1.2.1.31.1.1.1.1.2146697601|4|RF 2/2
1.3.6.1.2.1.47.1.1.1.1.7.1426337536|4|RAU IF 1/1
1.3.6.1.2.1.47.1.1.1.1.7.1694772992|4|RAU IF 1/2
{TN}.1.1.1.1.18.1|4|ST308-GI116
{TN}.1.1.1.1.18.3|4|GI116-ST308
{TN}.1.1.14.1.7.1|2|239208
{TN}.1.1.14.1.7.3|2|239208
{TN}.2.1.1.1.15.1426337536|2|-352
{TN}.2.1.1.1.15.1694772992|2|-318
{TN}.3.1.3.1.1.2113143041|2|-99
{TN}.3.1.3.1.1.2129920257|2|28
{TN}.3.1.3.1.1.2146697473|2|255
{TN}.3.1.3.1.1.2146697601|2|28
{TN}.3.1.3.1.10.2113143041|2|-639
{TN}.3.1.3.1.10.2129920257|2|-272
{TN}.3.1.3.1.10.2146697473|2|-999
{TN}.3.1.3.1.10.2146697601|2|-275
"""

PCU = "1.3.6.1.4.1.885.3.2.5.1.3"
_PCU_AMPS = [  # psPCUCurrent (A) of LibreNMS's netsure recording, PCUs 1-36 and 41-76
    20, 21, 22, 21, 21, 21, 21, 21, 21, 22, 21, 22, 21, 21, 21, 22, 22, 22,
    21, 20, 22, 21, 22, 22, 22, 22, 22, 23, 22, 21, 21, 22, 22, 22, 22, 21,
    22, 21, 21, 21, 21, 20, 22, 22, 22, 21, 21, 22, 22, 22, 21, 21, 20, 22,
    21, 22, 21, 21, 22, 21, 22, 22, 21, 22, 21, 21, 22, 21, 22, 21, 21, 21,
]
_PCU_INDEXES = [*range(1, 37), *range(41, 77)]
NETSURE = """
1.3.6.1.2.1.1.1.0|4|Emerson Vortex Power System
1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.885.3
1.3.6.1.2.1.1.3.0|67|1576133521
1.3.6.1.4.1.885.3.1.1.0|4|4.0.0.1
1.3.6.1.4.1.885.3.2.1.1.0|4|54.01
1.3.6.1.4.1.885.3.2.1.2.0|2|1580
1.3.6.1.4.1.885.3.2.1.5.0|4|54.01
1.3.6.1.4.1.885.3.2.1.6.0|4|1576
1.3.6.1.4.1.885.3.2.1.7.0|4|0.00
1.3.6.1.4.1.885.3.2.1.10.0|2|0
""" + "\n".join(f"{PCU}.{i}|2|{a}" for i, a in zip(_PCU_INDEXES, _PCU_AMPS, strict=True))

EES = "1.3.6.1.4.1.6302.2.1.2"
NETSURE_EES = f"""
1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.6302.2.1.1
1.3.6.1.2.1.1.3.0|67|100
{EES}.1.0|2|5
{EES}.2.0|2|53950
{EES}.5.1.0|2|48100
{EES}.9.0|2|8
{EES}.11.1.0|2|4
{EES}.11.2.0|2|4
{EES}.11.4.1.8.1|2|2
{EES}.11.4.1.8.2|2|1
{EES}.11.4.1.8.3|2|2
{EES}.11.4.1.8.4|2|2
{EES}.12.1.0|2|35500
"""

ELTEK = "1.3.6.1.4.1.12148.9"
ELTEK_FAULT = f"""
{ELTEK}.3.5.0|2|1
{ELTEK}.5.5.2.1.2.1|2|2
{ELTEK}.6.1.0|2|0
{ELTEK}.6.2.0|2|0
{ELTEK}.6.3.0|2|0
"""

MADE = {  # recording stem -> snmprec text
    "minilink_tn": merge_snmprec("", MINILINK_TN),
    "netsure": merge_snmprec("", NETSURE),
    "netsure_ees": merge_snmprec("", NETSURE_EES),
    "eltek_fault": merge_snmprec(_lab("eltek-webpower"), ELTEK_FAULT),
}
LAB = ("ericsson-ml", "ceraos", "eltek-webpower")


@pytest.fixture(scope="module")
def snmpsim_recordings() -> Iterator[SnmpsimRecordings]:
    """snmpsim serving the lab's recordings and this module's (overrides the session fixture here)."""
    with tempfile.TemporaryDirectory(prefix="netqos-cellsite-") as tmp:
        made = Path(tmp) / "made"
        made.mkdir()
        for stem, text in MADE.items():
            (made / f"{stem}.snmprec").write_text(text, encoding="iso-8859-1")
        sources = [DEVICES / f"{s}.snmprec" for s in LAB] + sorted(made.glob("*.snmprec"))
        yield from _serve(sources, Path(tmp) / "serve")


@pytest.fixture(scope="module")
def recordings() -> dict[str, Recording]:
    recs = {s: load_snmprec(DEVICES / f"{s}.snmprec") for s in LAB}
    recs.update({stem: parse_snmprec(text.splitlines()) for stem, text in MADE.items()})
    return recs


@pytest.fixture(scope="module")
def profiles() -> ProfileSet:
    return load_profiles()


def key(stem: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DEVICES / f"{stem}.expected.json").read_text())
    return data


def sensor(stem: str, oid_tail: str) -> float:
    """LibreNMS's current value of the sensor whose OID ends with ``oid_tail`` (value × multiplier)."""
    [s] = [s for s in key(stem)["sensors"] if s["oid"].strip('[]"').endswith(oid_tail)]
    return float(s["current"])


async def poll(profiles: ProfileSet, transport: Transport, stem: str, profile: str, job: str) -> PollResult:
    col = SnmpCollector(profiles, transport.factory, RateTracker(Limits(60)), lambda: T0)
    result = await col.collect(transport.target(stem), profile, job)
    assert result.ok, result.error
    return result


# --- radios -----------------------------------------------------------------------------------------------

# (recording, profile, link tag, field, LibreNMS sensor OID tail)
RADIO = [
    ("ericsson-ml", "ericsson_minilink", "CarrierTermination:slot=1;ctNumber=1", m.F_RSL_DBM, ".7.1.1.1.110101"),
    ("ericsson-ml", "ericsson_minilink", "CarrierTermination:slot=1;ctNumber=1", m.F_TX_DBM, ".7.1.1.2.110101"),
    ("ericsson-ml", "ericsson_minilink", "CarrierTermination:slot=1;ctNumber=1", m.F_SNR_DB, ".7.1.1.43.110101"),
    ("ericsson-ml", "ericsson_minilink", "CarrierTermination:slot=1;ctNumber=1", m.F_CAPACITY_BPS,
     ".7.1.1.46.110101"),
    ("ceraos", "ceragon", "Radio: Slot 2, Port 1", m.F_RSL_DBM, ".10.5.1.1.2.268451969"),
    ("ceraos", "ceragon", "Radio: Slot 1, port 1", m.F_RSL_DBM, ".10.5.1.1.2.268451905"),
    ("ceraos", "ceragon", "Radio: Slot 2, Port 2", m.F_TX_DBM, ".10.5.1.1.3.268451970"),
    ("ceraos", "ceragon", "Radio: Slot 1, port 2", m.F_TX_DBM, ".10.5.1.1.3.268451906"),  # Tx of the idle carrier
    ("ceraos", "ceragon", "Radio: Slot 2, Port 1", m.F_MSE_DB, ".10.7.1.1.2.268451969"),
    ("ceraos", "ceragon", "Radio: Slot 1, port 2", m.F_CAPACITY_BPS, ".10.7.4.1.1.7.268451906"),
    ("ceraos", "ceragon", "Radio: Slot 2, Port 1", m.F_CAPACITY_BPS, ".10.7.4.1.1.7.268451969"),
]


@pytest.mark.parametrize(("stem", "profile", "link", "field", "oid_tail"), RADIO)
async def test_radio_matches_recording_and_answer_key(
    profiles: ProfileSet, transport: Transport, stem: str, profile: str, link: str, field: str, oid_tail: str
) -> None:
    result = await poll(profiles, transport, stem, profile, "radio")
    by_link = {s.tags[m.TAG_LINK]: s for s in result.samples}
    assert all(s.measurement == m.RADIO for s in result.samples)
    assert by_link[link].fields[field] == pytest.approx(sensor(stem, oid_tail))


# (recording, link, field, column OID, row index): the recording holds a "no signal" value there, which LibreNMS
# stores as a reading (-99 dBm, -99 dB, -99.9 dBm) and we must not.
NO_SIGNAL = [
    ("ceraos", "Radio: Slot 1, port 2", m.F_RSL_DBM, "1.3.6.1.4.1.2281.10.5.1.1.2", "268451906", -99),
    ("ceraos", "Radio: Slot 1, port 2", m.F_MSE_DB, "1.3.6.1.4.1.2281.10.7.1.1.2", "268451906", -9900),
    ("minilink_tn", "RF 2/1", m.F_RSL_DBM, f"{TN}.3.1.3.1.10", "2146697473", -999),
    ("minilink_tn", "RF 2/1", m.F_TX_DBM, f"{TN}.3.1.3.1.1", "2146697473", 255),
]


@pytest.mark.parametrize(("stem", "link", "field", "column", "index", "sentinel"), NO_SIGNAL)
async def test_no_signal_values_yield_no_field(
    profiles: ProfileSet, transport: Transport, recordings: dict[str, Recording],
    stem: str, link: str, field: str, column: str, index: str, sentinel: int,
) -> None:
    assert recordings[stem].values[f"{column}.{index}"] == sentinel  # the recording does hold the sentinel
    profile = profiles.detect(str(recordings[stem].values["1.3.6.1.2.1.1.2.0"]))
    result = await poll(profiles, transport, stem, profile, "radio")
    [sample] = [s for s in result.samples if s.tags.get(m.TAG_LINK) == link]
    assert field not in sample.fields
    assert sample.fields  # the row is still there, with its other fields: only the reading is missing


# MINI-LINK TN rows: (link, field, expected from the recording's raw value and the MIB's unit)
TN_ROWS: list[tuple[str, str, float]] = [
    ("RF 1/2", m.F_RSL_DBM, -272 * 0.1),
    ("RF 2/2", m.F_RSL_DBM, -275 * 0.1),
    ("RF 1/1", m.F_RSL_DBM, -639 * 0.1),
    ("RF 1/2", m.F_TX_DBM, 28),
    ("RF 2/2", m.F_STATUS, 1),
    ("RF 2/1", m.F_STATUS, 2),
    ("RAU IF 1/1", m.F_MSE_DB, -352 * 0.1),  # xfModem…15, 0.1 dB (LibreNMS divisor 10) [S]
    ("RAU IF 1/2", m.F_MSE_DB, -318 * 0.1),
    ("ST308-GI116", m.F_CAPACITY_BPS, 239208 * 1000),  # xfTermBitPipeCapacity, kbit/s [S]
    ("GI116-ST308", m.F_CAPACITY_BPS, 239208 * 1000),
]


@pytest.mark.parametrize(("link", "field", "want"), TN_ROWS)
async def test_minilink_tn(
    profiles: ProfileSet, transport: Transport, recordings: dict[str, Recording], link: str, field: str, want: float
) -> None:
    assert profiles.detect(str(recordings["minilink_tn"].values["1.3.6.1.2.1.1.2.0"])) == "ericsson_minilink"
    result = await poll(profiles, transport, "minilink_tn", "ericsson_minilink", "radio")
    links = [s.tags.get(m.TAG_LINK) for s in result.samples]
    assert sorted(links, key=str) == sorted(  # 4 RF, 2 modems, 2 terminals; the LAN port is no radio
        ["RF 1/1", "RF 1/2", "RF 2/1", "RF 2/2", "RAU IF 1/1", "RAU IF 1/2", "ST308-GI116", "GI116-ST308"])
    [sample] = [s for s in result.samples if s.tags.get(m.TAG_LINK) == link]
    assert sample.fields[field] == pytest.approx(want)


@pytest.mark.parametrize(
    ("stem", "profile", "links"), [("ericsson-ml", "ericsson_minilink", 1), ("ceraos", "ceragon", 4)]
)
async def test_radio_rows_are_the_radios_only(
    profiles: ProfileSet, transport: Transport, stem: str, profile: str, links: int
) -> None:
    result = await poll(profiles, transport, stem, profile, "radio")
    assert len(result.samples) == links
    for s in result.samples:
        assert set(s.fields) <= set(m.BY_NAME[m.RADIO].fields)
        assert s.fields.get(m.F_STATUS, 1) in (1, 2)


# --- power --------------------------------------------------------------------------------------------------


def _eltek_rectifiers_ok() -> float:
    """LibreNMS's rectifier status sensors (rectifierStatusStatus) that read active(1)."""
    return float(sum(1 for s in key("eltek-webpower")["sensors"]
                     if s["descr"].startswith("Rectifier ") and s["descr"].endswith(" status") and s["current"] == 1))


def _same(v: float) -> float:
    return v


# (field, LibreNMS sensor OID tail, from LibreNMS's value to ours)
ELTEK_KEY: list[tuple[str, str, Callable[[float], float]]] = [
    (m.F_BATTERY_V, ".12148.9.3.2.0", _same),
    (m.F_RECTIFIERS_TOTAL, ".12148.9.5.1.0", _same),
    (m.F_LOAD_A, ".12148.9.4.1.0", _same),
    (m.F_BATTERY_RUNTIME_MIN, ".12148.9.3.20.1.0", _same),  # batteryTimeToDisconnect, minutes (1406)
    (m.F_SYSTEM_OK, ".12148.9.3.5.0", lambda breaker: 1.0 - breaker),  # batteryBreakerStatus normal(0)/alarm(1)
    (m.F_MAINS_OK, ".12148.9.6.1.0", lambda volts: float(volts >= 180)),  # AC L1 input, V
]


@pytest.mark.parametrize(("field", "oid_tail", "ours"), ELTEK_KEY, ids=[c[0] for c in ELTEK_KEY])
async def test_eltek_matches_recording_and_answer_key(
    profiles: ProfileSet, transport: Transport, field: str, oid_tail: str, ours: Callable[[float], float]
) -> None:
    [sample] = (await poll(profiles, transport, "eltek-webpower", "eltek", "power")).samples
    assert sample.measurement == m.POWER
    assert sample.fields[field] == pytest.approx(ours(sensor("eltek-webpower", oid_tail)))


async def test_eltek_rectifiers_ok_counts_active_rectifiers(profiles: ProfileSet, transport: Transport) -> None:
    [sample] = (await poll(profiles, transport, "eltek-webpower", "eltek", "power")).samples
    assert sample.fields[m.F_RECTIFIERS_OK] == _eltek_rectifiers_ok() == 3


# (recording, profile, field, expected or None = absent, needs count sources in scalars groups)
POWER_CASES: list[tuple[str, str, str, float | None, bool]] = [
    # Eltek with faults written in: rectifier 1 failed(2), battery breaker alarm(1), no AC on any phase
    ("eltek_fault", "eltek", m.F_RECTIFIERS_OK, 2, True),
    ("eltek_fault", "eltek", m.F_RECTIFIERS_TOTAL, 3, False),
    ("eltek_fault", "eltek", m.F_SYSTEM_OK, 0, False),
    ("eltek_fault", "eltek", m.F_MAINS_OK, 0, False),
    ("eltek_fault", "eltek", m.F_BATTERY_V, 53.23, False),
    # NetSure (VEC-MIB, LibreNMS's recording; its answer key: System DC Voltage 54.01, System Current 1580,
    # System Status 0 = normal, 72 "PCU Current" sensors)
    ("netsure", "emerson_netsure", m.F_BATTERY_V, 54.01, False),
    ("netsure", "emerson_netsure", m.F_LOAD_A, 1580, False),
    ("netsure", "emerson_netsure", m.F_ALARM_LEVEL, 0, False),
    ("netsure", "emerson_netsure", m.F_SYSTEM_OK, 1, False),
    ("netsure", "emerson_netsure", m.F_RECTIFIERS_TOTAL, len(_PCU_INDEXES), True),
    ("netsure", "emerson_netsure", m.F_MAINS_OK, None, False),  # not derivable from VEC-MIB (see the profile)
    ("netsure", "emerson_netsure", m.F_RECTIFIERS_OK, None, False),
    # NetSure (EES-POWER-MIB, written from the MIB): major alarm, on battery, 3 of 4 rectifiers not failed
    ("netsure_ees", "emerson_netsure", m.F_ALARM_LEVEL, 5, False),
    ("netsure_ees", "emerson_netsure", m.F_SYSTEM_OK, 0, False),
    ("netsure_ees", "emerson_netsure", m.F_MAINS_OK, 0, False),
    ("netsure_ees", "emerson_netsure", m.F_BATTERY_V, 48.1, False),
    ("netsure_ees", "emerson_netsure", m.F_LOAD_A, 35.5, False),
    ("netsure_ees", "emerson_netsure", m.F_RECTIFIERS_TOTAL, 4, False),
    ("netsure_ees", "emerson_netsure", m.F_RECTIFIERS_OK, 3, True),
]


@pytest.mark.parametrize(
    ("stem", "profile", "field", "want"),
    [pytest.param(*c[:4], id=f"{c[0]}-{c[2]}") for c in POWER_CASES],
)
async def test_power(
    profiles: ProfileSet, transport: Transport, recordings: dict[str, Recording],
    stem: str, profile: str, field: str, want: float | None,
) -> None:
    assert profiles.detect(str(recordings[stem].values["1.3.6.1.2.1.1.2.0"])) == profile
    [sample] = (await poll(profiles, transport, stem, profile, "power")).samples
    assert sample.measurement == m.POWER
    assert set(sample.fields) <= set(m.BY_NAME[m.POWER].fields)
    if want is None:
        assert field not in sample.fields
    else:
        assert sample.fields[field] == pytest.approx(want)


@pytest.mark.parametrize(
    ("phases", "mains_ok"), [((233, 235, 236), 1), ((233, 0, 0), 1), ((0, 0, 0), 0), ((150, 170, 0), 0)]
)
async def test_eltek_mains_from_phase_voltages(
    profiles: ProfileSet, recordings: dict[str, Recording], phases: tuple[int, int, int], mains_ok: int
) -> None:
    rec = recordings["eltek-webpower"].with_rows(
        {f"{ELTEK}.6.{n}.0": v for n, v in zip((1, 2, 3), phases, strict=True)}
    )
    col = SnmpCollector(profiles, lambda t: RecordingClient(rec), RateTracker(Limits(60)), lambda: T0)
    [sample] = (await col.collect(Target("e", "127.0.0.1"), "eltek", "power")).samples
    assert sample.fields[m.F_MAINS_OK] == mains_ok
