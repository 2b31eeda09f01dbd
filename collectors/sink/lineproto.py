"""InfluxDB line protocol encoding of :class:`collectors.model.Sample` (pure, on the hot path).

Rules (checked against InfluxDB 1.6.7 and influxdb-client's ``Point`` serializer, which this matches
for every sample it can encode):

- measurement: ``,`` and space escaped; tag and field keys and tag values: ``,``, ``=`` and space
  escaped; a newline is written as the two characters ``\\n`` (a line never breaks; InfluxDB stores
  those two characters); tab and CR are kept as they are (InfluxDB 1.x stores them exactly, where
  influxdb-client's ``Point`` would write ``\\t``/``\\r`` and InfluxDB would store those two characters).
  A tag value ending in a backslash gets a trailing space (InfluxDB 1.x reads ``\\`` + space as an
  escaped space, so that is the only way such a line still parses).
- tags sorted by key (what InfluxDB wants); tags with an empty key or value omitted.
- fields sorted by key: ``bool`` → ``true``/``false``; ``int`` → ``<n>i`` (outside int64: dropped,
  the server would reject the whole batch); ``float`` → shortest repr (NaN/±inf: dropped);
  ``str`` → quoted, ``"`` and ``\\`` escaped. A sample left with no field is skipped (``None``).
- time: integer nanoseconds since the epoch from the (UTC, timezone-aware) datetime; a naive
  datetime is taken as UTC.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from collectors.model import FieldValue, Sample

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)
_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1

_CONTROL = {"\n": r"\n"}
_ESC_MEASUREMENT = str.maketrans({",": r"\,", " ": r"\ ", **_CONTROL})
_ESC_KEY = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ ", **_CONTROL})
_ESC_STRING = str.maketrans({'"': '\\"', "\\": "\\\\"})
_KEY_SPECIALS = frozenset(",= \n\\")


def escape_measurement(name: str) -> str:
    out = name.translate(_ESC_MEASUREMENT)
    return out + " " if out.endswith("\\") else out


def escape_key(key: str) -> str:
    """Escape a tag key, tag value or field key."""
    if _KEY_SPECIALS.isdisjoint(key):  # the common case: nothing to escape
        return key
    out = key.translate(_ESC_KEY)
    return out + " " if out.endswith("\\") else out


def format_value(value: FieldValue) -> str | None:
    """The field value as line protocol, or ``None`` when it cannot be written (NaN, inf, > int64)."""
    cls = type(value)
    if cls is float:
        s = repr(value)
        if s in ("nan", "inf", "-inf"):
            return None
        return s[:-2] if s.endswith(".0") else s
    if cls is int:
        return f"{value}i" if _INT64_MIN <= value <= _INT64_MAX else None  # type: ignore[operator]
    if cls is bool:
        return "true" if value else "false"
    if cls is str:
        return '"' + value.translate(_ESC_STRING) + '"'  # type: ignore[union-attr]
    # subclasses (IntEnum, numpy scalars, str subclasses): normalise and retry
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return format_value(int(value))
    if isinstance(value, float):
        return format_value(float(value))
    if isinstance(value, str):
        return format_value(str(value))
    raise TypeError(f"unsupported field value type {cls.__name__}")


def timestamp_ns(t: datetime) -> int:
    """Nanoseconds since the epoch, exact (no float rounding); naive datetimes are taken as UTC."""
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return ((t - _EPOCH) // _ONE_US) * 1000


def encode(sample: Sample) -> str | None:
    """One line of line protocol for ``sample``, or ``None`` when it has no writable field."""
    fields = sample.fields
    parts: list[str] = []
    for key in sorted(fields):
        value = fields[key]
        cls = type(value)
        # hot path inlined: plain int / float; everything else through format_value
        if cls is int and _INT64_MIN <= value <= _INT64_MAX:  # type: ignore[operator]
            v: str | None = f"{value}i"
        elif cls is float and value - value == 0.0:  # type: ignore[operator]  # finite: NaN/±inf give NaN
            v = repr(value)
            if v.endswith(".0"):
                v = v[:-2]
        else:
            v = format_value(value)
        if v is not None and key:
            parts.append((key if _KEY_SPECIALS.isdisjoint(key) else escape_key(key)) + "=" + v)
    if not parts or not sample.measurement:
        return None
    field_set = ",".join(parts)
    head = escape_measurement(sample.measurement)
    tags = sample.tags
    if tags:
        parts = [head]
        for key in sorted(tags):
            value = tags[key]
            if key and value:
                parts.append(
                    (key if _KEY_SPECIALS.isdisjoint(key) else escape_key(key))
                    + "="
                    + (value if _KEY_SPECIALS.isdisjoint(value) else escape_key(value))
                )
        head = ",".join(parts)
    t = sample.time
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return f"{head} {field_set} {((t - _EPOCH) // _ONE_US) * 1000}"


def encode_many(samples: Iterable[Sample]) -> list[str]:
    """Lines for the samples that have something to write, in order."""
    out = []
    for s in samples:
        line = encode(s)
        if line is not None:
            out.append(line)
    return out
