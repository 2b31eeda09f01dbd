"""Cell-site profiles (microwave radios, site power) against the recordings and LibreNMS's answer keys, over
the in-memory client and real snmpsim; MINI-LINK TN and NetSure on small hand-made recordings."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from collectors import measurements as m
from collectors.counters import Limits, RateTracker
from collectors.model import PollResult, SnmpClient, Target
from collectors.snmp.collect import SnmpCollector
from config.profiles import ProfileSet, load_profiles
from lab.network import default_recordings_dir
from tests.snmprec import Recording, RecordingClient, load_snmprec, parse_snmprec
from tests.transports import Transport

DEVICES = default_recordings_dir()
T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)

# (recording, profile, job, link tag or None, field, LibreNMS sensor OID or None, LibreNMS factor)
RADIO = [
    ("ericsson-ml", "ericsson_minilink", "CarrierTermination:slot=1;ctNumber=1", m.F_RSL_DBM, ".7.1.1.1.110101", 1.0),
    ("ericsson-ml", "ericsson_minilink", "CarrierTermination:slot=1;ctNumber=1", m.F_TX_DBM, ".7.1.1.2.110101", 1.0),
    ("ericsson-ml", "ericsson_minilink", "CarrierTermination:slot=1;ctNumber=1", m.F_SNR_DB, ".7.1.1.43.110101", 1.0),
    ("ericsson-ml", "ericsson_minilink", "CarrierTermination:slot=1;ctNumber=1", m.F_CAPACITY_BPS,
     ".7.1.1.46.110101", 1.0),
    ("ceraos", "ceragon", "Radio: Slot 2, Port 1", m.F_RSL_DBM, ".10.5.1.1.2.268451969", 1.0),
    ("ceraos", "ceragon", "Radio: Slot 1, port 1", m.F_RSL_DBM, ".10.5.1.1.2.268451905", 1.0),
    ("ceraos", "ceragon", "Radio: Slot 2, Port 2", m.F_TX_DBM, ".10.5.1.1.3.268451970", 1.0),
    ("ceraos", "ceragon", "Radio: Slot 2, Port 1", m.F_MSE_DB, ".10.7.1.1.2.268451969", 1.0),
    ("ceraos", "ceragon", "Radio: Slot 1, port 2", m.F_MSE_DB, ".10.7.1.1.2.268451906", 1.0),
    ("ceraos", "ceragon", "Radio: Slot 2, Port 1", m.F_CAPACITY_BPS, ".10.7.4.1.1.7.268451969", 1.0),
]
POWER = [
    ("eltek-webpower", "eltek", m.F_BATTERY_V, ".12148.9.3.2.0", 1.0),
    ("eltek-webpower", "eltek", m.F_RECTIFIERS_TOTAL, ".12148.9.5.1.0", 1.0),
    ("eltek-webpower", "eltek", m.F_RECTIFIERS_OK, ".12148.9.5.2.0", 1.0),
    ("eltek-webpower", "eltek", m.F_LOAD_A, ".12148.9.4.1.0", 1.0),
]

TN = "1.3.6.1.4.1.193.81.3.4.3.1.3.1"
HANDMADE = {  # TELECOM.md A4 rows, as a MINI-LINK TN / a NetSure would answer them
    "minilink_tn": f"""
1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.193.81.1.1.3
1.3.6.1.2.1.1.3.0|67|100
1.3.6.1.2.1.2.2.1.8.1001|2|1
1.3.6.1.2.1.2.2.1.8.1002|2|2
1.3.6.1.2.1.2.2.1.8.5000|2|1
1.3.6.1.2.1.31.1.1.1.1.1001|4|RAU1 1/1
1.3.6.1.2.1.31.1.1.1.1.1002|4|RAU1 1/2
1.3.6.1.2.1.31.1.1.1.1.5000|4|LAN 1/3
{TN}.1.1001|2|18
{TN}.1.1002|2|255
{TN}.10.1001|2|-452
{TN}.10.1002|2|-999
""",
    "netsure": """
1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.885.3.1
1.3.6.1.2.1.1.3.0|67|100
1.3.6.1.4.1.885.3.2.1.1.0|2|53520
1.3.6.1.4.1.885.3.2.1.10.0|2|1
""",
}
# (recording, profile, job, link, {field: value or None for absent})
HANDMADE_CASES: list[tuple[str, str, str, str | None, dict[str, Any]]] = [
    ("minilink_tn", "ericsson_minilink", "radio", "RAU1 1/1", {m.F_RSL_DBM: -45.2, m.F_TX_DBM: 18.0, m.F_STATUS: 1}),
    ("minilink_tn", "ericsson_minilink", "radio", "RAU1 1/2", {m.F_RSL_DBM: -99.9, m.F_TX_DBM: None, m.F_STATUS: 2}),
    ("netsure", "emerson_netsure", "power", None, {m.F_BATTERY_V: 53.52, m.F_MAINS_OK: None}),
]


def key(stem: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DEVICES / f"{stem}.expected.json").read_text())
    return data


def sensor(stem: str, oid_tail: str) -> float:
    """LibreNMS's current value of the sensor whose OID ends with ``oid_tail`` (value × multiplier)."""
    [s] = [s for s in key(stem)["sensors"] if s["oid"].strip('[]"').endswith(oid_tail)]
    return float(s["current"])


