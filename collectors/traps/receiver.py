"""The pysnmp notification receiver (thin adapter): UDP in, :class:`DeviceEvent` + ``event`` samples out.

Every datagram passes through :meth:`TrapReceiver._on_datagram`, which wraps pysnmp's message dispatcher:
a datagram either reaches the notification callback (``accepted``) or is dropped, and the drop is
classified by the SNMP counters pysnmp bumped while handling it (snmpInASNParseErrs, snmpInBadCommunityNames,
usmStatsWrongDigests, ...). Nothing a sender does can raise out of the callback. INFORMs are acknowledged by
pysnmp's own notification receiver before the trap is handed on.

Decoding and the output port run in one consumer task fed by a bounded queue, so a slow alarm engine
never stalls the socket; overflow is counted (``queue_full``). An INFORM re-sent with the same request-id
(its acknowledgement was lost) is acknowledged again but queued once (``duplicates``). A vendor feed's
heartbeats are counted, never handed on; a watch task emits ``emsFeedLost`` / ``emsFeedRestored``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import fields, replace
from typing import Any, Final

from pysnmp.carrier.asyncio.dgram import udp
from pysnmp.entity import config as snmp_config
from pysnmp.entity import engine as snmp_engine
from pysnmp.entity.rfc3413 import ntfrcv
from pysnmp.proto.api import v2c

from collectors import measurements as m
from collectors.model import Clock, DeviceEvent, FieldValue, Sample, Sink, SnmpValue
from collectors.snmp.pysnmp_client import AUTH_PROTOCOLS, PRIV_PROTOCOLS, decode_value
from collectors.traps import heartbeat
from collectors.traps.decode import TrapDecoder, event_sample
from collectors.traps.dedup import RecentKeys, inform_keys
from collectors.traps.model import TAG_LISTEN, TRAP_RECEIVER, DeviceInfo, EventHandler, RawTrap, TrapStats
from collectors.traps.resolve import DeviceDirectory
from config.traps import ReceiverSettings

log = logging.getLogger(__name__)

_COUNTERS: Final[Mapping[str, tuple[str, ...]]] = {
    "__SNMPv2-MIB": ("snmpInASNParseErrs", "snmpInBadVersions", "snmpInBadCommunityNames",
                     "snmpInBadCommunityUses", "snmpSilentDrops", "snmpProxyDrops"),
    "__SNMP-MPD-MIB": ("snmpUnknownSecurityModels", "snmpInvalidMsgs", "snmpUnknownPDUHandlers"),
    "__SNMP-USER-BASED-SM-MIB": ("usmStatsUnsupportedSecLevels", "usmStatsNotInTimeWindows",
                                 "usmStatsUnknownUserNames", "usmStatsUnknownEngineIDs",
                                 "usmStatsWrongDigests", "usmStatsDecryptionErrors"),
}
_REASON: Final[Mapping[str, str]] = {
    "snmpInASNParseErrs": "malformed",
    "snmpInBadVersions": "malformed",
    "snmpInvalidMsgs": "malformed",
    "snmpUnknownSecurityModels": "malformed",
    "snmpInBadCommunityNames": "bad_community",
    "snmpInBadCommunityUses": "bad_community",
    "usmStatsUnknownEngineIDs": "unknown_engine",
    "usmStatsUnknownUserNames": "unknown_user",
    "usmStatsWrongDigests": "bad_auth",
    "usmStatsUnsupportedSecLevels": "bad_auth",
    "usmStatsDecryptionErrors": "bad_priv",
    "usmStatsNotInTimeWindows": "not_in_time",
}
_VERSIONS: Final = {0: "1", 1: "2c", 3: "3"}
_INFORM_TAG: Final = v2c.InformRequestPDU.tagSet


def normalize_engine_id(text: str) -> str:
    """``0x80:00:00:00:01:02:03:04`` / ``8000000001020304`` → lower-case hex without separators."""
    h = text.strip().lower().removeprefix("0x").replace(":", "").replace(" ", "")
    bytes.fromhex(h)  # raises ValueError on bad hex
    if not 5 <= len(h) // 2 <= 32:
        raise ValueError(f"an SNMP engine ID is 5 to 32 octets, got {len(h) // 2}")
    return h


def stats_sample(stats: TrapStats, listen: str, clock: Clock) -> Sample:
    """The receiver's counters as one ``trap_receiver`` sample (cumulative ints, like SNMP counters): the
    counters the schema names (a counter the schema does not name yet stays in :attr:`TrapReceiver.stats`)."""
    values: dict[str, FieldValue] = {f.name: getattr(stats, f.name) for f in fields(stats)}
    values["dropped"] = stats.dropped
    known = {k: v for k, v in values.items() if k in m.TRAP_RECEIVER_FIELDS}
    return Sample(TRAP_RECEIVER, {TAG_LISTEN: listen}, known, clock())


def feed_tick_s(decoder: TrapDecoder) -> float | None:
    """How often the heartbeat watch looks: a quarter of the shortest period (0.05 s to 5 s); None: no feed."""
    periods = [mp.heartbeat.period_s for mp in decoder.mappings if mp.heartbeat is not None]
    return min(max(min(periods) / 4, 0.05), 5.0) if periods else None


class TrapReceiver:
    """Listens for SNMP traps and informs; hands each one on as a DeviceEvent and an ``event`` sample.

    ``engine_ids`` maps device name → that device's SNMPv3 engine ID (hex): needed to authenticate its v3
    TRAPs (INFORMs use the receiver's own engine ID), and it ties those traps to the device.
    """

    def __init__(
        self,
        settings: ReceiverSettings,
        decoder: TrapDecoder,
        devices: Sequence[DeviceInfo],
        on_event: EventHandler,
        sink: Sink,
        clock: Clock,
        engine_ids: Mapping[str, str] | None = None,
    ) -> None:
        self._settings = settings
        self._decoder = decoder
        self._on_event = on_event
        self._sink = sink
        self._clock = clock
        self._engine_ids = {d: normalize_engine_id(e) for d, e in (engine_ids or {}).items()}
        self._devices = list(devices)
        self._counts: Counter[str] = Counter()  # by TrapStats field name
        self._directory = DeviceDirectory(self._devices)
        self._engine: Any = None
        self._ntf: Any = None
        self._sock: socket.socket | None = None
        self._mib: dict[str, Any] = {}
        self._queue: asyncio.Queue[RawTrap] = asyncio.Queue(settings.queue_size)
        self._tasks: list[asyncio.Task[None]] = []
        self._delivered = False
        self._last: dict[str, Any] = {}
        self._last_engine = ""
        self._listen = ""
        self._local_engine = ""
        self._recent = RecentKeys(settings.inform_dedup_s)
        self._feeds: dict[str, heartbeat.FeedState] = {}

    # --- lifecycle ------------------------------------------------------------------------------------

    @property
    def address(self) -> tuple[str, int]:
        """The bound address (the real port when settings asked for port 0)."""
        if self._sock is None:
            return (self._settings.address, self._settings.port)
        host, port = self._sock.getsockname()[:2]
        return (str(host), int(port))

    @property
    def stats(self) -> TrapStats:
        return TrapStats(**self._counts)

    async def start(self) -> None:
        """Bind the socket (raises OSError at once if the port is taken) and start receiving."""
        if self._engine is not None:
            raise RuntimeError("trap receiver already started")
        s = self._settings
        sock = socket.socket(socket.AF_INET6 if ":" in s.address else socket.AF_INET, socket.SOCK_DGRAM)
        try:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            sock.bind((s.address, s.port))
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self._sock = sock
        self._listen = "{}:{}".format(*self.address)
        eng = snmp_engine.SnmpEngine()
        self._engine = eng
        snmp_config.add_transport(eng, udp.DOMAIN_NAME, udp.UdpTransport().open_server_mode(sock=sock))
        pinned = self._add_credentials(eng)
        self._directory = DeviceDirectory(self._devices, pinned)
        mib = eng.get_mib_builder()
        self._mib = {n: mib.import_symbols(mod, n)[0] for mod, names in _COUNTERS.items() for n in names}
        eng.observer.register_observer(self._observe, "rfc3412.receiveMessage:request")
        eng.observer.register_observer(self._observe_usm, "rfc3414.processIncomingMsg")
        self._local_engine = bytes(eng.snmpEngineID.asOctets()).hex()
        self._ntf = ntfrcv.NotificationReceiver(eng, self._on_notification)
        dispatcher = eng.transport_dispatcher
        dispatcher.unregister_recv_callback(None)
        dispatcher.register_recv_callback(self._on_datagram, None)
        now = self._clock()
        self._feeds = {mp.name: heartbeat.start(mp, now) for mp in self._decoder.mappings if mp.heartbeat}
        self._tasks = [
            asyncio.create_task(self._consume(), name="traps-consume"),
            asyncio.create_task(self._report(), name="traps-stats"),
        ]
        tick_s = feed_tick_s(self._decoder)
        if tick_s is not None:
            self._tasks.append(asyncio.create_task(self._watch_feeds(tick_s), name="traps-feeds"))
        log.warning("trap receiver: listening on udp %s (%d communities, %d v3 users, %d engine IDs)",
                    self._listen, len(s.communities), len(s.v3_users), len(self._engine_ids))

    def _add_credentials(self, eng: Any) -> dict[str, str]:
        """Register communities and v3 users; returns security label → pinned device."""
        pinned: dict[str, str] = {}
        for i, c in enumerate(self._settings.communities):
            label = f"c{i}"
            snmp_config.add_v1_system(eng, label, c.community.get_secret_value())
            if c.device is not None:
                pinned[label] = c.device
        for u in self._settings.v3_users:
            auth, priv = AUTH_PROTOCOLS[u.auth_protocol], PRIV_PROTOCOLS[u.priv_protocol]
            ak, pk = u.auth_key.get_secret_value(), u.priv_key.get_secret_value()
            # the receiver's own engine ID: INFORMs (the sender discovers it); the senders' ones: TRAPs.
            # (pysnmp keys a USM row by engine ID + security name, so the name must stay the user name;
            # the device is told by the sender's engine ID, seen through the rfc3414 observer point.)
            snmp_config.add_v3_user(eng, u.user, auth, ak, priv, pk)
            for engine_id in sorted(set(self._engine_ids.values())):
                snmp_config.add_v3_user(eng, u.user, auth, ak, priv, pk,
                                        securityEngineId=v2c.OctetString(hexValue=engine_id))
        for device, engine_id in self._engine_ids.items():
            pinned[f"engine:{engine_id}"] = device
        return pinned

    async def stop(self) -> None:
        """Stop listening, hand on what is queued, write the final counters."""
        eng, self._engine = self._engine, None
        if eng is None:
            return
        with contextlib.suppress(Exception):
            self._ntf.close(eng)
        with contextlib.suppress(Exception):
            eng.close_dispatcher()
        if self._sock is not None:
            self._sock.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), 5.0)
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        self._tasks = []
        await self._write_stats()
        log.warning("trap receiver: stopped on udp %s: %s", self._listen, self.stats)

    # --- pysnmp callbacks (synchronous, on the event loop) ---------------------------------------------

    def _snapshot(self) -> dict[str, int]:
        return {name: int(sym.syntax) for name, sym in self._mib.items()}

    def _on_datagram(self, dispatcher: Any, domain: Any, address: Any, message: bytes) -> None:
        c = self._counts
        c["received"] += 1
        before = self._snapshot()
        self._delivered = False
        self._last = {}
        self._last_engine = ""
        try:
            self._engine.message_dispatcher.receive_message(self._engine, domain, address, message)
        except Exception as exc:  # a sender must never be able to break the receiver
            log.debug("trap receiver: datagram from %s raised %r", address, exc)
            if not self._delivered:
                c["malformed"] += 1
            return
        if self._delivered:
            return
        after = self._snapshot()
        reasons = [_REASON[n] for n in after if after[n] != before[n] and n in _REASON]
        reason = reasons[0] if reasons else "other_dropped"
        c[reason] += 1
        log.info("trap receiver: dropped a datagram from %s: %s", _host(address), reason)

    def _observe(self, eng: Any, point: str, variables: Mapping[str, Any], ctx: Any) -> None:
        self._last = {
            "address": variables.get("transportAddress"),
            "model": variables.get("messageProcessingModel"),
            "security_name": variables.get("securityName"),
            "pdu": variables.get("pdu"),
        }

    def _observe_usm(self, eng: Any, point: str, variables: Mapping[str, Any], ctx: Any) -> None:
        engine_id = variables.get("securityEngineId")
        seen = bytes(engine_id.asOctets()).hex() if engine_id is not None else ""
        # a v3 INFORM is authenticated with the receiver's own engine ID: that names no device
        self._last_engine = "" if seen == self._local_engine else seen

    def _on_notification(
        self, eng: Any, state_ref: Any, ctx_engine: Any, ctx_name: Any, varbinds: Any, cb_ctx: Any
    ) -> None:
        c = self._counts
        if not self._delivered:
            c["accepted"] += 1
            self._delivered = True
        try:
            address = self._last.get("address")
            if address is None:
                _domain, address = eng.message_dispatcher.get_transport_info(state_ref)
            pdu = self._last.get("pdu")
            vbs: list[tuple[str, SnmpValue]] = []
            for oid, value in varbinds:
                v = decode_value(value)
                if v is not None:
                    vbs.append((str(oid), v))
            trap = RawTrap(
                source=_host(address),
                port=int(address[1]),
                version=_VERSIONS.get(int(self._last.get("model") or 1), "?"),
                security_name=(f"engine:{self._last_engine}" if self._last_engine
                               else str(self._last.get("security_name") or "")),
                varbinds=tuple(vbs),
                time=self._clock(),
                inform=pdu is not None and pdu.tagSet == _INFORM_TAG,
            )
            repeat = trap.inform and self._recent.seen(inform_keys(trap, int(v2c.apiPDU.get_request_id(pdu))),
                                                       trap.time)
        except Exception as exc:
            c["decode_errors"] += 1
            log.warning("trap receiver: could not read a notification: %r", exc)
            return
        if repeat:  # its acknowledgement was lost and it came again: acknowledged again, handed on once
            c["duplicates"] += 1
            log.info("trap receiver: a repeated INFORM from %s (%s) acknowledged, not handed on again",
                     trap.source, trap.security_name)
            return
        try:
            self._queue.put_nowait(trap)
        except asyncio.QueueFull:
            c["queue_full"] += 1

    # --- the consumer and the counters sample ---------------------------------------------------------

    async def _consume(self) -> None:
        while True:
            trap = await self._queue.get()
            try:
                await self._handle(trap)
            finally:
                self._queue.task_done()

    async def _handle(self, trap: RawTrap) -> None:
        c = self._counts
        resolved = self._directory.resolve(trap)
        feed = self._decoder.heartbeat_of(trap)
        if feed is not None:
            c["heartbeats"] += 1
            await self._beat(feed.name, resolved.device, trap)
            return
        if not resolved.ok:
            c["unresolved"] += 1
        try:
            event = self._decoder.decode(trap, resolved.device)
        except Exception as exc:
            c["decode_errors"] += 1
            log.warning("trap receiver: device=%s could not decode a trap: %r", resolved.device, exc)
            return
        if not resolved.ok:
            event = replace(event, attrs={**event.attrs, "unresolved": "1"})
        try:
            await self._hand_on(event)
            c["events"] += 1
        except Exception:
            c["handler_errors"] += 1
            log.exception("trap receiver: device=%s kind=%s: the event handler failed", event.device, event.kind)

    async def _hand_on(self, event: DeviceEvent) -> None:
        await self._on_event(event)
        await self._sink.write([event_sample(event, self._directory.tags(event.device))])

    # --- vendor feed heartbeats -----------------------------------------------------------------------

    async def _beat(self, mapping: str, sender: str, trap: RawTrap) -> None:
        state, event = heartbeat.beat(self._feeds[mapping], sender, trap.time)
        self._feeds[mapping] = state
        log.debug("trap receiver: device=%s heartbeat of feed %s", sender, mapping)
        if event is not None:
            log.warning("trap receiver: device=%s feed %s restored", event.device, mapping)
            await self._hand_on_feed(event)

    async def _watch_feeds(self, every_s: float) -> None:
        while True:
            await asyncio.sleep(every_s)
            for name in list(self._feeds):
                state, event = heartbeat.tick(self._feeds[name], self._clock())
                self._feeds[name] = state
                if event is not None:
                    log.warning("trap receiver: device=%s feed %s lost: %s", event.device, name, event.text)
                    await self._hand_on_feed(event)

    async def _hand_on_feed(self, event: DeviceEvent) -> None:
        try:
            await self._hand_on(event)
        except Exception:
            log.exception("trap receiver: device=%s kind=%s: the event handler failed", event.device, event.kind)

    @property
    def feeds(self) -> Mapping[str, heartbeat.FeedState]:
        """Each watched vendor feed's state, by mapping name."""
        return dict(self._feeds)

    async def _report(self) -> None:
        while True:
            await asyncio.sleep(self._settings.stats_interval_s)
            await self._write_stats()

    async def _write_stats(self) -> None:
        try:
            await self._sink.write([stats_sample(self.stats, self._listen, self._clock)])
        except Exception:
            log.exception("trap receiver: writing the counters sample failed")


def _host(address: Any) -> str:
    try:
        return str(address[0])
    except (TypeError, IndexError):
        return str(address)
