"""The trap receiver against the real net-snmp snmptrap/snmpinform on a free port of 127.0.0.1."""

from __future__ import annotations

import asyncio
import os
import random
import socket
import subprocess
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr

from collectors import measurements as m
from collectors.model import DeviceEvent, Sample
from collectors.traps.decode import TrapDecoder
from collectors.traps.model import TRAP_RECEIVER, DeviceInfo
from collectors.traps.receiver import TrapReceiver
from config.traps import ReceiverSettings, TrapCommunity, TrapV3User, load_traps
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
]


def now() -> datetime:
    return datetime.now(UTC)


TRAPS_YAML = Path(__file__).resolve().parent.parent / "config" / "traps.yaml"
MAPPINGS = load_traps(TRAPS_YAML, os.environ).mappings


@pytest.fixture(scope="module")
async def rx() -> AsyncIterator[tuple[TrapReceiver, Capture]]:
    mappings = MAPPINGS
    settings = ReceiverSettings(
        address="127.0.0.1", port=0, stats_interval_s=0.5,
        communities=(TrapCommunity(community=SecretStr("core1-secret"), device="core-1"),
                     TrapCommunity(community=SecretStr("olt1-secret"), device="olt-1"),
                     TrapCommunity(community=SecretStr("public"))),
        v3_users=(TrapV3User(user="trapv3", auth_key=SecretStr("trapauthpass1"),
                             priv_key=SecretStr("trapprivpass1")),),
    )
    cap = Capture()
    decoder = TrapDecoder(mappings, Names(), frozenset(d.name for d in DEVICES))
    r = TrapReceiver(settings, decoder, DEVICES, cap.on_event, cap, now, engine_ids={"olt-1": ENGINE})
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
]


@pytest.mark.parametrize(("send_kind", "kw", "device", "kind", "resource", "clears"), CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
async def test_real_trap_becomes_event(
    rx: tuple[TrapReceiver, Capture], send_kind: str, kw: dict[str, object], device: str, kind: str,
    resource: str, clears: str | None,
) -> None:
    r, cap = rx
    before = len(cap.events)
    accepted = r.stats.accepted
    await _send(r, send_kind, **dict(kw))
    e = await _next_event(cap, before)
    assert (e.device, e.kind, e.resource, e.clears) == (device, kind, resource, clears)
    assert r.stats.accepted == accepted + 1
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
    ("wrong community", {"community": "nope"}, "bad_community"),
    ("wrong v3 auth key", {"version": "3", "v3": V3Auth("trapv3", "wrongauthpass", "trapprivpass1",
                                                         engine_id=ENGINE)}, "bad_auth"),
    ("wrong v3 priv key", {"version": "3", "v3": V3Auth("trapv3", "trapauthpass1", "wrongprivpass",
                                                         engine_id=ENGINE)}, "bad_priv"),
    ("unknown engine", {"version": "3", "v3": V3Auth("trapv3", "trapauthpass1", "trapprivpass1",
                                                      engine_id="80000000010203ff")}, "unknown_user"),
]


@pytest.mark.parametrize(("name", "kw", "counter"), BAD, ids=[b[0] for b in BAD])
async def test_unauthenticated_is_counted_and_dropped(
    rx: tuple[TrapReceiver, Capture], name: str, kw: dict[str, object], counter: str
) -> None:
    r, cap = rx
    before, stats = len(cap.events), r.stats
    await _send(r, "coldStart", **dict(kw))
    await _wait(lambda: r.stats.received > stats.received)
    after = r.stats
    assert getattr(after, counter) == getattr(stats, counter) + 1
    assert after.accepted == stats.accepted
    await asyncio.sleep(0.1)
    assert len(cap.events) == before


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
    await _wait(lambda: (lambda s: s.events + s.decode_errors + s.handler_errors + s.queue_full == s.accepted)(
        r.stats), limit_s=10)
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
