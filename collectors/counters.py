"""Counter-rate math: raw SNMP counters of two polls -> per-second rates, or nothing.

A rate is only given when the interval is trustworthy. ``None`` (the field stays absent) when:

- the interval is not positive, or longer than the gap limit (a missed poll is unknown, never up);
- the device restarted (sysUpTime went backwards -- except its own 2^32-tick wrap -- or is
  shorter than the interval), or ifCounterDiscontinuityTime changed: the interval is dropped,
  never turned into a spike;
- the counter width changed (HC column appeared or vanished);
- a byte counter could have wrapped more than once: ``speed x dt / 8 >= 2^bits`` (a 32-bit octet
  counter of a 1 Gbit/s port wraps every 34 s at line rate; with the speed unknown, 1 Tbit/s is
  assumed, so a 32-bit octet counter then gives no rate) -- the number of wraps is ambiguous.
  Packet counters (errors, discards: ``bits_per_unit`` > 8) are only bounded by minimum-size frames
  at line rate, which real errors never approach: they keep the one-wrap reading;
- the rate, after undoing a wrap at 2^32 / 2^64, is above the ceiling (interface speed x 1.1,
  or a sane ceiling when the speed is unknown): such a "wrap" is really an unsignalled reset.

:func:`assess` says which of these dropped an interval (:class:`Drop`); :func:`rate` is its value only.
Everything here is pure except :class:`RateTracker`, which only remembers the last poll.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

BYTE_BITS = 8.0
"""Rules counting at most this many bits per unit (octet counters) are checked for ambiguous wraps."""

UPTIME_MODULUS = 1 << 32
"""sysUpTime (TimeTicks, 1/100 s) wraps at 2^32 ticks, about 497 days."""


@dataclass(frozen=True, slots=True)
class CounterState:
    """The raw counters of one interface (one device, one ifIndex) at one poll."""

    time_s: float
    """When the poll was made, seconds (from the injected clock)."""
    counters: Mapping[str, int]
    bits: Mapping[str, int] = field(default_factory=dict)
    """Width of each counter (32 or 64); a counter missing here is taken as 64-bit."""
    uptime_cs: int | None = None
    """sysUpTime at this poll, in 1/100 s."""
    discontinuity: int | None = None
    """ifCounterDiscontinuityTime at this poll (a sysUpTime value)."""


def _slack_s(dt: float) -> float:
    """How far sysUpTime may trail the poller's clock without meaning a restart."""
    return max(2.0, 0.1 * dt)


def restarted(prev: CounterState, cur: CounterState) -> bool:
    """True when the device's counters were reset between the two polls (restart or discontinuity).

    >>> restarted(CounterState(0, {}, uptime_cs=90_000), CounterState(60, {}, uptime_cs=1_000))
    True
    """
    dt = cur.time_s - prev.time_s
    if None not in (prev.discontinuity, cur.discontinuity) and prev.discontinuity != cur.discontinuity:
        return True
    if prev.uptime_cs is None or cur.uptime_cs is None:
        return False
    if cur.uptime_cs < prev.uptime_cs:
        wrapped_s = (cur.uptime_cs + UPTIME_MODULUS - prev.uptime_cs) / 100.0
        return abs(wrapped_s - dt) > _slack_s(dt)  # not sysUpTime's own wrap: a restart
    return cur.uptime_cs / 100.0 + _slack_s(dt) < dt  # up for less than the interval


def delta(prev_value: int, cur_value: int, bits: int) -> int:
    """The increase of a counter, undoing at most one wrap at 2^bits.

    >>> delta(2**32 - 10, 5, 32)
    15
    """
    d = cur_value - prev_value
    return d + (1 << bits) if d < 0 else d


