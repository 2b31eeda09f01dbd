"""The trap receiver against the real net-snmp snmptrap/snmpinform on a free port of 127.0.0.1."""

from __future__ import annotations

import asyncio
import os
import random
import socket
import subprocess
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import pytest
from pydantic import SecretStr

from collectors import measurements as m
from collectors.ifnames import IfNameCache
from collectors.model import DeviceEvent, Sample
from collectors.traps.decode import TrapDecoder
from collectors.traps.heartbeat import FEED_LOST, FEED_RESTORED
from collectors.traps.model import TRAP_RECEIVER, DeviceInfo, IfNameLookup
from collectors.traps.receiver import TrapReceiver
from config.traps import Heartbeat, ReceiverSettings, TrapCommunity, TrapV3User, VendorMapping, load_traps
from lab.traps import V3Auth, send_trap, trap_command, trap_varbinds

ENGINE = "8000000001020304"
V3 = V3Auth("trapv3", "trapauthpass1", "trapprivpass1", "SHA", "AES", ENGINE)
HUAWEI_PON = 4194304000  # 0/0/0 PON port: above 2^31-1, sent as a negative Integer32


@dataclass
class Capture:
    events: list[DeviceEvent] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)

    async def on_event(self, e: DeviceEvent) -> None:
        self.events.append(e)

    async def write(self, samples: Sequence[Sample]) -> None:
        self.samples.extend(samples)

    async def flush(self) -> None:
        return None

    async def close(self) -> None:
        return None


class Names:
    def __init__(self) -> None:
        self.table = {("core-1", 5): "GigabitEthernet0/0/5", ("olt-1", HUAWEI_PON): "GPON 0/0/0"}

    def ifname(self, device: str, ifindex: int) -> str | None:
        return self.table.get((device, ifindex))


DEVICES = [
    DeviceInfo("core-1", "127.0.0.1", {m.TAG_SITE: "s1", m.TAG_REGION: "r1", m.TAG_ROLE: "router"}),
    DeviceInfo("olt-1", "127.0.0.1", {m.TAG_SITE: "s2", m.TAG_REGION: "r1", m.TAG_ROLE: "olt"}),
    DeviceInfo("edge-9", "10.9.9.9", {m.TAG_SITE: "s3", m.TAG_REGION: "r2", m.TAG_ROLE: "router"}),
    DeviceInfo("ems-1", "127.0.0.1", {m.TAG_SITE: "noc", m.TAG_REGION: "r1", m.TAG_ROLE: "router"}),
]


def now() -> datetime:
    return datetime.now(UTC)


TRAPS_YAML = Path(__file__).resolve().parent.parent / "config" / "traps.yaml"
MAPPINGS = load_traps(TRAPS_YAML, os.environ).mappings


SETTINGS = ReceiverSettings(
    address="127.0.0.1", port=0, stats_interval_s=0.5,
    communities=(TrapCommunity(community=SecretStr("core1-secret"), device="core-1"),
                 TrapCommunity(community=SecretStr("olt1-secret"), device="olt-1"),
                 TrapCommunity(community=SecretStr("ems-secret"), device="ems-1"),
                 TrapCommunity(community=SecretStr("public"))),
    v3_users=(TrapV3User(user="trapv3", auth_key=SecretStr("trapauthpass1"), priv_key=SecretStr("trapprivpass1")),),
)


def _receiver(mappings: Sequence[VendorMapping], names: IfNameLookup) -> tuple[TrapReceiver, Capture]:
    cap = Capture()
    decoder = TrapDecoder(mappings, names, frozenset(d.name for d in DEVICES))
    return TrapReceiver(SETTINGS, decoder, DEVICES, cap.on_event, cap, now, engine_ids={"olt-1": ENGINE}), cap


@pytest.fixture(scope="module")
async def rx() -> AsyncIterator[tuple[TrapReceiver, Capture]]:
    r, cap = _receiver(MAPPINGS, Names())
    await r.start()
    yield r, cap
    await r.stop()


