"""Turn a static recording into a live one: counters and sysUpTime that advance with wall-clock time.

A recording (``OID|TYPE|VALUE`` per line, snmpsim's ``.snmprec``) is copied unchanged except for:

- the interface counters (IF-MIB octets, packets, errors and discards; 32- and 64-bit) of every port
  that is oper up, not a software loopback and has a known speed. Each gets snmpsim's ``numeric``
  variation with a rate derived from the port speed: a utilisation of 10–60 % per direction, a packet
  size of 300–1200 bytes, and on a few ports 1–5 errors or discards a minute. The numbers are drawn
  from a hash of (device, ifIndex, what), so a rerun gives the same lab;
- ``sysUpTime.0``: 100 ticks a second (added when the recording lacks it, as two of them do).

Every value is a function of absolute wall-clock time (``atime=1``) anchored at the lab epoch:
a counter reads its recorded value at the epoch and ``value + rate × (now − epoch)`` after it, whether
or not snmpsim restarted in between. A lab restart is then neither a wrap nor a reset.

What snmpsim 1.2.2's ``numeric`` computes (``snmpsim/variation/numeric.py``), with ``t = time.time()``
when ``atime`` is set: ``v = f(rate × t) + offset + initial``, where ``f`` is the identity or the
``math`` function named by ``function`` (arguments separated by ``%``, ``<time>`` standing for
``rate × t``); then if ``v > max``: ``v %= max`` with ``wrap``, else ``v = max``. All in floats.
Its ``wrap`` is off by one for Counter32: it reduces modulo ``max`` = 2^32 − 1 (and ``max=4294967296``
answers noSuchInstance when ``v`` lands on 2^32 exactly). So:

- a 32-bit counter that wraps within :attr:`TrafficModel.horizon_s` is ``fmod(rate × t, 2^32)``
  (``function=fmod%<time>%4294967296``): an exact 2^32 wrap, but it cannot carry an offset, so its
  phase is set by the clock rather than by the recorded value;
- a slow 32-bit counter (errors) is ``rate × t + offset`` and starts at its recorded value;
- a 64-bit counter is ``rate × t + offset`` with ``wrap=1`` (its default ``max`` rounds to 2^64 as a
  float, so the wrap is right); its offset is chosen ≡ the 32-bit twin's phase (mod 2^32), so that
  ``ifHCInOctets mod 2^32 == ifInOctets``, and the value at the epoch is within 2^32 above the recording.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

__all__ = [
    "SYS_UPTIME",
    "PortRates",
    "Record",
    "TrafficModel",
    "live_recording",
    "overlay",
    "parse",
    "port_rates",
    "render",
    "transform",
]

SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
_IF_TABLE = "1.3.6.1.2.1.2.2.1."
_IFX_TABLE = "1.3.6.1.2.1.31.1.1.1."
_IF_TYPE = _IF_TABLE + "3"
_IF_SPEED = _IF_TABLE + "5"
_IF_OPER_STATUS = _IF_TABLE + "8"
_IF_HIGH_SPEED = _IFX_TABLE + "15"
_SOFTWARE_LOOPBACK = 24
_OPER_UP = 1
_TWO32 = 1 << 32
_TWO64 = 1 << 64
_TAG_WIDTH = {"65": 32, "70": 64}
_INT32_MAX = (1 << 31) - 1

_COUNTER_COLUMNS: Mapping[str, str] = {
    _IF_TABLE + "10": "in_octets",
    _IF_TABLE + "11": "in_ucast",
    _IF_TABLE + "12": "in_nucast",
    _IF_TABLE + "13": "in_discards",
    _IF_TABLE + "14": "in_errors",
    _IF_TABLE + "16": "out_octets",
    _IF_TABLE + "17": "out_ucast",
    _IF_TABLE + "18": "out_nucast",
    _IF_TABLE + "19": "out_discards",
    _IF_TABLE + "20": "out_errors",
    _IFX_TABLE + "2": "in_mcast",
    _IFX_TABLE + "3": "in_bcast",
    _IFX_TABLE + "4": "out_mcast",
    _IFX_TABLE + "5": "out_bcast",
    _IFX_TABLE + "6": "in_octets",
    _IFX_TABLE + "7": "in_ucast",
    _IFX_TABLE + "8": "in_mcast",
    _IFX_TABLE + "9": "in_bcast",
    _IFX_TABLE + "10": "out_octets",
    _IFX_TABLE + "11": "out_ucast",
    _IFX_TABLE + "12": "out_mcast",
    _IFX_TABLE + "13": "out_bcast",
}
"""IF-MIB counter column -> what it counts (32- and 64-bit twins share a name)."""


@dataclass(frozen=True, slots=True)
class Record:
    """One line of a ``.snmprec``: ``oid|tag|value`` (``tag`` may carry a variation: ``70:numeric``)."""

    oid: str
    tag: str
    value: str

    @property
    def key(self) -> tuple[int, ...]:
        """The OID as numbers (SNMP order)."""
        return tuple(int(p) for p in self.oid.split("."))

    def line(self) -> str:
        return f"{self.oid}|{self.tag}|{self.value}"


@dataclass(frozen=True, slots=True)
class TrafficModel:
    """How busy the lab is. Every draw is a deterministic hash of (device, ifIndex, what)."""

    util_min: float = 0.10
    util_max: float = 0.60
    packet_bytes_min: float = 300.0
    packet_bytes_max: float = 1200.0
    multicast_share: float = 0.02
    broadcast_share: float = 0.01
    error_port_share: float = 0.15
    """Share of ports (per error column) that count errors or discards."""
    errors_per_min_min: float = 1.0
    errors_per_min_max: float = 5.0
    horizon_s: float = 10 * 365 * 86400.0
    """A 32-bit counter that would wrap within this time of the epoch is a wrapping (``fmod``) counter."""
    uptime_start_max: int = 1 << 31
    """Recorded sysUpTime at or above this (ticks) is reduced modulo it, leaving >= 248 days to run."""


@dataclass(frozen=True, slots=True)
class PortRates:
    """What one port counts per second (octets, packets, errors) by counter name (``_COUNTER_COLUMNS``)."""

    if_index: int
    speed_bps: int
    in_util: float
    out_util: float
    rates: Mapping[str, float]

    def rate(self, counter: str) -> float:
        return self.rates.get(counter, 0.0)


def parse(text: str) -> list[Record]:
    """Records of a ``.snmprec`` text (blank lines skipped). Raises ValueError on a broken line."""
    out: list[Record] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split("|", 2)
        if len(parts) != 3 or not parts[0] or not parts[1]:
            raise ValueError(f"line {n}: not OID|TYPE|VALUE: {line!r}")
        out.append(Record(parts[0].lstrip("."), parts[1], parts[2]))
    return out


def render(records: Iterable[Record]) -> str:
    return "".join(r.line() + "\n" for r in records)


def _unit(*parts: object) -> float:
    """A stable pseudo-random number in [0, 1) from ``parts`` (sha256, not ``hash``: same across runs)."""
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _between(lo: float, hi: float, *parts: object) -> float:
    return lo + (hi - lo) * _unit(*parts)


def _column(oid: str) -> tuple[str, int] | None:
    """(column OID, ifIndex) of a single-index table cell."""
    col, _, idx = oid.rpartition(".")
    if not idx.isdigit():
        return None
    return col, int(idx)


def _int_value(record: Record) -> int | None:
    if record.tag.split(":", 1)[0] not in ("2", "65", "66", "67", "70"):
        return None
    try:
        return int(record.value)
    except ValueError:
        return None


def port_rates(records: Sequence[Record], device: str, model: TrafficModel = TrafficModel()) -> dict[int, PortRates]:
    """Per ifIndex, the rates of every port that carries traffic: oper up, not a software loopback, with a
    speed (ifHighSpeed in Mbit/s, else ifSpeed in bit/s; 0 or absent means no traffic)."""
    columns: dict[str, dict[int, int]] = {}
    for r in records:
        cell = _column(r.oid)
        if cell is None or cell[0] not in (_IF_TYPE, _IF_SPEED, _IF_OPER_STATUS, _IF_HIGH_SPEED):
            continue
        value = _int_value(r)
        if value is not None:
            columns.setdefault(cell[0], {})[cell[1]] = value
    oper = columns.get(_IF_OPER_STATUS, {})
    out: dict[int, PortRates] = {}
    for if_index, status in sorted(oper.items()):
        if status != _OPER_UP or columns.get(_IF_TYPE, {}).get(if_index) == _SOFTWARE_LOOPBACK:
            continue
        high = columns.get(_IF_HIGH_SPEED, {}).get(if_index, 0)
        speed = high * 1_000_000 if high > 0 else max(columns.get(_IF_SPEED, {}).get(if_index, 0), 0)
        if speed <= 0:
            continue
        out[if_index] = _rates_of(device, if_index, speed, model)
    return out


def _rates_of(device: str, if_index: int, speed_bps: int, m: TrafficModel) -> PortRates:
    rates: dict[str, float] = {}
    utils: dict[str, float] = {}
    for d in ("in", "out"):
        util = _between(m.util_min, m.util_max, device, if_index, d, "util")
        utils[d] = util
        octets = speed_bps / 8 * util
        packets = octets / _between(m.packet_bytes_min, m.packet_bytes_max, device, if_index, d, "size")
        mcast, bcast = packets * m.multicast_share, packets * m.broadcast_share
        rates[f"{d}_octets"] = octets
        rates[f"{d}_ucast"] = packets - mcast - bcast
        rates[f"{d}_mcast"] = mcast
        rates[f"{d}_bcast"] = bcast
        rates[f"{d}_nucast"] = mcast + bcast
        for kind in ("errors", "discards"):
            if _unit(device, if_index, d, kind, "port") < m.error_port_share:
                per_min = _between(m.errors_per_min_min, m.errors_per_min_max, device, if_index, d, kind)
                rates[f"{d}_{kind}"] = per_min / 60
    return PortRates(if_index, speed_bps, utils["in"], utils["out"], rates)


def _num(x: float | Fraction) -> str:
    """A number as snmpsim's ``float()`` reads it back (integers exactly, in full)."""
    if isinstance(x, Fraction):
        return str(x.numerator) if x.denominator == 1 else repr(float(x))
    return repr(x)


