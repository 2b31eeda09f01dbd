"""The SNMP collector against every recorded real device, checked against LibreNMS's answer keys.

Each test runs over two transports: the in-memory client answering from the parsed recording, and
real snmpsim serving the same recording to the real :class:`PysnmpClient`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from collectors import measurements as m
from collectors.counters import Limits, RateTracker
from collectors.model import PollResult, SnmpError, SnmpValue, Target
from collectors.snmp.collect import SnmpCollector, text
from collectors.snmp.detect import AUTO, ProfileResolver
from config.profiles import GENERIC, ProfileSet, load_profiles
from lab.network import default_recordings_dir
from tests.snmprec import Recording, RecordingClient, load_snmprec
from tests.transports import Transport

DEVICES_DIR = default_recordings_dir()
STEMS = sorted(p.stem for p in DEVICES_DIR.glob("*.snmprec"))
OPER = {"up": 1, "down": 2, "testing": 3, "unknown": 4, "dormant": 5, "notPresent": 6, "lowerLayerDown": 7}
IF_NAME, IF_DESCR = "1.3.6.1.2.1.31.1.1.1.1", "1.3.6.1.2.1.2.2.1.2"
SYS_OBJECT_ID, SYS_DESCR, SYS_UPTIME = "1.3.6.1.2.1.1.2.0", "1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.3.0"
T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)

DETECT = {
    "ceraos": "ceragon",
    "eltek-webpower": "eltek",
    "ericsson-ml": "ericsson_minilink",
    "iosxe_asr920": "cisco_iosxe",
    "iosxe_c3650": "cisco_iosxe",
    "iosxr_asr9904": "cisco_iosxr",
    "junos": "juniper_junos",
    "smartax": "huawei_smartax",
    "vrp_ar169sfp": "huawei_vrp",
    "vrp_ne": "huawei_vrp",
    "zxa10_c320": "zte_zxa10",
}
CPU_MEM = ["junos", "iosxe_c3650", "vrp_ar169sfp"]


def key(stem: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DEVICES_DIR / f"{stem}.expected.json").read_text())
    return data


@pytest.fixture(scope="module")
def profiles() -> ProfileSet:
    return load_profiles()


@pytest.fixture(scope="module")
def recordings() -> dict[str, Recording]:
    return {stem: load_snmprec(DEVICES_DIR / f"{stem}.snmprec") for stem in STEMS}


class Clock:
    """A fake clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def collector(profiles: ProfileSet, transport: Transport, clock: Clock | None = None) -> SnmpCollector:
    return SnmpCollector(profiles, transport.factory, RateTracker(Limits(60)), clock or Clock(T0))


async def poll(
    profiles: ProfileSet, transport: Transport, stem: str, job: str, col: SnmpCollector | None = None
) -> PollResult:
    c = col or collector(profiles, transport)
    return await c.collect(transport.target(stem), DETECT[stem], job)


# --- detection ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stem", STEMS)
def test_detect_picks_the_profile_from_sysobjectid(
    stem: str, profiles: ProfileSet, recordings: dict[str, Recording]
) -> None:
    rec = recordings[stem]
    got = profiles.detect(text(rec.values[SYS_OBJECT_ID]), text(rec.values.get(SYS_DESCR, b"")))
    assert got == DETECT[stem]


def test_every_recording_has_a_detect_expectation() -> None:
    assert set(STEMS) == set(DETECT)


