"""Run a profile's groups for one job against an :class:`SnmpClient` and turn the answers into samples.

Three steps, I/O kept apart from the logic:

- :func:`fetch` (async, I/O): reads what the job's groups need -- a timed GET of the scalars,
  then one table walk per group -- into a :class:`Raw` (stops at the first failure, keeping what it has);
- :func:`parse` (pure): ``Raw`` -> device-level samples and per-index table rows;
- :class:`SnmpCollector` (the facade for the composition root): fetch, parse, counter rates
  through the injected :class:`~collectors.counters.RateTracker`, and a :class:`PollResult` that
  carries device faults as values.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from collectors import measurements as m
from collectors.counters import CounterState, Observation, RateRule, RateTracker, RowRates
from collectors.model import Clock, FieldValue, PollResult, Sample, SnmpClient, SnmpError, SnmpValue, Target
from collectors.scheduler import request_timeout
from collectors.snmp.decoders import VALUE_DECODERS
from collectors.snmp.indexes import DEFAULT_PARENT, INDEX_DECODERS, PARENT_DECODERS
from collectors.snmp.ratelimit import PollGate, Throttle, TokenBucket, gate_client
from config.profiles import (
    Condition,
    Profile,
    ProfileSet,
    ReduceGroup,
    ReduceSource,
    ScalarsGroup,
    Source,
    TableGroup,
    ValueSpec,
)

log = logging.getLogger(__name__)

AnyGroup = ScalarsGroup | TableGroup | ReduceGroup


# --- fetch (I/O) ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Raw:
    """What :func:`fetch` read: scalars by OID, walked columns by OID (``{column: {index: value}}``)."""

    scalars: Mapping[str, SnmpValue] = field(default_factory=dict)
    columns: Mapping[str, Mapping[str, SnmpValue]] = field(default_factory=dict)
    response_ms: float | None = None
    """Round trip of the first GET (the reachability probe); None when nothing answered."""
    error: str | None = None
    """Why fetching stopped early (an :class:`SnmpError` reason), or None."""
    detail: str = ""


def scalar_oids(groups: Sequence[AnyGroup]) -> tuple[str, ...]:
    """Every scalar OID the groups GET, in order, once (scalars groups; a table group's uptime)."""
    oids: list[str] = []
    for g in groups:
        if isinstance(g, ScalarsGroup):
            oids += g.scalar_oids
        elif isinstance(g, TableGroup) and g.uptime is not None:
            oids.append(g.uptime)
    return tuple(dict.fromkeys(oids))


async def fetch(
    client: SnmpClient, groups: Sequence[AnyGroup], *, timer: Callable[[], float] = time.perf_counter
) -> Raw:
    """Read what ``groups`` need: one timed GET of their scalars, then one walk per table/reduce group."""
    scalars: dict[str, SnmpValue] = {}
    columns: dict[str, Mapping[str, SnmpValue]] = {}
    response_ms: float | None = None
    try:
        oids = scalar_oids(groups)
        if oids:
            t0 = timer()
            scalars = await client.get(oids)
            response_ms = (timer() - t0) * 1000.0
        for g in groups:
            cols = g.count_columns if isinstance(g, ScalarsGroup) else g.columns
            if cols:
                wanted = [c for c in cols if c not in columns]
                if wanted:
                    columns.update(await client.walk_table(wanted))
    except SnmpError as exc:
        return Raw(scalars, columns, response_ms, exc.reason, exc.detail)
    return Raw(scalars, columns, response_ms)


# --- parse (pure) -----------------------------------------------------------------------------------------


def text(value: SnmpValue) -> str:
    """An SNMP value as text: OctetStrings as UTF-8, else GB18030 (Chinese gear), else Latin-1.

    >>> text(b"GigabitEthernet0/0/1\\x00")
    'GigabitEthernet0/0/1'
    """
    if isinstance(value, bytes):
        for enc in ("utf-8", "gb18030"):
            try:
                return value.decode(enc).rstrip("\x00").strip()
            except UnicodeDecodeError:
                continue
        return value.decode("iso-8859-1").rstrip("\x00").strip()
    return str(value)


def number(value: SnmpValue) -> float | None:
    """An SNMP value as a number (numeric strings too, e.g. MINI-LINK's ``"-40.5"``), or None."""
    if isinstance(value, int):
        return float(value)
    try:
        f = float(text(value))
    except ValueError:
        return None
    return f if math.isfinite(f) else None


def is_missing(value: SnmpValue, missing: Sequence[int | str]) -> bool:
    """Whether ``value`` is one of a source's "no reading" values (ints compare as numbers, text as text)."""
    if not missing:
        return False
    if isinstance(value, int):
        return value in missing or str(value) in missing
    t = text(value)
    return t in missing or any(isinstance(m, int) and str(m) == t for m in missing)


def _typed(value: int | str, typ: str) -> FieldValue | None:
    """A mapped value as the spec's type (a mapped name under a numeric type is kept as it is)."""
    if typ == "str":
        return str(value)
    if isinstance(value, int):
        return value if typ == "int" else float(value)
    n = number(value)
    if n is None:
        return None
    return n if typ == "float" else int(n)


def convert(src: Source, value: SnmpValue, typ: str) -> FieldValue | None:
    """One raw value through a source's conversion (see :class:`config.profiles.Source`); None = no value."""
    if is_missing(value, src.missing):
        return None
    if src.map is not None:
        mapped = src.map.get(text(value))
        if mapped is not None:
            return _typed(mapped, typ)
    if src.pattern is not None:
        found = re.search(src.pattern, text(value))
        if found is None:
            return None
        value = found.group(1) if found.groups() else found.group(0)
    if src.decode is not None:
        decoded = VALUE_DECODERS[src.decode](value)
        if decoded is None:
            return None
        value = decoded
    if typ == "str":
        s = text(value)
        return None if src.nonzero and s == "" else s
    plain = src.scale == 1.0 and src.offset == 0.0 and src.above is None
    if isinstance(value, int) and plain:
        if src.nonzero and value == 0:
            return None
        return value if typ == "int" else float(value)
    n = number(value)
    if n is None or (src.nonzero and n == 0):
        return None
    result = n * src.scale + src.offset
    if src.above is not None:
        flag = 1 if result >= src.above else 0
        return flag if typ == "int" else float(flag)
    if typ == "float":
        return result if plain else round(result, 6)
    if src.scale.is_integer() and src.offset == 0.0 and isinstance(value, int):
        return value * int(src.scale)
    return int(result)


@dataclass(frozen=True, slots=True)
class Picked:
    """A field's value and the source it came from."""

    value: FieldValue
    source: Source


CountLookup = Callable[[Source], int | None]


def _no_counts(src: Source) -> int | None:
    return None


def pick(
    spec: ValueSpec, lookup: Callable[[str], SnmpValue | None], counts: CountLookup = _no_counts
) -> Picked | None:
    """The value of ``spec``: the first source that has a usable value, or (``combine`` min/max/sum)
    the combination of every source that has one."""
    found: list[Picked] = []
    for src in spec.sources:
        if src.count is not None:
            n = counts(src)
            v: FieldValue | None = None if n is None else _typed(n, spec.type)
        else:
            raw = lookup(src.key)
            v = None if raw is None else convert(src, raw, spec.type)
        if v is None:
            continue
        if spec.combine == "first":
            return Picked(v, src)
        found.append(Picked(v, src))
    numbers = [p.value for p in found if isinstance(p.value, int | float) and not isinstance(p.value, bool)]
    if not numbers:
        return None
    if spec.combine == "min":
        value: int | float = min(numbers)
    elif spec.combine == "max":
        value = max(numbers)
    else:
        value = sum(numbers)
    return Picked(value, found[0].source)


@dataclass(frozen=True, slots=True)
class Row:
    """One index of a table group: its tags, emitted fields and counter state for the rate math."""

    index: str
    tags: Mapping[str, str]
    fields: Mapping[str, FieldValue]
    observation: Observation


@dataclass(frozen=True, slots=True)
class Table:
    """The rows one table group produced."""

    group: TableGroup
    rows: tuple[Row, ...]


@dataclass(frozen=True, slots=True)
class Parsed:
    """:func:`parse`'s result: device-level samples, and table rows still to get their rates."""

    samples: tuple[Sample, ...]
    tables: tuple[Table, ...]


def _index_key(index: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in index.split("."))
    except ValueError:
        return (1 << 62,)


class Counts:
    """Rows of counted columns per parent row, for a table group's ``count`` sources (precomputed once)."""

    def __init__(self, group: TableGroup, columns: Mapping[str, Mapping[str, SnmpValue]]) -> None:
        parent_of = PARENT_DECODERS[group.count_parent or DEFAULT_PARENT]
        self._by: dict[tuple[str, int | str | None], dict[str, int] | None] = {}
        for spec in [*group.tags.values(), *group.fields.values()]:
            for src in spec.sources:
                if src.count is None or (src.count, src.equals) in self._by:
                    continue
                rows = columns.get(src.count, {})
                if not rows:
                    self._by[(src.count, src.equals)] = None  # not answered: unknown, not zero
                    continue
                per: dict[str, int] = {}
                for index, value in rows.items():
                    if src.equals is not None and not _equals(src.equals, value):
                        continue
                    parent = parent_of(index)
                    if parent is not None:
                        per[parent] = per.get(parent, 0) + 1
                self._by[(src.count, src.equals)] = per

    def lookup(self, index: str) -> CountLookup:
        """The count lookup for one row of the group."""

        def count(src: Source) -> int | None:
            per = self._by.get((src.column, src.equals))
            return None if per is None else per.get(index, 0)

        return count


def column_counts(columns: Mapping[str, Mapping[str, SnmpValue]]) -> CountLookup:
    """The count lookup of a scalars group: rows of the whole column (those ``equals`` a value, if given);
    None when the column answered no row at all (unknown, not zero)."""

    def count(src: Source) -> int | None:
        rows = columns.get(src.column)
        if not rows:
            return None
        if src.equals is None:
            return len(rows)
        want = src.equals
        return sum(1 for v in rows.values() if _equals(want, v))

    return count


def _equals(want: int | str, value: SnmpValue) -> bool:
    if isinstance(want, int):
        n = number(value)
        return n is not None and n == want
    return text(value) == want


def keyed_columns(
    group: TableGroup, columns: Mapping[str, Mapping[str, SnmpValue]]
) -> Mapping[str, Mapping[str, SnmpValue]]:
    """The walked columns by lookup key: a source with an ``index_suffix`` sees its column re-indexed by
    row (``{port}.{onu}.1`` → ``{port}.{onu}``; indexes without the suffix dropped)."""
    suffixed = [s for s in group.row_sources if s.index_suffix]
    if not suffixed:
        return columns
    out = dict(columns)
    for src in suffixed:
        suffix = src.index_suffix or ""
        rows = columns.get(src.column, {})
        out[src.key] = {i[: -len(suffix)]: v for i, v in rows.items() if i.endswith(suffix) and len(i) > len(suffix)}
    return out


def parse_table(group: TableGroup, raw: Raw, base_tags: Mapping[str, str], time_s: float) -> Table:
    """One row per index seen in any of the group's row columns that passes ``where`` and the index
    decoder (tags, emitted fields, counter state)."""
    cols = keyed_columns(group, raw.columns)
    indexes: set[str] = set()
    for src in group.row_sources:
        if group.rows_from is None or src.oid == group.rows_from:
            indexes.update(cols.get(src.key, {}))
    decoder = INDEX_DECODERS[group.index] if group.index is not None else None
    counts = Counts(group, raw.columns)
    uptime_raw = raw.scalars.get(group.uptime) if group.uptime else None
    uptime = uptime_raw if isinstance(uptime_raw, int) else None
    rows = []
    for index in sorted(indexes, key=_index_key):

        def lookup(oid: str, index: str = index) -> SnmpValue | None:
            return cols.get(oid, {}).get(index)

        if not all(_matches(w, lookup(w.column)) for w in group.where):
            continue
        tags = dict(base_tags)
        if decoder is not None:
            decoded = decoder.decode(index)
            if decoded is None:
                continue
            tags.update(decoded)
        if group.index_tag is not None:
            tags[group.index_tag] = index
        count = counts.lookup(index)
        for name, spec in group.tags.items():
            p = pick(spec, lookup, count)
            if p is not None and spec.emit and str(p.value) != "":
                tags[name] = str(p.value)
        fields: dict[str, FieldValue] = {}
        counters: dict[str, int] = {}
        bits: dict[str, int] = {}
        discontinuity: int | None = None
        for name, spec in group.fields.items():
            p = pick(spec, lookup, count)
            if p is None:
                continue
            if spec.emit:
                fields[name] = p.value
            if p.source.counter is not None and isinstance(p.value, int):
                counters[name] = p.value
                bits[name] = p.source.counter
            if name == group.discontinuity and isinstance(p.value, int):
                discontinuity = p.value
        speed = fields.get(group.speed) if group.speed else None
        state = CounterState(time_s, counters, bits, uptime_cs=uptime, discontinuity=discontinuity)
        obs = Observation(state, speed if isinstance(speed, int) else None)
        rows.append(Row(index, tags, fields, obs))
    return Table(group, tuple(rows))


def _index_under(index: str, prefix: str) -> bool:
    return index == prefix or index.startswith(prefix + ".")


def _matches(cond: Condition, value: SnmpValue | None) -> bool:
    if value is None:
        return False
    if cond.matches is not None:
        return re.search(cond.matches, text(value)) is not None
    if isinstance(cond.equals, int):
        n = number(value)
        return n is not None and n == cond.equals
    return text(value) == cond.equals


def reduce_values(src: ReduceSource, columns: Mapping[str, Mapping[str, SnmpValue]]) -> list[float]:
    """The numbers one reduce source gives, one per kept row (a percentage for used/free sources)."""
    base = src.value or src.used
    assert base is not None  # guaranteed by ReduceSource's validator
    out: list[float] = []
    for index, raw in columns.get(base, {}).items():
        if src.index_prefix is not None and not _index_under(index, src.index_prefix):
            continue
        if not all(_matches(w, columns.get(w.column, {}).get(index)) for w in src.where):
            continue
        v = number(raw)
        if v is None:
            continue
        if src.value is not None:
            out.append(v * src.scale)
            continue
        other_col = src.free if src.free is not None else src.total
        other = number(columns.get(other_col or "", {}).get(index, b""))
        if other is None:
            continue
        total = v + other if src.free is not None else other
        if total > 0:
            out.append(100.0 * v / total * src.scale)
    return out


def parse_reduce(group: ReduceGroup, raw: Raw) -> float | None:
    """The group's one value: ``reduce`` over the rows of every source (``all``) or of the first
    source that has any (``first``); None when no row gives a value."""
    values: list[float] = []
    for src in group.sources:
        got = reduce_values(src, raw.columns)
        values += got
        if got and group.combine == "first":
            break
    if not values:
        return None
    if group.reduce == "max":
        return max(values)
    if group.reduce == "min":
        return min(values)
    return sum(values) / len(values)


def measurement_tags(measurement: str, tags: Mapping[str, str]) -> dict[str, str]:
    """The target's tags that ``measurement`` declares (all of them for an undeclared measurement)."""
    spec = m.BY_NAME.get(measurement)
    return {k: v for k, v in tags.items() if v != "" and (spec is None or k in spec.tags)}


def device_tags(target: Target, profile: Profile) -> dict[str, str]:
    """A device's tags: the target's (device, site, region, role, vendor); vendor from the profile."""
    tags = {m.TAG_DEVICE: target.name, **dict(target.tags)}
    if profile.vendor and not tags.get(m.TAG_VENDOR):
        tags[m.TAG_VENDOR] = profile.vendor
    return tags


def parse(
    profile: Profile, job: str, raw: Raw, *, target: Target, at: datetime
) -> Parsed:
    """Turn what :func:`fetch` read for ``job`` into samples (pure).

    Scalars and reduce groups of one measurement merge into one sample (``device``: reachable,
    response_ms, uptime_s, sysname, cpu_pct, mem_pct). An unreachable device (nothing answered)
    still gives ``reachable=0``. Table groups give :class:`Table` rows (rates are added later).
    """
    tags = device_tags(target, profile)
    merged: dict[str, dict[str, FieldValue]] = {}
    tables: list[Table] = []
    answered = raw.response_ms is not None
    for g in profile.groups_for(job):
        if isinstance(g, ScalarsGroup):
            fields = merged.setdefault(g.measurement, {})
            if g.reachability:
                fields[m.F_REACHABLE] = 1 if answered else 0
                if raw.response_ms is not None:
                    fields[m.F_RESPONSE_MS] = round(raw.response_ms, 3)
            counts = column_counts(raw.columns)
            for name, spec in g.fields.items():
                p = pick(spec, raw.scalars.get, counts)
                if p is not None and spec.emit:
                    fields[name] = p.value
        elif isinstance(g, ReduceGroup):
            v = parse_reduce(g, raw)
            if v is not None:
                merged.setdefault(g.measurement, {})[g.field] = round(v, 3)
        else:
            t_tags = measurement_tags(g.measurement, tags)
            tables.append(parse_table(g, raw, t_tags, at.timestamp()))
    samples = tuple(
        Sample(meas, measurement_tags(meas, tags), fields, at) for meas, fields in merged.items() if fields
    )
    return Parsed(samples, tuple(tables))


def rate_rules(group: TableGroup) -> tuple[RateRule, ...]:
    """The group's ``rates`` as :class:`RateRule` values for the tracker."""
    return tuple(
        RateRule(name, r.counter, r.scale, r.bits_per_unit, r.util) for name, r in group.rates.items()
    )


def table_samples(table: Table, rates: Mapping[str, Mapping[str, float]], at: datetime) -> tuple[Sample, ...]:
    """One sample per row, with the row's rate fields (absent when there is no valid rate)."""
    out = []
    for row in table.rows:
        fields = dict(row.fields)
        fields.update({k: round(v, 6) for k, v in rates.get(row.index, {}).items()})
        out.append(Sample(table.group.measurement, row.tags, fields, at))
    return tuple(out)


# --- profile checks against the measurement schema ---------------------------------------------------------


def schema_problems(profiles: ProfileSet) -> list[str]:
    """Names a profile writes that the measurement schema does not declare (empty when all is well)."""
    problems: list[str] = []
    for prof in profiles.profiles.values():
        for g in prof.groups:
            spec = m.BY_NAME.get(g.measurement)
            where = f"{prof.source}: group {g.name!r}"
            if spec is None:
                problems.append(f"{where}: unknown measurement {g.measurement!r}")
                continue
            names: list[str] = []
            tag_names: list[str] = []
            if isinstance(g, ScalarsGroup):
                names = [k for k, s in g.fields.items() if s.emit]
                if g.reachability:
                    names += [m.F_REACHABLE, m.F_RESPONSE_MS]
            elif isinstance(g, ReduceGroup):
                names = [g.field]
            else:
                names = [k for k, s in g.fields.items() if s.emit] + list(g.rates)
                names += [r.util for r in g.rates.values() if r.util]
                tag_names = [*([g.index_tag] if g.index_tag else []), *g.tags]
                problems += _decoder_problems(g, where)
                if g.index is not None and g.index in INDEX_DECODERS:
                    tag_names += list(INDEX_DECODERS[g.index].tags)
            problems += [f"{where}: field {n!r} not in {spec.name}" for n in names if n not in spec.fields]
            problems += [f"{where}: tag {n!r} not in {spec.name}" for n in dict.fromkeys(tag_names)
                         if n not in spec.tags]
            problems += [f"{where}: unknown value decoder {d!r} (known: {', '.join(VALUE_DECODERS)})"
                         for d in _value_decoders(g) if d not in VALUE_DECODERS]
    return problems


def _decoder_problems(g: TableGroup, where: str) -> list[str]:
    out = []
    if g.index is not None and g.index not in INDEX_DECODERS:
        out.append(f"{where}: unknown index decoder {g.index!r} (known: {', '.join(INDEX_DECODERS)})")
    if g.count_parent is not None and g.count_parent not in PARENT_DECODERS:
        out.append(f"{where}: unknown count_parent {g.count_parent!r} (known: {', '.join(PARENT_DECODERS)})")
    return out


def _value_decoders(g: AnyGroup) -> list[str]:
    specs: list[ValueSpec] = []
    if isinstance(g, ScalarsGroup):
        specs = list(g.fields.values())
    elif isinstance(g, TableGroup):
        specs = [*g.tags.values(), *g.fields.values()]
    return [s.decode for spec in specs for s in spec.sources if s.decode is not None]


# --- the facade ---------------------------------------------------------------------------------------------


ClientFactory = Callable[[Target], SnmpClient]


class SnmpCollector:
    """Polls one job of one device by its profile: ``await collector.collect(target, profile, job)``.

    A profile's ``max_requests_per_s`` is enforced per device across its jobs (a token bucket on the
    injected ``monotonic`` clock and ``sleep``); per PDU with a :class:`~collectors.snmp.ratelimit.Gateable`
    client (:class:`PysnmpClient` has ``use_gate``), else per port call.

    Device faults (timeouts, auth, unreachable, odd answers) become a PollResult with ``error``;
    the system job of an unreachable device still yields a ``device`` sample with ``reachable=0``.

    ``budgets`` (job → its ``timeout_s``, the scheduler's backstop) sets each job's per-request timeout
    to :func:`~collectors.scheduler.request_timeout` of its budget, so every try of a request ends
    before the backstop; a job without a budget keeps the target's timeout.
    """

    def __init__(
        self,
        profiles: ProfileSet,
        client_factory: ClientFactory,
        tracker: RateTracker,
        clock: Clock,
        *,
        timer: Callable[[], float] = time.perf_counter,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        budgets: Mapping[str, float] | None = None,
    ) -> None:
        problems = schema_problems(profiles)
        if problems:
            raise ValueError("profiles do not fit the measurement schema:\n" + "\n".join(problems))
        self._profiles = profiles
        self._client_factory = client_factory
        self._tracker = tracker
        self._clock = clock
        self._timer = timer
        self._monotonic = monotonic
        self._sleep = sleep
        self._throttles: dict[str, Throttle] = {}
        self._budgets = dict(budgets or {})

    def throttle(self, device: str, rate: float) -> Throttle:
        """The device's request-rate limiter (one per device, shared by its jobs; rebuilt on a new rate)."""
        t = self._throttles.get(device)
        if t is None or t.bucket.rate != rate:
            t = Throttle(TokenBucket(rate), self._monotonic, self._sleep)
            self._throttles[device] = t
        return t

    async def collect(self, target: Target, profile: str, job: str) -> PollResult:
        """Run ``job`` of ``profile`` against ``target``. Raises only for an unknown profile name."""
        prof = self._profiles.get(profile)
        groups = prof.groups_for(job)
        budget = self._budgets.get(job)
        if budget is not None:
            target = replace(target, timeout_s=request_timeout(budget, target.retries))
        at = self._clock()
        t0 = self._timer()
        client = self._client_factory(target)
        if prof.max_requests_per_s is not None:
            throttle = self.throttle(target.name, prof.max_requests_per_s)
            client = gate_client(client, PollGate(throttle, target.name, job, budget))
        before, pdus_before = client.varbinds, client.pdus
        try:
            raw = await fetch(client, groups, timer=self._timer)
        except BaseException:  # cancelled (the scheduler's backstop, a stop) or a bug: the interval is lost
            self._forget(target.name, groups)
            raise
        finally:
            varbinds, pdus = client.varbinds - before, client.pdus - pdus_before
            await client.close()
        error = raw.error
        samples: tuple[Sample, ...] = ()
        dropped = 0
        try:
            parsed = parse(prof, job, raw, target=target, at=at)
            samples = parsed.samples
            for table in parsed.tables:
                if raw.error is not None:
                    break  # a half-walked table has no trustworthy counters
                key = f"{target.name}/{table.group.name}"
                assessed = self._tracker.assess(key, _obs(table), rate_rules(table.group))
                dropped += _log_drops(target.name, job, table.group, assessed)
                rates = {index: r.fields for index, r in assessed.items()}
                samples += table_samples(table, rates, at)
        except Exception as exc:  # an answer the parser did not expect is this device's fault
            log.exception("device=%s job=%s profile=%s: cannot parse the answer", target.name, job, profile)
            error = error or f"parse: {type(exc).__name__}"
        if error is not None:
            self._forget(target.name, groups)
            log.warning("device=%s job=%s failed: %s %s", target.name, job, error, raw.detail)
        duration = self._timer() - t0
        return PollResult(target.name, job, at, duration, samples, error, varbinds, pdus, dropped)

    def _forget(self, device: str, groups: Sequence[AnyGroup]) -> None:
        for g in groups:
            if isinstance(g, TableGroup):
                self._tracker.forget(f"{device}/{g.name}")


def _log_drops(device: str, job: str, group: TableGroup, assessed: Mapping[str, RowRates]) -> int:
    """Log (debug) each row's rate fields left without a value, by reason; return how many there were."""
    n = 0
    for index, r in assessed.items():
        if not r.dropped:
            continue
        n += len(r.dropped)
        if log.isEnabledFor(logging.DEBUG):
            by_reason: dict[str, list[str]] = {}
            for name, drop in r.dropped.items():
                by_reason.setdefault(drop.value, []).append(name)
            for reason, names in by_reason.items():
                log.debug(
                    "device=%s job=%s %s=%s: no rate for %s (%s)",
                    device, job, group.index_tag or "index", index, ", ".join(names), reason,
                )
    return n


def _obs(table: Table) -> dict[str, Observation]:
    return {row.index: row.observation for row in table.rows}