class Drop(StrEnum):
    """Why an interval of a counter has no rate (the first poll of a counter is no interval: no drop)."""

    GAP = "gap"
    """Longer than the gap limit, a poll in between failed or was missed, or the clock went backwards."""
    RESET = "reset"
    """The device restarted or the counter's discontinuity time changed."""
    WIDTH = "width_changed"
    """The counter changed width (HC column appeared or vanished)."""
    AMBIGUOUS_WRAP = "ambiguous_wrap"
    """The counter could have wrapped more than once in the interval."""
    ABOVE_LINE = "above_line_speed"
    """Faster than the ceiling: an unsignalled reset, not traffic."""


@dataclass(frozen=True, slots=True)
class Assessed:
    """One counter over one interval: its rate, or why there is none (``drop`` None with no rate =
    the counter is missing from a poll: nothing to rate, nothing dropped)."""

    rate: float | None
    drop: Drop | None = None


_MISSING = Assessed(None)


def assess(
    prev: CounterState,
    cur: CounterState,
    counter: str,
    *,
    ceiling: float | None = None,
    max_dt_s: float | None = None,
    wrap_rate: float | None = None,
) -> Assessed:
    """The per-second increase of ``counter`` between two polls, or why it cannot be trusted.

    ``ceiling`` is the highest plausible rate (counter units per second); ``max_dt_s`` the longest
    interval still taken as one poll period; ``wrap_rate`` the fastest the counter can move (line
    rate, units per second): when ``wrap_rate x dt >= 2^bits`` it may have wrapped more than once.

    >>> one_gbit = 1e9 / 8
    >>> assess(CounterState(0, {"o": 1}, {"o": 32}), CounterState(60, {"o": 2}, {"o": 32}), "o", wrap_rate=one_gbit)
    Assessed(rate=None, drop=<Drop.AMBIGUOUS_WRAP: 'ambiguous_wrap'>)
    """
    if counter not in prev.counters or counter not in cur.counters:
        return _MISSING
    dt = cur.time_s - prev.time_s
    if dt <= 0 or (max_dt_s is not None and dt > max_dt_s):
        return Assessed(None, Drop.GAP)
    bits = cur.bits.get(counter, 64)
    if prev.bits.get(counter, 64) != bits:
        return Assessed(None, Drop.WIDTH)
    if restarted(prev, cur):
        return Assessed(None, Drop.RESET)
    if wrap_rate is not None and wrap_rate * dt >= 1 << bits:
        return Assessed(None, Drop.AMBIGUOUS_WRAP)
    r = delta(prev.counters[counter], cur.counters[counter], bits) / dt
    if ceiling is not None and r > ceiling:
        return Assessed(None, Drop.ABOVE_LINE)
    return Assessed(r)


def rate(
    prev: CounterState,
    cur: CounterState,
    counter: str,
    *,
    ceiling: float | None = None,
    max_dt_s: float | None = None,
    wrap_rate: float | None = None,
) -> float | None:
    """Per-second increase of ``counter`` between two polls, or None when it cannot be trusted
    (see :func:`assess` for why).

    >>> rate(CounterState(0, {"o": 100}), CounterState(10, {"o": 1100}), "o")
    100.0
    """
    return assess(prev, cur, counter, ceiling=ceiling, max_dt_s=max_dt_s, wrap_rate=wrap_rate).rate


@dataclass(frozen=True, slots=True)
class RateRule:
    """One rate field computed from one counter (built from a profile's ``rates``)."""

    field: str
    counter: str
    scale: float = 1.0
    bits_per_unit: float = 8.0
    util_field: str | None = None


@dataclass(frozen=True, slots=True)
class Limits:
    """The tracker's plausibility limits."""

    interval_s: float
    gap_factor: float = 1.5
    """An interval longer than ``interval_s x gap_factor`` is a gap (a missed poll in between): no rate.
    1.5 lets a late poll through but never an interval spanning two periods."""
    headroom: float = 1.1
    unknown_speed_bps: float = 1e12
    """Ceiling when the interface speed is unknown (0 or absent): 1 Tbit/s."""

    @property
    def max_dt_s(self) -> float:
        return self.interval_s * self.gap_factor