# --- interfaces ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stem", STEMS)
async def test_interfaces_match_the_answer_key(
    stem: str, profiles: ProfileSet, recordings: dict[str, Recording], transport: Transport
) -> None:
    result = await poll(profiles, transport, stem, "interfaces")
    assert result.ok, result.error
    by_index = {s.tags[m.TAG_IFINDEX]: s for s in result.samples}
    assert all(s.measurement == m.INTERFACE for s in result.samples)
    rec = recordings[stem]
    recorded = set(rec.subtree(IF_NAME)) | set(rec.subtree(IF_DESCR))
    # ports LibreNMS found elsewhere than in this (sparse) recording cannot be checked: the recording wins
    ports = [p for p in key(stem)["ports"] if str(p["ifIndex"]) in recorded]
    assert len(ports) >= 0.9 * len(key(stem)["ports"])
    for port in ports:
        sample = by_index.get(str(port["ifIndex"]))
        assert sample is not None, f"no sample for ifIndex {port['ifIndex']}"
        assert sample.tags[m.TAG_IFNAME] == port["ifName"]
        assert sample.tags[m.TAG_DEVICE] == stem
        if port.get("ifOperStatus") in OPER:
            assert sample.fields[m.F_OPER_STATUS] == OPER[port["ifOperStatus"]], port["ifIndex"]
        if port.get("ifAdminStatus") in OPER:
            assert sample.fields[m.F_ADMIN_STATUS] == OPER[port["ifAdminStatus"]], port["ifIndex"]
        if "ifSpeed" in port:
            assert sample.fields[m.F_SPEED_BPS] == port["ifSpeed"], port["ifIndex"]
        for name in (m.F_IN_BPS, m.F_OUT_BPS, m.F_IN_UTIL_PCT):
            assert name not in sample.fields  # first poll: no rate yet


# --- system: reachability, uptime, CPU and memory ---------------------------------------------------


@pytest.mark.parametrize("stem", STEMS)
async def test_system_job_gives_a_device_sample(
    stem: str, profiles: ProfileSet, recordings: dict[str, Recording], transport: Transport
) -> None:
    result = await poll(profiles, transport, stem, "system")
    assert result.ok, result.error
    [sample] = result.samples
    assert sample.measurement == m.DEVICE
    assert sample.fields[m.F_REACHABLE] == 1
    assert isinstance(sample.fields[m.F_RESPONSE_MS], float)
    uptime = recordings[stem].values.get(SYS_UPTIME)
    if isinstance(uptime, int):
        assert sample.fields[m.F_UPTIME_S] == uptime // 100
    assert sample.tags[m.TAG_VENDOR] == profiles.get(DETECT[stem]).vendor
    assert set(sample.fields) <= set(m.BY_NAME[m.DEVICE].fields)


@pytest.mark.parametrize("stem", CPU_MEM)
async def test_cpu_and_memory_match_the_answer_key(
    stem: str, profiles: ProfileSet, transport: Transport
) -> None:
    [sample] = (await poll(profiles, transport, stem, "system")).samples
    busiest = max(p["usage"] for p in key(stem)["processors"])
    main_pool = max(p["perc"] for p in key(stem)["mempools"] if p["class"] == "system")
    assert sample.fields[m.F_CPU_PCT] == pytest.approx(busiest, abs=1)
    assert sample.fields[m.F_MEM_PCT] == pytest.approx(main_pool, abs=1)


# --- failures are values ------------------------------------------------------------------------------------


async def test_unreachable_device_gives_reachable_zero(profiles: ProfileSet, transport: Transport) -> None:
    if transport.name == "memory":
        col = SnmpCollector(
            profiles, lambda t: RecordingClient(Recording({}, ()), fail="timeout"),
            RateTracker(Limits(60)), Clock(T0),
        )
        target = Target("dead", "127.0.0.1")
    else:
        col = collector(profiles, transport)
        target = transport.target("junos")
        target = Target(target.name, target.address, target.port, community="wrong", timeout_s=0.3, retries=0)
    result = await col.collect(target, "juniper_junos", "system")
    assert result.error == "timeout"
    [sample] = result.samples
    assert sample.fields == {m.F_REACHABLE: 0}
    ifs = await col.collect(target, "juniper_junos", "interfaces")
    assert ifs.error == "timeout" and ifs.samples == ()