_HALF = Fraction(1, 2)
"""Added to offsets so that float rounding never serves one less than the recorded value at the epoch."""


def _counter32(recorded: int, rate: float, epoch: int, m: TrafficModel) -> tuple[str, Fraction]:
    """(numeric spec, phase mod 2^32) of a 32-bit counter."""
    if recorded + rate * m.horizon_s < _TWO32:
        offset = recorded - Fraction(rate) * epoch + _HALF
        return f"atime=1,rate={_num(rate)},offset={_num(offset)}", offset % _TWO32
    return f"function=fmod%<time>%{_TWO32},atime=1,rate={_num(rate)}", Fraction(0)


def _counter64(recorded: int, rate: float, epoch: int, phase: Fraction | None, m: TrafficModel) -> str:
    if recorded + rate * m.horizon_s >= _TWO64:  # keep a decade of headroom below the 2^64 wrap
        recorded %= 1 << 62
    offset = recorded - Fraction(rate) * epoch + _HALF
    if phase is not None:
        offset += (phase - offset) % _TWO32
    return f"atime=1,rate={_num(rate)},offset={_num(offset)},wrap=1"


def _uptime(tag: str, recorded: int, epoch: int, m: TrafficModel) -> str:
    start = recorded % m.uptime_start_max if recorded >= m.uptime_start_max else recorded
    spec = f"atime=1,rate=100,offset={start - 100 * epoch}"
    if tag == "2":  # a recording that types sysUpTime as INTEGER (ceraos): stay an Integer32
        spec += f",max={_INT32_MAX}"
    return spec