@pytest.fixture(scope="module")
def profiles() -> ProfileSet:
    return load_profiles()


@pytest.fixture(scope="module")
def recordings() -> dict[str, Recording]:
    recs = {s: load_snmprec(DEVICES / f"{s}.snmprec") for s in ("ericsson-ml", "ceraos", "eltek-webpower")}
    recs.update({name: parse_snmprec(text.strip().splitlines()) for name, text in HANDMADE.items()})
    return recs


Factory = Callable[[Target], SnmpClient]


async def poll(profiles: ProfileSet, transport: Transport,
               stem: str, profile: str, job: str) -> PollResult:
    col = SnmpCollector(profiles, transport.factory, RateTracker(Limits(60)), lambda: T0)
    result = await col.collect(transport.target(stem), profile, job)
    assert result.ok, result.error
    return result


@pytest.mark.parametrize(("stem", "profile", "link", "field", "oid_tail", "factor"), RADIO)
async def test_radio_matches_recording_and_answer_key(
    profiles: ProfileSet, transport: Transport,
    stem: str, profile: str, link: str, field: str, oid_tail: str, factor: float,
) -> None:
    result = await poll(profiles, transport, stem, profile, "radio")
    by_link = {s.tags[m.TAG_LINK]: s for s in result.samples}
    assert all(s.measurement == m.RADIO for s in result.samples)
    assert by_link[link].fields[field] == pytest.approx(sensor(stem, oid_tail) * factor)


@pytest.mark.parametrize(
    ("stem", "profile", "links"),
    [("ericsson-ml", "ericsson_minilink", 1), ("ceraos", "ceragon", 4)],
)
async def test_radio_rows_are_the_radios_only(
    profiles: ProfileSet, transport: Transport, stem: str, profile: str,
    links: int, recordings: dict[str, Recording],
) -> None:
    result = await poll(profiles, transport, stem, profile, "radio")
    assert len(result.samples) == links
    for s in result.samples:
        assert set(s.fields) <= set(m.BY_NAME[m.RADIO].fields)
        assert s.fields.get(m.F_STATUS, 1) in (1, 2)


@pytest.mark.parametrize(("stem", "profile", "field", "oid_tail", "factor"), POWER)
async def test_power_matches_recording_and_answer_key(
    profiles: ProfileSet, transport: Transport,
    stem: str, profile: str, field: str, oid_tail: str, factor: float,
) -> None:
    [sample] = (await poll(profiles, transport, stem, profile, "power")).samples
    assert sample.measurement == m.POWER
    assert sample.fields[field] == pytest.approx(sensor(stem, oid_tail) * factor)


@pytest.mark.parametrize(
    ("phases", "mains_ok"), [((233, 235, 236), 1), ((233, 0, 0), 1), ((0, 0, 0), 0), ((150, 170, 0), 0)]
)
async def test_eltek_mains_from_phase_voltages(
    profiles: ProfileSet, recordings: dict[str, Recording], phases: tuple[int, int, int], mains_ok: int
) -> None:
    rec = recordings["eltek-webpower"].with_rows(
        {f"1.3.6.1.4.1.12148.9.6.{n}.0": v for n, v in zip((1, 2, 3), phases, strict=True)}
    )
    col = SnmpCollector(profiles, lambda t: RecordingClient(rec), RateTracker(Limits(60)), lambda: T0)
    [sample] = (await col.collect(Target("e", "127.0.0.1"), "eltek", "power")).samples
    assert sample.fields[m.F_MAINS_OK] == mains_ok


@pytest.mark.parametrize(("stem", "profile", "job", "link", "want"), HANDMADE_CASES)
async def test_handmade_recordings(
    profiles: ProfileSet, recordings: dict[str, Recording],
    stem: str, profile: str, job: str, link: str | None, want: dict[str, Any],
) -> None:
    assert profiles.detect(str(recordings[stem].values["1.3.6.1.2.1.1.2.0"])) == profile
    col = SnmpCollector(profiles, lambda t: RecordingClient(recordings[stem]), RateTracker(Limits(60)), lambda: T0)
    result = await col.collect(Target(stem, "127.0.0.1"), profile, job)
    assert result.ok
    samples = [s for s in result.samples if link is None or s.tags.get(m.TAG_LINK) == link]
    [sample] = samples
    if link is not None:
        assert len(result.samples) == 2  # the LAN port is no radio
    for field, value in want.items():
        if value is None:
            assert field not in sample.fields
        else:
            assert sample.fields[field] == pytest.approx(value)