@pytest.mark.parametrize(("job", "budget"), [("system", 0.6), ("interfaces", 0.4), ("system", None)])
async def test_job_budget_sets_the_request_timeout(
    job: str, budget: float | None, profiles: ProfileSet, transport: Transport
) -> None:
    """A dead device fails in the collector within its job's budget: every try fits before the backstop."""
    seen: list[float] = []

    def factory(t: Target) -> Any:
        seen.append(t.timeout_s)
        return transport.factory(t)

    def memory_factory(t: Target) -> RecordingClient:
        seen.append(t.timeout_s)
        return RecordingClient(Recording({}, ()), fail="timeout")

    budgets = {job: budget} if budget is not None else {}
    memory = transport.name == "memory"
    col = SnmpCollector(
        profiles, memory_factory if memory else factory, RateTracker(Limits(60)), Clock(T0), budgets=budgets
    )
    base = transport.target("junos")
    dead = Target(base.name, base.address, base.port, community="wrong", timeout_s=0.25, retries=1)
    if not memory:  # a fresh pysnmp engine's first request takes ~2 s more (measured): warm it up first
        await transport.factory(base).get([SYS_UPTIME])
    t0 = asyncio.get_running_loop().time()
    result = await col.collect(dead, "juniper_junos", job)
    took = asyncio.get_running_loop().time() - t0
    assert result.error == "timeout"
    expected = 0.25 if budget is None else budget / 2 - min(0.5, budget / 2 * 0.1)
    assert seen == [pytest.approx(expected)]
    if transport.name == "snmpsim":
        assert took < (budget or 0.25 * 2) + 0.4  # loaded CI machine: jitter, but far below the 10 s default
    if job == "system":
        assert [s.fields for s in result.samples] == [{m.F_REACHABLE: 0}]


def test_unknown_profile_is_a_clear_error(profiles: ProfileSet) -> None:
    with pytest.raises(KeyError, match=r"unknown profile 'nope'.*cisco_iosxe"):
        profiles.get("nope")


# --- rates over two polls of a recording whose counters moved --------------------------------------

HC_IN, HC_OUT, IN_ERR = "1.3.6.1.2.1.31.1.1.1.6", "1.3.6.1.2.1.31.1.1.1.10", "1.3.6.1.2.1.2.2.1.14"


RATE_RULES = 6  # if_mib's rates: in/out bps, in/out errors/s, in/out discards/s