async def _wait(pred: Callable[[], bool], limit_s: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + limit_s
    while not pred():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out waiting")
        await asyncio.sleep(0.02)


async def _send(r: TrapReceiver, kind: str, **kw: object) -> subprocess.CompletedProcess[str]:
    host, port = r.address
    return await _send_to(host, port, kind, **kw)


async def _send_to(host: str, port: int, kind: str, **kw: object) -> subprocess.CompletedProcess[str]:
    """net-snmp snmptrap/snmpinform from a thread; raises CalledProcessError when it fails (e.g. an INFORM
    not acknowledged)."""
    return await asyncio.to_thread(send_trap, host, port, kw.pop("device_address", None), kind, **kw)  # type: ignore[arg-type]


async def _next_event(cap: Capture, before: int) -> DeviceEvent:
    await _wait(lambda: len(cap.events) > before)
    return cap.events[before]


CASES = [
    # kind, send kwargs, device, event kind, resource, clears
    ("linkDown", {"community": "core1-secret", "ifindex": 5}, "core-1", "linkDown", "GigabitEthernet0/0/5", None),
    ("linkUp", {"community": "core1-secret", "ifindex": 5}, "core-1", "linkUp", "GigabitEthernet0/0/5", "linkDown"),
    ("linkDown", {"community": "olt1-secret", "ifindex": HUAWEI_PON}, "olt-1", "linkDown", "GPON 0/0/0", None),
    ("linkDown", {"community": "core1-secret", "ifindex": 77}, "core-1", "linkDown", "77", None),
    ("linkDown", {"version": "3", "v3": V3, "ifindex": HUAWEI_PON}, "olt-1", "linkDown", "GPON 0/0/0", None),
    ("coldStart", {"community": "public", "device_address": "10.9.9.9"}, "edge-9", "coldStart", "", None),
    ("coldStart", {"community": "public", "inform": True, "device_address": "10.9.9.9"}, "edge-9", "coldStart", "",
     None),
    ("bgpBackwardTransition", {"community": "core1-secret", "peer": "10.0.0.2", "bgp_form": "1657"}, "core-1",
     "bgpBackwardTransition", "10.0.0.2", None),
    ("bgpBackwardTransition", {"community": "core1-secret", "peer": "10.0.0.3", "bgp_form": "4273"}, "core-1",
     "bgpBackwardTransition", "10.0.0.3", None),
    ("bgpEstablished", {"community": "core1-secret", "peer": "10.0.0.3", "bgp_form": "4273"}, "core-1",
     "bgpEstablished", "10.0.0.3", "bgpBackwardTransition"),
    ("bgpEstablished", {"community": "core1-secret", "peer": "10.0.0.2", "bgp_form": "1657"}, "core-1",
     "bgpEstablished", "10.0.0.2", "bgpBackwardTransition"),
    ("eriAlarm", {"community": "olt1-secret"}, "olt-1", "eriAlarm",
     "ManagedElement=1,Equipment=1,RiLink=1 [193.9175114]", None),
    ("eriAlarmClear", {"community": "olt1-secret"}, "olt-1", "eriAlarm",
     "ManagedElement=1,Equipment=1,RiLink=1 [193.9175114]", "eriAlarm"),
    # the trap's own words: ifDescr when no poll named the ifIndex, the polled ifName over ifDescr,
    # Huawei's ifName varbind over both
    ("linkDown", {"community": "core1-secret", "ifindex": 78, "ifdescr": "GigabitEthernet0/0/78"}, "core-1",
     "linkDown", "GigabitEthernet0/0/78", None),
    ("linkUp", {"community": "core1-secret", "ifindex": 5, "ifdescr": "GE0/0/5 (descr)"}, "core-1", "linkUp",
     "GigabitEthernet0/0/5", "linkDown"),
    ("linkDown", {"community": "olt1-secret", "ifindex": HUAWEI_PON, "ifdescr": "Huawei-MA5800-V100R019-GPON_UNI",
                  "ifname": "GPON0/0/0"}, "olt-1", "linkDown", "GPON0/0/0", None),
    # v3 authPriv INFORM: net-snmp discovers the receiver's engine ID, then sends; snmpinform exits 0 only
    # when it is acknowledged
    ("coldStart", {"version": "3", "v3": V3, "inform": True, "device_address": "10.9.9.9"}, "edge-9", "coldStart",
     "", None),
    ("linkDown", {"version": "3", "v3": V3, "inform": True, "ifindex": 5, "device_address": "10.9.9.9"}, "edge-9",
     "linkDown", "5", None),
]


@pytest.mark.parametrize(("send_kind", "kw", "device", "kind", "resource", "clears"), CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
async def test_real_trap_becomes_event(
    rx: tuple[TrapReceiver, Capture], send_kind: str, kw: dict[str, object], device: str, kind: str,
    resource: str, clears: str | None,
) -> None:
    r, cap = rx
    before = len(cap.events)
    stats = r.stats
    proc = await _send(r, send_kind, **dict(kw))
    assert proc.returncode == 0  # an INFORM: acknowledged
    e = await _next_event(cap, before)
    assert (e.device, e.kind, e.resource, e.clears) == (device, kind, resource, clears)
    assert r.stats.accepted == stats.accepted + 1
    if kw.get("version") == "3" and kw.get("inform"):  # the engine-ID discovery probe: a report, no event
        assert r.stats.unknown_engine == stats.unknown_engine + 1
    assert r.stats.duplicates == stats.duplicates
    await _wait(lambda: any(s.measurement == m.EVENT and s.time == e.time for s in cap.samples))
    sample = next(s for s in cap.samples if s.measurement == m.EVENT and s.time == e.time)
    assert sample.tags[m.TAG_DEVICE] == device and sample.tags[m.TAG_KIND] == kind
    assert sample.tags[m.TAG_SITE] == next(d.tags[m.TAG_SITE] for d in DEVICES if d.name == device)
    if kind.startswith("link"):
        assert sample.tags[m.TAG_IFNAME] == resource
        assert sample.fields[m.F_IFINDEX] == int(kw["ifindex"])  # type: ignore[call-overload]
    if kw.get("inform"):
        assert e.attrs.get("inform") == "1"


BAD = [
    ("wrong community", {"community": "nope"}, {"bad_community": 1}),
    ("wrong v3 auth key", {"version": "3", "v3": V3Auth("trapv3", "wrongauthpass", "trapprivpass1",
                                                         engine_id=ENGINE)}, {"bad_auth": 1}),
    ("wrong v3 priv key", {"version": "3", "v3": V3Auth("trapv3", "trapauthpass1", "wrongprivpass",
                                                         engine_id=ENGINE)}, {"bad_priv": 1}),
    # pysnmp looks a v3 TRAP's user up under the sender's engine ID: one not configured is an unknown user
    ("v3 trap from an unconfigured engine ID", {"version": "3", "v3": V3Auth(
        "trapv3", "trapauthpass1", "trapprivpass1", engine_id="80000000010203ff")}, {"unknown_user": 1}),
    # usmStatsUnknownEngineIDs: the discovery probe (empty engine ID) an INFORM sender starts with; the
    # report answering it carries the receiver's engine ID, then the inform itself is refused
    ("v3 inform from an unknown user", {"version": "3", "inform": True, "v3": V3Auth(
        "nobody", "trapauthpass1", "trapprivpass1")}, {"unknown_engine": 1, "unknown_user": 1}),
    ("v3 inform with a wrong auth key", {"version": "3", "inform": True, "timeout_s": 0.3, "v3": V3Auth(
        "trapv3", "wrongauthpass", "trapprivpass1")}, {"unknown_engine": 1, "bad_auth": 1}),
]


@pytest.mark.parametrize(("name", "kw", "counters"), BAD, ids=[b[0] for b in BAD])
async def test_unauthenticated_is_counted_and_dropped(
    rx: tuple[TrapReceiver, Capture], name: str, kw: dict[str, object], counters: dict[str, int]
) -> None:
    r, cap = rx
    before, stats = len(cap.events), r.stats
    try:
        await _send(r, "coldStart", **dict(kw))
        assert not kw.get("inform"), "a refused INFORM must not be acknowledged"
    except subprocess.CalledProcessError:
        assert kw.get("inform"), "snmptrap does not wait for an answer: it can not fail here"
    await _wait(lambda: r.stats.received >= stats.received + sum(counters.values()))
    await asyncio.sleep(0.1)
    after = r.stats
    deltas = {k: getattr(after, k) - getattr(stats, k) for k in ("received", *counters)}
    assert deltas == {"received": sum(counters.values()), **counters}
    assert after.accepted == stats.accepted
    assert len(cap.events) == before


class LossyLink(asyncio.DatagramProtocol):
    """A UDP relay between a sender and the receiver that loses chosen replies (the INFORM's ack)."""

    def __init__(self, upstream: tuple[str, int], lose: set[int]) -> None:
        self.upstream, self.lose = upstream, lose
        self.replies = 0
        self.client: tuple[str, int] | None = None
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)  # selector transports do not subclass it

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        assert self.transport is not None
        if addr == self.upstream:
            self.replies += 1
            if self.replies not in self.lose and self.client is not None:
                self.transport.sendto(data, self.client)
        else:
            self.client = addr
            self.transport.sendto(data, self.upstream)


# the ack lost: snmpinform re-sends after its timeout; net-snmp v3 keeps the request-id, v2c picks a new one
# (same varbinds, same socket). Replies: v3 starts with the engine-ID discovery report, so its ack is the 2nd.
LOST_ACK = [
    ("v2c", {"community": "public"}, {1}, 2),
    ("v3 authPriv", {"version": "3", "v3": V3}, {2}, 3),
]


@pytest.mark.parametrize(("name", "kw", "lose", "datagrams"), LOST_ACK, ids=[c[0] for c in LOST_ACK])
async def test_inform_resent_after_a_lost_ack_is_one_event(
    rx: tuple[TrapReceiver, Capture], name: str, kw: dict[str, object], lose: set[int], datagrams: int
) -> None:
    r, cap = rx
    loop = asyncio.get_running_loop()
    transport, link = await loop.create_datagram_endpoint(lambda: LossyLink(r.address, lose),
                                                          local_addr=("127.0.0.1", 0))
    try:
        before, stats = len(cap.events), r.stats
        port = transport.get_extra_info("sockname")[1]
        proc = await _send_to("127.0.0.1", port, "warmStart", inform=True, timeout_s=0.5, device_address="10.9.9.9",
                              **kw)
        assert proc.returncode == 0  # acknowledged in the end
        await _wait(lambda: r.stats.received >= stats.received + datagrams)
        await _wait(lambda: len(cap.events) > before)
        await asyncio.sleep(0.2)
    finally:
        transport.close()
    assert link.replies == datagrams  # every copy was acknowledged
    after = r.stats
    assert (after.accepted - stats.accepted, after.duplicates - stats.duplicates) == (2, 1)
    assert [(e.device, e.kind) for e in cap.events[before:]] == [("edge-9", "warmStart")]


def _captured_packets(port: int) -> list[bytes]:
    """Real trap datagrams: run snmptrap against a plain UDP socket and keep what arrives."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(2.0)
    target = sock.getsockname()[1]
    out: list[bytes] = []
    try:
        commands = [
            trap_command("127.0.0.1", target, trap_varbinds("linkDown", ifindex=5), community="core1-secret"),
            trap_command("127.0.0.1", target, trap_varbinds("eriAlarm"), community="olt1-secret"),
            trap_command("127.0.0.1", target, trap_varbinds("bgpBackwardTransition"), community="core1-secret"),
            trap_command("127.0.0.1", target, trap_varbinds("coldStart"), version="3", v3=V3),
        ]
        for cmd in commands:
            subprocess.run(cmd, check=True, capture_output=True, timeout=10)
            out.append(sock.recv(65535))
    finally:
        sock.close()
    return out


def _mutations(packets: list[bytes], n: int, seed: int) -> list[bytes]:
    rnd = random.Random(seed)
    out: list[bytes] = []
    for i in range(n):
        p = bytearray(rnd.choice(packets))
        mode = i % 4
        if mode == 0:  # truncated
            out.append(bytes(p[: rnd.randrange(0, len(p))]))
        elif mode == 1:  # flipped bytes
            for _ in range(rnd.randint(1, 6)):
                p[rnd.randrange(len(p))] = rnd.randrange(256)
            out.append(bytes(p))
        elif mode == 2:  # random bytes, sometimes with a plausible SEQUENCE header
            body = rnd.randbytes(rnd.randint(0, 300))
            out.append((b"\x30" + bytes([min(len(body), 127)]) + body) if rnd.random() < 0.5 else body)
        else:  # a length byte changed, or bytes inserted
            j = rnd.randrange(len(p))
            p[j:j] = rnd.randbytes(rnd.randint(1, 8))
            out.append(bytes(p))
    return out


async def test_fuzz_then_still_receives(rx: tuple[TrapReceiver, Capture]) -> None:
    r, cap = rx
    host, port = r.address
    packets = await asyncio.to_thread(_captured_packets, port)
    datagrams = _mutations(packets, 3000, seed=20240501)
    stats = r.stats
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for i, d in enumerate(datagrams):
            sock.sendto(d, (host, port))
            if i % 50 == 49:
                await asyncio.sleep(0.005)  # let the receiver drain (bounded: the socket buffer is 4 MB)
    finally:
        sock.close()
    await _wait(lambda: r.stats.received >= stats.received + len(datagrams) * 0.99, limit_s=20)
    after = r.stats
    assert after.received - after.accepted == sum(getattr(after, k) for k in (
        "malformed", "bad_community", "unknown_engine", "unknown_user", "bad_auth", "bad_priv", "not_in_time",
        "other_dropped"))
    assert after.malformed > stats.malformed
    # mutations that stayed valid traps were accepted: let them all be handled first
    await _wait(lambda: (lambda s: s.events + s.decode_errors + s.handler_errors + s.queue_full + s.heartbeats
                         + s.duplicates == s.accepted)(r.stats), limit_s=10)
    t0 = now()
    await _send(r, "linkDown", community="core1-secret", ifindex=5)
    want = ("core-1", "linkDown", "GigabitEthernet0/0/5")
    await _wait(lambda: any((e.device, e.kind, e.resource) == want and e.time >= t0 for e in cap.events))


async def test_counters_are_written_as_samples(rx: tuple[TrapReceiver, Capture]) -> None:
    r, cap = rx
    await _wait(lambda: any(s.measurement == TRAP_RECEIVER for s in cap.samples), limit_s=3)
    s = [x for x in cap.samples if x.measurement == TRAP_RECEIVER][-1]
    received = s.fields["received"]
    assert isinstance(received, int) and 0 < received <= r.stats.received
    assert s.tags["listen"] == "{}:{}".format(*r.address)


# --- the EMS feed heartbeat ----------------------------------------------------------------------------------

NBI_NAME = "huawei-u2000-nbi"
PERIOD_S = 0.5  # the NBI's 60 s, shortened: lost after 3 periods = 1.5 s

FEED_CASES = [
    # name, heartbeat device, heartbeats sent before the silence, the community they come with, lost/restored on
    ("watched from the first heartbeat; its sender is the device", None, 2, "ems-secret", "ems-1"),
    ("the EMS configured: watched from start, silent from start", "ems-1", 0, "public", "ems-1"),
]


@pytest.mark.parametrize(("name", "hb_device", "beats", "community", "device"), FEED_CASES,
                         ids=[c[0] for c in FEED_CASES])
async def test_feed_heartbeats_counted_then_lost_then_restored(
    name: str, hb_device: str | None, beats: int, community: str, device: str
) -> None:
    nbi = next(mp for mp in MAPPINGS if mp.name == NBI_NAME)
    assert nbi.heartbeat is not None
    hb = Heartbeat(oid=nbi.heartbeat.oid, period_s=PERIOD_S, missed=3, device=hb_device)
    mappings = [mp.model_copy(update={"heartbeat": hb}) if mp.name == NBI_NAME else mp for mp in MAPPINGS]
    r, cap = _receiver(mappings, Names())
    await r.start()
    try:
        for _ in range(beats):
            await _send(r, "emsHeartbeat", community=community)
        await _wait(lambda: r.stats.heartbeats == beats)
        assert cap.events == []  # heartbeats are not events
        await _wait(lambda: len(cap.events) == 1, limit_s=3 * PERIOD_S + 3)
        await asyncio.sleep(2 * PERIOD_S)  # more silent periods: still one loss
        await _send(r, "emsHeartbeat", community=community)
        await _wait(lambda: len(cap.events) == 2)
        await asyncio.sleep(PERIOD_S)
    finally:
        await r.stop()
    lost, restored = cap.events
    assert (lost.device, lost.kind, lost.resource, lost.clears, lost.severity) == (
        device, FEED_LOST, NBI_NAME, None, "major")
    assert (restored.device, restored.kind, restored.resource, restored.clears) == (
        device, FEED_RESTORED, NBI_NAME, FEED_LOST)
    assert (restored.time - lost.time).total_seconds() >= 2 * PERIOD_S
    st = r.stats
    assert (st.heartbeats, st.events, st.accepted) == (beats + 1, 0, beats + 1)
    kinds = [s.tags[m.TAG_KIND] for s in cap.samples if s.measurement == m.EVENT]
    assert kinds == [FEED_LOST, FEED_RESTORED]  # Grafana sees the loss and the return, never a heartbeat


# --- the ifName cache across a restart -------------------------------------------------------------------------

RESTART = [
    # name, interface samples the previous run polled, the linkDown's ifIndex, resource before any poll
    ("the previous run polled it", [("core-1", 77, "GigabitEthernet0/0/77")], 77, "GigabitEthernet0/0/77"),
    ("Huawei PON ifIndex above 2^31", [("core-1", HUAWEI_PON, "GPON 0/0/0")], HUAWEI_PON, "GPON 0/0/0"),
    ("the previous run polled another device", [("olt-1", 77, "GPON 0/0/77")], 77, "77"),
    ("no previous run", [], 77, "77"),
]


@pytest.mark.parametrize(("name", "polled", "ifindex", "resource"), RESTART, ids=[c[0] for c in RESTART])
async def test_restarted_receiver_names_interfaces_before_any_poll(
    name: str, polled: list[tuple[str, int, str]], ifindex: int, resource: str
) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = IfNameCache.default_path(Path(d) / "alarm-state.json")
        previous = IfNameCache.open(path)  # the run before the restart
        previous.observe([Sample(m.INTERFACE, {m.TAG_DEVICE: dev, m.TAG_IFINDEX: str(i), m.TAG_IFNAME: n},
                                 {m.F_OPER_STATUS: 1}, now()) for dev, i, n in polled])
        r, cap = _receiver(MAPPINGS, IfNameCache.open(path))  # restarted: nothing polled yet
        await r.start()
        try:
            await _send(r, "linkDown", community="core1-secret", ifindex=ifindex)
            e = await _next_event(cap, 0)
        finally:
            await r.stop()
    assert (e.device, e.kind, e.resource) == ("core-1", "linkDown", resource)
    assert e.attrs["ifindex"] == str(ifindex)
    assert e.attrs["ifname_from"] == ("poll" if resource != str(ifindex) else "ifindex")
