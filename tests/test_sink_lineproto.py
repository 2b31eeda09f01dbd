"""Line protocol encoding: a table of cases, and influxdb-client's Point serializer as an oracle."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from influxdb_client.client.write.point import Point
from influxdb_client.domain.write_precision import WritePrecision

from collectors.model import FieldValue, Sample
from collectors.sink.lineproto import encode, encode_many, timestamp_ns

T0 = datetime(2026, 1, 1, tzinfo=UTC)
NS0 = 1767225600 * 10**9


def s(
    fields: dict[str, FieldValue], tags: dict[str, str] | None = None, m: str = "m", t: datetime = T0
) -> Sample:
    return Sample(m, tags or {}, fields, t)


CASES: list[tuple[str, Sample, str | None]] = [
    ("int", s({"f": 1}), f"m f=1i {NS0}"),
    ("negative int", s({"f": -42}), f"m f=-42i {NS0}"),
    ("int64 max", s({"f": 2**63 - 1}), f"m f=9223372036854775807i {NS0}"),
    ("beyond int64: field dropped", s({"f": 2**63, "g": 1}), f"m g=1i {NS0}"),
    ("float", s({"f": 1.5}), f"m f=1.5 {NS0}"),
    ("whole float", s({"f": 2.0}), f"m f=2 {NS0}"),
    ("big float", s({"f": 1e20}), f"m f=1e+20 {NS0}"),
    ("bool true", s({"f": True}), f"m f=true {NS0}"),
    ("bool false", s({"f": False}), f"m f=false {NS0}"),
    ("string", s({"f": "up"}), f'm f="up" {NS0}'),
    ("string quotes and backslash", s({"f": 'a"b\\c'}), f'm f="a\\"b\\\\c" {NS0}'),
    ("string newline kept", s({"f": "a\nb"}), f'm f="a\nb" {NS0}'),
    ("NaN dropped", s({"f": math.nan, "g": 1}), f"m g=1i {NS0}"),
    ("inf dropped", s({"f": math.inf, "g": -math.inf, "h": 0.5}), f"m h=0.5 {NS0}"),
    ("only NaN: skipped", s({"f": math.nan}), None),
    ("no fields: skipped", s({}), None),
    ("fields sorted", s({"b": 1, "a": 2}), f"m a=2i,b=1i {NS0}"),
    ("tags sorted", s({"f": 1}, {"z": "1", "a": "2"}), f"m,a=2,z=1 f=1i {NS0}"),
    ("empty tag value omitted", s({"f": 1}, {"a": "", "b": "x"}), f"m,b=x f=1i {NS0}"),
    ("all tags empty", s({"f": 1}, {"a": ""}), f"m f=1i {NS0}"),
    (
        "tag spaces",
        s({"f": 1}, {"ifname": "GigabitEthernet 0/0/1"}),
        f"m,ifname=GigabitEthernet\\ 0/0/1 f=1i {NS0}",
    ),
    ("tag comma, equals", s({"f": 1}, {"k": "a,b=c"}), f"m,k=a\\,b\\=c f=1i {NS0}"),
    ("tag key specials", s({"f": 1}, {"a b,c=d": "v"}), f"m,a\\ b\\,c\\=d=v f=1i {NS0}"),
    ("CJK tag value", s({"f": 1}, {"site": "北京海淀"}), f"m,site=北京海淀 f=1i {NS0}"),
    ("CJK with space", s({"f": 1}, {"ifalias": "至 上海 汇聚"}), f"m,ifalias=至\\ 上海\\ 汇聚 f=1i {NS0}"),
    ("tag newline", s({"f": 1}, {"a": "x\ny"}), f"m,a=x\\ny f=1i {NS0}"),
    ("tag tab and CR kept", s({"f": 1}, {"a": "x\ty\rz"}), f"m,a=x\ty\rz f=1i {NS0}"),
    ("tag trailing backslash", s({"f": 1}, {"a": "x\\"}), f"m,a=x\\  f=1i {NS0}"),
    ("field key specials", s({"in bps,x=y": 1}), f"m in\\ bps\\,x\\=y=1i {NS0}"),
    ("measurement specials", s({"f": 1}, m="my m,x=y"), f"my\\ m\\,x=y f=1i {NS0}"),
    ("empty measurement: skipped", s({"f": 1}, m=""), None),
    ("µs time", s({"f": 1}, t=T0 + timedelta(microseconds=7)), f"m f=1i {NS0 + 7000}"),
    (
        "other tz",
        s({"f": 1}, t=datetime(2026, 1, 1, 8, tzinfo=timezone(timedelta(hours=8)))),
        f"m f=1i {NS0}",
    ),
    ("naive = UTC", s({"f": 1}, t=datetime(2026, 1, 1)), f"m f=1i {NS0}"),
    ("pre-epoch", s({"f": 1}, t=datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC)), "m f=1i -1000000000"),
]


@pytest.mark.parametrize(("sample", "line"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_encode(sample: Sample, line: str | None) -> None:
    assert encode(sample) == line


def test_encode_many_skips_empty_samples_and_keeps_order() -> None:
    samples = [s({"f": i}, t=T0 + timedelta(seconds=i)) for i in range(3)]
    samples.insert(1, s({}))
    assert encode_many(samples) == [f"m f={i}i {NS0 + i * 10**9}" for i in range(3)]


@pytest.mark.parametrize("us", [0, 1, 999_999, 123_456])
def test_timestamp_is_exact(us: int) -> None:
    t = datetime(2262, 4, 11, 23, 47, 16, us, tzinfo=UTC)  # near the int64 ns limit: floats would round
    assert timestamp_ns(t) == ((t - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)) * 1000
    assert timestamp_ns(t) % 1000 == 0 and (timestamp_ns(t) // 1000) % 10**6 == us


def _via_point(sample: Sample) -> str | None:
    p = Point(sample.measurement)  # type: ignore[no-untyped-call]
    for k, v in sample.tags.items():
        p.tag(k, v)  # type: ignore[no-untyped-call]
    for k, fv in sample.fields.items():
        p.field(k, fv)  # type: ignore[no-untyped-call]
    line: str = p.time(sample.time, WritePrecision.NS).to_line_protocol()  # type: ignore[no-untyped-call]
    return line or None


# tab and CR: kept raw here, where Point writes \t and \r (see the table above)
_text = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\t\r"), max_size=12).filter(
    lambda x: not x.endswith("\\")
)
_name = _text.filter(lambda x: x != "")
_value = st.one_of(
    st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False, allow_infinity=False), st.booleans(), _text
)


@given(
    st.builds(
        Sample,
        measurement=_name,
        tags=st.dictionaries(_name, _text, max_size=4),
        fields=st.dictionaries(_name, _value, min_size=1, max_size=4),
        time=st.datetimes(datetime(1990, 1, 1), datetime(2200, 1, 1), timezones=st.just(UTC)),
    )
)
def test_matches_influxdb_client_point(sample: Sample) -> None:
    assert encode(sample) == _via_point(sample)