@pytest.mark.parametrize(
    ("stem", "ifindex", "dt_s", "d_in", "d_err", "uptime_back", "rated"),
    [
        ("iosxe_asr920", "2", 60, 75_000_000, 120, False, True),  # 10 Mbit/s in on a 1G port
        ("vrp_ne", "10", 85, 0, 0, False, True),  # idle 10G port, a late poll (1.4 intervals): one interval
        ("vrp_ne", "10", 150, 0, 0, False, False),  # 2.5 intervals: a poll was missed, a gap, no rate
        ("zxa10_c320", "268435456", 60, 7_500_000_000, 60, False, True),  # 1 Gbit/s on a 2.488G PON
        ("iosxe_asr920", "2", 60, 75_000_000, 120, True, False),  # device restarted: no rates
    ],
)
async def test_rates_from_two_polls(
    stem: str, ifindex: str, dt_s: int, d_in: int, d_err: int, uptime_back: bool, rated: bool,
    profiles: ProfileSet, recordings: dict[str, Recording],
) -> None:
    first = recordings[stem].with_rows({SYS_UPTIME: 1_000_000})
    in0, err0 = first.values.get(f"{HC_IN}.{ifindex}"), first.values.get(f"{IN_ERR}.{ifindex}")
    assert isinstance(in0, int) and isinstance(err0, int)
    up2 = 500 if uptime_back else 1_000_000 + dt_s * 100
    moved = {SYS_UPTIME: up2, f"{HC_IN}.{ifindex}": in0 + d_in, f"{IN_ERR}.{ifindex}": err0 + d_err}
    second = first.with_rows(moved)
    clients = iter([RecordingClient(first), RecordingClient(second)])
    clock = Clock(T0)
    col = SnmpCollector(profiles, lambda t: next(clients), RateTracker(Limits(60)), clock)
    target = Target(stem, "127.0.0.1")
    await col.collect(target, DETECT[stem], "interfaces")
    clock.now = T0 + timedelta(seconds=dt_s)
    result = await col.collect(target, DETECT[stem], "interfaces")
    [sample] = [s for s in result.samples if s.tags.get(m.TAG_IFINDEX) == ifindex]
    ifaces = [s for s in result.samples if s.measurement == m.INTERFACE]
    polled = [s for s in result.samples if s.measurement == m.POLLER]
    if not rated:
        assert m.F_IN_BPS not in sample.fields and m.F_IN_ERRORS_PS not in sample.fields
        assert not any(m.F_IN_BPS in s.fields or m.F_OUT_BPS in s.fields for s in ifaces)
        # every counter interval of every interface was dropped, and the run says how many
        counters = (m.F_IN_OCTETS, m.F_OUT_OCTETS, m.F_IN_ERRORS, m.F_OUT_ERRORS, m.F_IN_DISCARDS, m.F_OUT_DISCARDS)
        expected = sum(sum(c in s.fields for c in counters) for s in ifaces)
        assert polled == []  # the run's counts travel on the PollResult, not as samples
        assert result.rates_dropped == expected and expected >= RATE_RULES
        assert result.pdus == 2  # the recording client counts one per call: the GET and the table walk
        return
    assert polled == [] and result.rates_dropped == 0  # nothing dropped
    speed = sample.fields[m.F_SPEED_BPS]
    assert isinstance(speed, int) and speed > 0
    assert sample.fields[m.F_IN_BPS] == pytest.approx(d_in * 8 / dt_s)
    assert sample.fields[m.F_OUT_BPS] == pytest.approx(0.0)
    assert sample.fields[m.F_IN_UTIL_PCT] == pytest.approx(d_in * 8 / dt_s / speed * 100)
    assert sample.fields[m.F_IN_ERRORS_PS] == pytest.approx(d_err / dt_s)
    assert sample.fields[m.F_IN_OCTETS] == in0 + d_in


async def test_dropped_intervals_are_logged_with_device_job_ifindex_and_reason(
    profiles: ProfileSet, recordings: dict[str, Recording], caplog: pytest.LogCaptureFixture
) -> None:
    first = recordings["iosxe_asr920"].with_rows({SYS_UPTIME: 1_000_000})
    second = first.with_rows({SYS_UPTIME: 500})  # restarted
    clients = iter([RecordingClient(first), RecordingClient(second)])
    clock = Clock(T0)
    col = SnmpCollector(profiles, lambda t: next(clients), RateTracker(Limits(60)), clock)
    await col.collect(Target("asr", "127.0.0.1"), "cisco_iosxe", "interfaces")
    clock.now = T0 + timedelta(seconds=60)
    caplog.set_level(logging.DEBUG, logger="collectors.snmp.collect")
    await col.collect(Target("asr", "127.0.0.1"), "cisco_iosxe", "interfaces")
    lines = [r.getMessage() for r in caplog.records if "no rate for" in r.getMessage()]
    assert lines and all(ln.startswith("device=asr job=interfaces ifindex=") and ln.endswith("(reset)")
                         for ln in lines)
    assert any("ifindex=2:" in ln and "in_bps" in ln for ln in lines)


class Hangs(RecordingClient):
    """Answers the GET, then hangs on the walk until cancelled (what the scheduler's backstop does)."""

    async def walk_table(self, columns: Sequence[str]) -> dict[str, dict[str, SnmpValue]]:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


