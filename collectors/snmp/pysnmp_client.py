"""The reference SNMP adapter: :class:`PysnmpClient`, the :class:`collectors.model.SnmpClient` on pysnmp 7.

One :class:`PysnmpEngine` (one pysnmp ``SnmpEngine``, one UDP socket) is shared by every client of a
worker; each client talks to one :class:`collectors.model.Target`. OIDs are numeric dotted strings (no MIB
lookups).

Table walks send one GETBULK carrying every still-unfinished column (the ``snmptable`` way): a column drops
out of the request as soon as the agent answers past its subtree, with ``endOfMibView`` or with an OID that
does not increase, so ragged columns cost no extra round trips and the request count is set by the longest
column.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from pyasn1.type import univ  # type: ignore[import-untyped]
from pysnmp.entity.engine import SnmpEngine
from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    Udp6TransportTarget,
    UdpTransportTarget,
    UsmUserData,
    bulk_cmd,
    get_cmd,
)
from pysnmp.hlapi.v3arch.asyncio import auth as _auth
from pysnmp.proto import errind, rfc1905
from pysnmp.proto.rfc1902 import (
    Bits,
    Counter32,
    Counter64,
    Gauge32,
    Integer,
    Integer32,
    IpAddress,
    ObjectIdentifier,
    ObjectName,
    OctetString,
    Opaque,
    TimeTicks,
    Unsigned32,
)

from collectors.model import SnmpError, SnmpStats, SnmpValue, Target
from collectors.snmp.ratelimit import Gate

__all__ = [
    "AUTH_PROTOCOLS",
    "PRIV_PROTOCOLS",
    "ColumnWalk",
    "PysnmpClient",
    "PysnmpEngine",
    "absorb_bulk_response",
    "bulk_repetitions",
    "decode_value",
    "is_ipv6",
]

log = logging.getLogger(__name__)

AUTH_PROTOCOLS: dict[str, Any] = {
    "": _auth.usmNoAuthProtocol,
    "MD5": _auth.usmHMACMD5AuthProtocol,
    "SHA": _auth.usmHMACSHAAuthProtocol,
    "SHA224": _auth.usmHMAC128SHA224AuthProtocol,
    "SHA256": _auth.usmHMAC192SHA256AuthProtocol,
    "SHA384": _auth.usmHMAC256SHA384AuthProtocol,
    "SHA512": _auth.usmHMAC384SHA512AuthProtocol,
}
"""``Target.auth_protocol`` → pysnmp USM auth protocol."""

PRIV_PROTOCOLS: dict[str, Any] = {
    "": _auth.usmNoPrivProtocol,
    "DES": _auth.usmDESPrivProtocol,
    "AES": _auth.usmAesCfb128Protocol,
    # AES-192/256 key extension as net-snmp 5.9 and most vendors do it (draft-blumenthal-aes-usm-04).
    "AES192": _auth.usmAesBlumenthalCfb192Protocol,
    "AES256": _auth.usmAesBlumenthalCfb256Protocol,
    # Cisco's key extension (draft-reeder-snmpv3-usm-3desede-00), for devices that need it.
    "AES192C": _auth.usmAesCfb192Protocol,
    "AES256C": _auth.usmAesCfb256Protocol,
}
"""``Target.priv_protocol`` → pysnmp USM privacy protocol."""

_AUTH_ERRORS: tuple[type[errind.ErrorIndication], ...] = (
    errind.WrongDigest,
    errind.UnknownUserName,
    errind.UnknownSecurityName,
    errind.UnsupportedSecurityLevel,
    errind.UnsupportedAuthProtocol,
    errind.UnsupportedPrivProtocol,
    errind.AuthenticationError,
    errind.AuthenticationFailure,
    errind.DecryptionError,
    errind.EncryptionError,
    errind.NoAuthentication,
    errind.NoEncryption,
    errind.UnknownCommunityName,
    errind.NotInTimeWindow,
    errind.NoSuchContext,
    errind.NoSuchView,
    errind.NoAccessEntry,
    errind.NotInView,
    errind.UnknownEngineID,
)

_DOTTED, _BYTES, _INT, _OID, _ABSENT = range(5)
_KINDS: Mapping[type, int] = MappingProxyType(
    {
        Integer32: _INT,
        Integer: _INT,
        Counter32: _INT,
        Counter64: _INT,
        Gauge32: _INT,
        Unsigned32: _INT,
        TimeTicks: _INT,
        OctetString: _BYTES,
        Opaque: _BYTES,
        Bits: _BYTES,
        IpAddress: _DOTTED,
        ObjectIdentifier: _OID,
        ObjectName: _OID,
        rfc1905.NoSuchObject: _ABSENT,
        rfc1905.NoSuchInstance: _ABSENT,
        rfc1905.EndOfMibView: _ABSENT,
        univ.Null: _ABSENT,
    }
)


def _kind(value: Any) -> int:
    kind = _KINDS.get(type(value))
    if kind is not None:
        return kind
    # Subclasses (a vendor type, a pysnmp change). Order matters: pyasn1's Null and pysnmp's
    # IpAddress are both OctetString subclasses.
    if isinstance(value, univ.Null):
        return _ABSENT
    if isinstance(value, univ.Integer):
        return _INT
    if isinstance(value, IpAddress):
        return _DOTTED
    if isinstance(value, univ.OctetString):
        return _BYTES
    if isinstance(value, univ.ObjectIdentifier):
        return _OID
    return _ABSENT


def decode_value(value: Any) -> SnmpValue | None:
    """A pysnmp value as the contract's :data:`SnmpValue`; ``None`` for the exception values.

    Integers (Integer32, Counter32/64, Gauge32, TimeTicks) → ``int``; OctetString, Opaque and Bits →
    ``bytes``; OBJECT IDENTIFIER and IpAddress → dotted ``str``; noSuchObject, noSuchInstance,
    endOfMibView and Null → ``None`` (absent).
    """
    kind = _kind(value)
    if kind == _INT:
        return int(value)
    if kind == _BYTES:
        return bytes(value.asOctets())
    if kind == _OID:
        return str(value)
    if kind == _DOTTED:
        return ".".join(str(b) for b in value.asOctets())
    return None


def _oid_tuple(oid: str) -> tuple[int, ...]:
    return tuple(int(part) for part in oid.strip(".").split("."))


class PysnmpEngine:
    """Owns one pysnmp ``SnmpEngine`` (and its UDP socket) shared by many :class:`PysnmpClient`.

    Create it inside the running event loop (``async with PysnmpEngine() as engine`` or ``PysnmpEngine()``
    then :meth:`close`); the engine caches v3 engine IDs and localized keys, so keep it for the worker's life.
    """

    def __init__(self) -> None:
        asyncio.get_running_loop()  # fail early when built outside a loop: the dispatcher binds to it
        self._engine: SnmpEngine | None = SnmpEngine()

    @property
    def engine(self) -> SnmpEngine:
        if self._engine is None:
            raise RuntimeError("PysnmpEngine is closed")
        return self._engine

    def client(self, target: Target, *, max_rows: int = 100_000, varbind_budget: int = 0) -> PysnmpClient:
        """A client for one device on this engine (``varbind_budget`` 0: the default)."""
        return PysnmpClient(self, target, max_rows=max_rows, varbind_budget=varbind_budget or DEFAULT_VARBIND_BUDGET)

    def close(self) -> None:
        """Close the dispatcher (socket and timer). Idempotent."""
        if self._engine is not None:
            self._engine.close_dispatcher()
            self._engine = None

    async def __aenter__(self) -> PysnmpEngine:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


DEFAULT_VARBIND_BUDGET = 64
"""Varbinds one multi-column GETBULK asks for at most (snmpsim's own response cap; ~2 kB of answer)."""


def bulk_repetitions(width: int, max_repetitions: int, varbind_budget: int) -> int:
    """max-repetitions for a GETBULK over ``width`` columns: the target's ``max_repetitions`` for one
    column, fewer for many so that ``width × repetitions`` stays within the larger of ``varbind_budget``
    and ``max_repetitions``, and at least 1.

    Every row past a column's end is overshoot that is transferred and decoded for nothing (pysnmp's BER
    decoder costs ~100 µs per varbind): 41 IF-MIB columns × 25 repetitions on a 4-port agent decode 1,025
    varbinds to keep 160.
    """
    budget = max(varbind_budget, max_repetitions)
    return max(1, min(max_repetitions, budget // max(1, width)))


@dataclass(slots=True)
class ColumnWalk:
    """Walk state of one column: its OID, the last OID seen in it, and the rows kept so far."""

    name: str
    prefix: tuple[int, ...]
    last: tuple[int, ...]
    rows: dict[str, SnmpValue]

    @classmethod
    def of(cls, column: str) -> ColumnWalk:
        prefix = _oid_tuple(column)
        return cls(name=column, prefix=prefix, last=prefix, rows={})


def absorb_bulk_response(
    active: Sequence[ColumnWalk],
    var_binds: Sequence[tuple[Any, Any]],
    max_rows: int,
    device: str = "",
) -> tuple[list[ColumnWalk], int]:
    """Fold one GETBULK response (asked for ``active``'s columns, in order) into their rows.

    The response is row-major: varbind ``i`` answers column ``i % len(active)``; it may be truncated.
    A column is finished by ``endOfMibView``, an OID outside its subtree, an OID not greater than the
    last one (an agent loop, logged) or the ``max_rows`` cap (logged). Returns the columns still
    unfinished and the number of varbinds kept.
    """
    width = len(active)
    done: set[int] = set()
    kept = 0
    for i, (oid, value) in enumerate(var_binds):
        j = i % width
        if j in done:
            continue
        col = active[j]
        if type(value) is rfc1905.EndOfMibView:
            done.add(j)
            continue
        key = tuple(oid)
        n = len(col.prefix)
        if len(key) <= n or key[:n] != col.prefix:
            done.add(j)  # left the column's subtree: the walk of this column is over
            continue
        if key <= col.last:
            log.warning(
                "device=%s column=%s: agent returned non-increasing OID %s after %s; column stopped",
                device,
                col.name,
                ".".join(map(str, key)),
                ".".join(map(str, col.last)),
            )
            done.add(j)
            continue
        col.last = key
        decoded = decode_value(value)
        if decoded is not None:
            col.rows[".".join(map(str, key[n:]))] = decoded
            kept += 1
        if len(col.rows) >= max_rows:
            log.warning("device=%s column=%s: row cap %d reached; walk stopped", device, col.name, max_rows)
            done.add(j)
    return [c for j, c in enumerate(active) if j not in done], kept


class PysnmpClient:
    """:class:`collectors.model.SnmpClient` for one :class:`Target` over a shared :class:`PysnmpEngine`.

    ``max_rows`` caps the rows kept per column (a guard against endless or huge tables);
    ``varbind_budget`` caps the varbinds one table GETBULK asks for (see :func:`bulk_repetitions`). Varbinds are
    counted as they are kept (answers to what was asked; a GETBULK's overshoot past a column is not).
    """

    def __init__(
        self,
        engine: PysnmpEngine,
        target: Target,
        *,
        max_rows: int = 100_000,
        varbind_budget: int = DEFAULT_VARBIND_BUDGET,
    ) -> None:
        if target.version not in ("2c", "3"):
            raise ValueError(f"{target.name}: SNMP version {target.version!r} not supported (2c or 3)")
        self._engine = engine
        self._target = target
        self._max_rows = max_rows
        self._varbind_budget = varbind_budget
        self._auth = _auth_data(target)
        self._context = ContextData(contextName=target.context) if target.context else ContextData()
        self._transport: UdpTransportTarget | Udp6TransportTarget | None = None
        self._requests = 0
        self._varbinds = 0
        self._gate: Gate | None = None

    def use_gate(self, gate: Gate | None) -> None:
        """Wait on ``gate`` before every request PDU (a GET, each GETBULK of a walk): a profile's rate limit."""
        self._gate = gate

    @property
    def target(self) -> Target:
        return self._target

    @property
    def varbinds(self) -> int:
        return self._varbinds

    @property
    def pdus(self) -> int:
        return self._requests

    @property
    def stats(self) -> SnmpStats:
        return SnmpStats(requests=self._requests, varbinds=self._varbinds)

    async def close(self) -> None:
        """Nothing to release: the socket belongs to the shared engine."""
        self._transport = None

    async def get(self, oids: Sequence[str]) -> dict[str, SnmpValue]:
        if not oids:
            return {}
        var_binds = await self._request(get_cmd, [ObjectType(ObjectIdentity(o)) for o in oids])
        out: dict[str, SnmpValue] = {}
        for oid, value in var_binds:
            decoded = decode_value(value)
            if decoded is not None:
                out[str(oid)] = decoded
        self._varbinds += len(out)
        return out

    async def walk(self, column: str) -> dict[str, SnmpValue]:
        return (await self.walk_table([column]))[column]

    async def walk_table(self, columns: Sequence[str]) -> dict[str, dict[str, SnmpValue]]:
        walks = {name: ColumnWalk.of(name) for name in columns}
        active = list(walks.values())
        while active:
            active = await self._bulk_step(active)
        return {name: w.rows for name, w in walks.items()}

    async def _bulk_step(self, active: list[ColumnWalk]) -> list[ColumnWalk]:
        """One GETBULK for the unfinished columns; returns those still unfinished."""
        repetitions = bulk_repetitions(len(active), self._target.max_repetitions, self._varbind_budget)
        before = [c.last for c in active]
        var_binds = await self._request(
            bulk_cmd,
            [ObjectType(ObjectIdentity(ObjectIdentifier(c.last))) for c in active],
            bulk=(0, repetitions),
        )
        still, kept = absorb_bulk_response(active, var_binds, self._max_rows, self._target.name)
        if len(still) == len(active) and [c.last for c in still] == before:
            raise SnmpError("error", f"{self._target.name}: GETBULK response made no progress")
        self._varbinds += kept
        return still

    async def _transport_target(self) -> UdpTransportTarget | Udp6TransportTarget:
        if self._transport is None:
            t = self._target
            v6 = is_ipv6(t.address)
            kind = Udp6TransportTarget if v6 else UdpTransportTarget
            host = t.address.strip("[]") if v6 else t.address
            try:
                self._transport = await kind.create((host, t.port), timeout=t.timeout_s, retries=t.retries)
            except Exception as exc:  # pysnmp wraps resolver failures in PySnmpError
                raise SnmpError("unreachable", f"{t.name}: {exc}") from exc
        return self._transport

    async def _request(
        self, command: Any, var_binds: list[ObjectType], bulk: tuple[int, int] | None = None
    ) -> list[tuple[ObjectIdentifier, Any]]:
        if self._gate is not None:
            await self._gate.wait()
        transport = await self._transport_target()
        args: tuple[Any, ...] = (self._engine.engine, self._auth, transport, self._context)
        if bulk is not None:
            args += bulk
        self._requests += 1
        try:
            error_indication, error_status, error_index, response = await command(*args, *var_binds, lookupMib=False)
        except SnmpError:
            raise
        except OSError as exc:
            raise SnmpError("unreachable", f"{self._target.name}: {exc}") from exc
        except Exception as exc:  # pysnmp raises PySnmpError for bad input and transport faults
            raise SnmpError("error", f"{self._target.name}: {type(exc).__name__}: {exc}") from exc
        if error_indication:
            raise _indication_error(self._target.name, error_indication)
        if error_status and int(error_status):
            if str(error_status) == "tooBig" and bulk is None and len(var_binds) > 1:
                return await self._split_get(command, var_binds)
            at = int(error_index) if error_index else 0
            where = f" at {var_binds[at - 1][0]}" if 0 < at <= len(var_binds) else ""
            raise SnmpError("error", f"{self._target.name}: {error_status}{where}")
        return [(vb[0], vb[1]) for vb in response]

    async def _split_get(self, command: Any, var_binds: list[ObjectType]) -> list[tuple[ObjectIdentifier, Any]]:
        half = len(var_binds) // 2
        first = await self._request(command, var_binds[:half])
        return first + await self._request(command, var_binds[half:])


def is_ipv6(address: str) -> bool:
    """Whether ``address`` is an IPv6 literal (``::1``, ``2001:db8::7``, with or without ``[]``): such a
    target needs pysnmp's UDP/IPv6 transport; names and IPv4 addresses use the UDP/IPv4 one."""
    try:
        return ipaddress.ip_address(address.strip("[]")).version == 6
    except ValueError:
        return False


def _indication_error(device: str, indication: Any) -> SnmpError:
    detail = f"{device}: {indication}"
    if isinstance(indication, errind.RequestTimedOut):
        return SnmpError("timeout", detail)
    if isinstance(indication, _AUTH_ERRORS):
        return SnmpError("auth", detail)
    return SnmpError("error", detail)


def _auth_data(target: Target) -> CommunityData | UsmUserData:
    if target.version == "2c":
        return CommunityData(target.community, mpModel=1)
    try:
        auth_proto = AUTH_PROTOCOLS[target.auth_protocol.upper().replace("-", "")]
        priv_proto = PRIV_PROTOCOLS[target.priv_protocol.upper().replace("-", "")]
    except KeyError as exc:
        raise ValueError(f"{target.name}: unknown SNMPv3 protocol {exc}") from exc
    return UsmUserData(
        target.user,
        authKey=target.auth_key or None,
        privKey=target.priv_key or None,
        authProtocol=auth_proto,
        privProtocol=priv_proto,
    )