@dataclass(frozen=True, slots=True)
class RowRates:
    """One interface over one interval: its rate (and utilisation) fields, and the rate fields dropped."""

    fields: Mapping[str, float]
    dropped: Mapping[str, Drop] = field(default_factory=dict)
    """``{rate field: why}`` for each rule whose counter interval was dropped."""


def assess_row(
    prev: CounterState,
    cur: CounterState,
    rules: tuple[RateRule, ...],
    speed_bps: int | None,
    limits: Limits,
) -> RowRates:
    """The rate (and utilisation) fields of one interface for one interval, and why any were dropped."""
    out: dict[str, float] = {}
    dropped: dict[str, Drop] = {}
    known_speed = speed_bps is not None and speed_bps > 0
    line_bps = float(speed_bps) if known_speed and speed_bps else limits.unknown_speed_bps
    for rule in rules:
        ceiling = line_bps * limits.headroom / rule.bits_per_unit
        wrap_rate = line_bps / rule.bits_per_unit if rule.bits_per_unit <= BYTE_BITS else None
        got = assess(prev, cur, rule.counter, ceiling=ceiling, max_dt_s=limits.max_dt_s, wrap_rate=wrap_rate)
        if got.rate is None:
            if got.drop is not None:
                dropped[rule.field] = got.drop
            continue
        value = got.rate * rule.scale
        out[rule.field] = value
        if rule.util_field is not None and known_speed and speed_bps:
            out[rule.util_field] = value / speed_bps * 100.0
    return RowRates(out, dropped)


def rates_for(
    prev: CounterState,
    cur: CounterState,
    rules: tuple[RateRule, ...],
    speed_bps: int | None,
    limits: Limits,
) -> dict[str, float]:
    """The rate (and utilisation) fields of one interface for one interval; absent when invalid."""
    return dict(assess_row(prev, cur, rules, speed_bps, limits).fields)


@dataclass(frozen=True, slots=True)
class Observation:
    """What the collector read of one interface at one poll."""

    state: CounterState
    speed_bps: int | None = None


class RateTracker:
    """Remembers each interface's last raw counters and turns the next poll into rate fields.

    Owned by the collector (injected, never global). Keyed by (device, index); a device's map is
    replaced on each poll, so interfaces that vanish are forgotten. A device :meth:`forget` s (its poll
    failed, was cancelled or missed) has its next interval of every counter dropped as a gap.
    """

    def __init__(self, limits: Limits) -> None:
        self._limits = limits
        self._last: dict[str, dict[str, CounterState]] = {}
        self._gapped: set[str] = set()

    def observe(
        self, device: str, rows: Mapping[str, Observation], rules: tuple[RateRule, ...]
    ) -> dict[str, dict[str, float]]:
        """Record this poll of ``device``; return ``{index: {rate field: value}}`` (absent = no rate)."""
        return {index: dict(r.fields) for index, r in self.assess(device, rows, rules).items()}

    def assess(
        self, device: str, rows: Mapping[str, Observation], rules: tuple[RateRule, ...]
    ) -> dict[str, RowRates]:
        """Record this poll of ``device``; return each index's rates and dropped rate fields."""
        prev_rows = self._last.get(device, {})
        gapped = device in self._gapped
        out: dict[str, RowRates] = {}
        for index, obs in rows.items():
            prev = prev_rows.get(index)
            if prev is not None:
                out[index] = assess_row(prev, obs.state, rules, obs.speed_bps, self._limits)
            elif gapped:  # the poll before this one failed: every counter's interval is a gap
                out[index] = RowRates({}, {r.field: Drop.GAP for r in rules if r.counter in obs.state.counters})
            else:
                out[index] = RowRates({})
        self._last[device] = {index: obs.state for index, obs in rows.items()}
        self._gapped.discard(device)
        return out

    def forget(self, device: str) -> None:
        """A poll of ``device`` was missed or failed: its next interval has no rate (dropped as a gap)."""
        if self._last.pop(device, None) is not None:
            self._gapped.add(device)

    def __len__(self) -> int:
        return sum(len(v) for v in self._last.values())