@pytest.mark.parametrize("second", ["cancelled", "failed"])
async def test_a_cancelled_or_failed_poll_forgets_the_counters(
    second: str, profiles: ProfileSet, recordings: dict[str, Recording]
) -> None:
    """The interval across a poll that did not finish is a gap, not one long interval."""
    rec = recordings["iosxe_asr920"]
    third = rec.with_rows({SYS_UPTIME: 1_000_000 + 12_000})
    middle: RecordingClient = Hangs(rec) if second == "cancelled" else RecordingClient(rec, fail="timeout")
    clients = iter([RecordingClient(rec.with_rows({SYS_UPTIME: 1_000_000})), middle, RecordingClient(third)])
    tracker = RateTracker(Limits(60))
    clock = Clock(T0)
    col = SnmpCollector(profiles, lambda t: next(clients), tracker, clock)
    target = Target("asr", "127.0.0.1")
    await col.collect(target, "cisco_iosxe", "interfaces")
    rows = len(tracker)
    assert rows > 0
    clock.now = T0 + timedelta(seconds=60)
    if second == "cancelled":
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(col.collect(target, "cisco_iosxe", "interfaces"), 0.1)
    else:
        assert (await col.collect(target, "cisco_iosxe", "interfaces")).error == "timeout"
    assert len(tracker) == 0
    clock.now = T0 + timedelta(seconds=120)
    result = await col.collect(target, "cisco_iosxe", "interfaces")
    assert not any(m.F_IN_BPS in s.fields for s in result.samples)
    assert result.rates_dropped >= rows  # each interface's counters: dropped as a gap


class Slow(RecordingClient):
    """A recording client whose GET takes a while (so concurrent callers overlap)."""

    async def get(self, oids: Sequence[str]) -> dict[str, SnmpValue]:
        await asyncio.sleep(0.05)
        return await super().get(oids)


@pytest.mark.parametrize(("stem", "alive", "expected"), [("junos", True, "juniper_junos"), ("smartax", False, GENERIC)])
async def test_jobs_starting_together_share_one_detection(
    stem: str, alive: bool, expected: str, profiles: ProfileSet, recordings: dict[str, Recording],
    transport: Transport,
) -> None:
    if transport.name == "memory":
        def factory(t: Target) -> RecordingClient:
            return Slow(recordings[stem], fail=None if alive else "timeout")
        resolver = ProfileResolver(profiles, factory)
        target = transport.target(stem)
    else:
        resolver = ProfileResolver(profiles, transport.factory)
        target = transport.target(stem)
        if not alive:
            target = Target(stem, target.address, target.port, community="wrong", timeout_s=0.3, retries=0)
    got = await asyncio.gather(*(resolver.resolve(target, AUTO) for _ in range(5)))
    assert got == [expected] * 5
    assert resolver.requests == 1
    again = await resolver.resolve(target, AUTO)  # detected: remembered; failed: asked again next time
    assert again == expected
    assert resolver.requests == (1 if alive else 2)


class WalkFails(RecordingClient):
    """Answers the GET, then times out on the table walk (an agent dying mid-poll)."""

    async def walk_table(self, columns: Any) -> dict[str, dict[str, Any]]:
        raise SnmpError("timeout", "walk")


@pytest.mark.parametrize(("job", "has_device_sample"), [("system", True), ("interfaces", False)])
async def test_failure_mid_poll_keeps_what_was_read(
    job: str, has_device_sample: bool, profiles: ProfileSet, recordings: dict[str, Recording]
) -> None:
    tracker = RateTracker(Limits(60))
    col = SnmpCollector(profiles, lambda t: WalkFails(recordings["junos"]), tracker, Clock(T0))
    result = await col.collect(Target("junos", "127.0.0.1"), "juniper_junos", job)
    assert result.error == "timeout"
    assert [s.measurement for s in result.samples] == ([m.DEVICE] if has_device_sample else [])
    if has_device_sample:
        assert result.samples[0].fields[m.F_REACHABLE] == 1
        assert m.F_CPU_PCT not in result.samples[0].fields
    assert len(tracker) == 0