def transform(records: Sequence[Record], device: str, epoch: int, model: TrafficModel = TrafficModel()) -> list[Record]:
    """The live copy of ``records`` for lab device ``device`` with the lab epoch ``epoch`` (Unix seconds).

    Only counters of ports in :func:`port_rates` and ``sysUpTime.0`` change; a missing ``sysUpTime.0``
    is inserted in OID order, starting at 1–60 days (a hash of the device name)."""
    ports = port_rates(records, device, model)
    phases: dict[tuple[str, int], Fraction] = {}
    out: list[Record | None] = [None] * len(records)
    # 32-bit counters first: their phase decides their 64-bit twin's offset
    for width in (32, 64):
        for i, r in enumerate(records):
            if _TAG_WIDTH.get(r.tag) != width:
                continue
            cell = _column(r.oid)
            counter = _COUNTER_COLUMNS.get(cell[0]) if cell else None
            port = ports.get(cell[1]) if cell else None
            recorded = _int_value(r)
            if counter is None or port is None or recorded is None or port.rate(counter) <= 0:
                continue
            assert cell is not None
            rate = port.rate(counter)
            if width == 32:
                spec, phases[(counter, cell[1])] = _counter32(recorded, rate, epoch, model)
            else:
                spec = _counter64(recorded, rate, epoch, phases.get((counter, cell[1])), model)
            out[i] = Record(r.oid, f"{r.tag}:numeric", spec)
    result: list[Record] = []
    for i, r in enumerate(records):
        new = out[i]
        if new is None and r.oid == SYS_UPTIME and r.tag in ("67", "2"):
            recorded = _int_value(r)
            if recorded is not None:
                new = Record(r.oid, f"{r.tag}:numeric", _uptime(r.tag, recorded, epoch, model))
        result.append(new or r)
    if not any(r.oid == SYS_UPTIME for r in records):
        start = int(_between(86400.0, 60 * 86400.0, device, "uptime")) * 100
        added = Record(SYS_UPTIME, "67:numeric", _uptime("67", start, epoch, model))
        at = next((i for i, r in enumerate(result) if r.key > added.key), len(result))
        result.insert(at, added)
    return result


def overlay(records: Sequence[Record], extra: Iterable[Record]) -> list[Record]:
    """``records`` with ``extra`` laid over them: a record of ``extra`` replaces the one with its OID, the
    others are inserted in OID order (``records`` stay in their order; ``extra`` may come in any order)."""
    added = sorted(extra, key=lambda r: r.key)
    if not added:
        return list(records)
    by_oid = {r.oid: r for r in added}
    kept = [by_oid.pop(r.oid, r) for r in records]
    new = sorted(by_oid.values(), key=lambda r: r.key)
    out: list[Record] = []
    i = 0
    for r in kept:
        while i < len(new) and new[i].key < r.key:
            out.append(new[i])
            i += 1
        out.append(r)
    out += new[i:]
    return out


def live_recording(
    text: str, device: str, epoch: int, model: TrafficModel = TrafficModel(), extra: Iterable[Record] = ()
) -> str:
    """:func:`transform` from ``.snmprec`` text to ``.snmprec`` text, after laying ``extra`` records over the
    recording (:func:`overlay`; the lab OLTs' generated ONU tables)."""
    return render(transform(overlay(parse(text), extra), device, epoch, model))
