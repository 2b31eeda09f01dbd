"""Writers against real servers (InfluxDB 1.6.7 /write, victoria-metrics /api/v2/write), and the pure
classification of outcomes."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from collectors.model import FieldValue, Sample
from collectors.sink.backoff import Backoff
from collectors.sink.influx_v1 import InfluxV1Writer
from collectors.sink.influx_v2 import InfluxV2Writer
from collectors.sink.lineproto import encode_many
from collectors.sink.outcome import Rejected, RetryableWriteError, Written, classify, first_bad_line
from config.models import InfluxV1, InfluxV2
from tests.servers.influx import InfluxServer, free_port
from tests.servers.victoria import VictoriaServer

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
_db_numbers = itertools.count()


def fresh_db(server: InfluxServer, prefix: str) -> str:
    db = f"{prefix}_{next(_db_numbers)}"
    server.create_db(db)
    return db


def v1(server: InfluxServer, db: str) -> InfluxV1Writer:
    return InfluxV1Writer(InfluxV1(api="v1", url=server.url, database=db), timeout_s=5)


TAG_VALUES = [
    "olt-bj-01",
    "北京海淀",
    "至 上海 汇聚 10G",
    "GigabitEthernet 0/0/1",
    "a,b=c d",
    'quote"s',
    "tab\there and\rCR",
    "x\\y",
    "new\nline",
]
STORED_AS = {"new\nline": "new\\nline"}  # a line cannot hold a newline: InfluxDB keeps the two characters
FIELD_VALUES: list[tuple[str, FieldValue, str]] = [
    ("an_int", 42, "integer"),
    ("a_big_int", 2**62, "integer"),
    ("a_negative", -7, "integer"),
    ("a_float", 3.25, "float"),
    ("a_whole_float", 2.0, "float"),
    ("a_true", True, "boolean"),
    ("a_false", False, "boolean"),
    ("a_string", 'up "fine" \\ 正常', "string"),
    ("a_multiline", "line1\nline2", "string"),
]


@pytest.mark.parametrize("tag_value", TAG_VALUES)
def test_v1_write_reads_back_exactly(influx_up: InfluxServer, tag_value: str) -> None:
    db = fresh_db(influx_up, "v1rt")
    sample = Sample(
        "rt", {"device": tag_value, "site": "站点 1", "empty": ""}, {k: v for k, v, _ in FIELD_VALUES}, T0
    )
    writer = v1(influx_up, db)
    body = "\n".join(encode_many([sample])).encode()
    assert writer.write(body, 1) == Written(1)
    rows = influx_up.rows(db, 'SELECT * FROM "rt" GROUP BY *')
    assert len(rows) == 1
    row = rows[0]
    assert row["time"] == int(T0.timestamp()) * 10**9
    assert row["device"] == STORED_AS.get(tag_value, tag_value)
    assert row["site"] == "站点 1"
    assert "empty" not in row
    for key, value, _ in FIELD_VALUES:
        assert row[key] == value, key
        assert type(row[key]) is type(value) or isinstance(value, float), key
    types = {k: t for k, t in influx_up.query('SHOW FIELD KEYS FROM "rt"', db)[0]["values"]}
    assert types == {k: t for k, _, t in FIELD_VALUES}
    writer.close()


@pytest.mark.parametrize(
    ("body", "expect_line"),
    [
        (b"ok f=1i 1\nbad line here\nok f=2i 2", "bad line here"),
        (b"tc f=1i 1\ntc f=1i 2", ""),  # the conflict comes from an earlier write (below)
    ],
)
def test_v1_rejected_batch_names_the_bad_line(influx_up: InfluxServer, body: bytes, expect_line: str) -> None:
    db = fresh_db(influx_up, "v1bad")
    writer = v1(influx_up, db)
    if not expect_line:
        assert writer.write(b'tc f="a string" 0', 1) == Written(1)
        expect_line = "tc f=1i 1"
    outcome = writer.write(body, body.count(b"\n") + 1)
    assert isinstance(outcome, Rejected)
    assert outcome.status == 400
    assert outcome.first_bad_line == expect_line
    assert outcome.lines == body.count(b"\n") + 1
    writer.close()


def test_v1_missing_database_is_retryable_not_dropped(influx_up: InfluxServer) -> None:
    writer = v1(influx_up, "no_such_db")
    with pytest.raises(RetryableWriteError) as e:
        writer.write(b"m f=1i 1", 1)
    assert e.value.status == 404


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_connection_refused_is_retryable(api: str) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    writer = (
        InfluxV1Writer(InfluxV1(api="v1", url=url), timeout_s=2)
        if api == "v1"
        else InfluxV2Writer(
            InfluxV2(api="v2", url=url, org="o", bucket="b", token=SecretStr("t")), timeout_s=2
        )
    )
    with pytest.raises(RetryableWriteError):
        writer.write(b"m f=1i 1", 1)
    writer.close()


def test_v2_write_through_influxdb_client_reads_back(victoria: VictoriaServer) -> None:
    writer = InfluxV2Writer(
        InfluxV2(api="v2", url=victoria.url, org="netqos", bucket="netqos", token=SecretStr("secret")),
        timeout_s=5,
    )
    samples = [
        Sample(
            "v2if",
            {"device": "olt-北京-01", "ifname": f"GPON 0/1/{i}", "role": "olt"},
            {"in_octets": 10**9 + i, "util": i / 4, "up": i % 2 == 0},
            T0 + timedelta(seconds=i),
        )
        for i in range(4)
    ]
    assert writer.write("\n".join(encode_many(samples)).encode(), 4) == Written(4)
    writer.close()
    got = victoria.export('{__name__=~"v2if_.*"}')
    by_name: dict[str, dict[str, tuple[float, int]]] = {}
    for s in got:
        (value,), (ts,) = s.values, s.timestamps_ms
        by_name.setdefault(s.metric["__name__"], {})[s.metric["ifname"]] = (value, ts)
        assert s.metric["device"] == "olt-北京-01"
        assert s.metric["role"] == "olt"
    for i, sample in enumerate(samples):
        ts_ms = int(sample.time.timestamp() * 1000)
        ifname = f"GPON 0/1/{i}"
        assert by_name["v2if_in_octets"][ifname] == (10**9 + i, ts_ms)
        assert by_name["v2if_util"][ifname] == (i / 4, ts_ms)
        assert by_name["v2if_up"][ifname] == (1.0 if i % 2 == 0 else 0.0, ts_ms)


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (204, "written"),
        (200, "written"),
        (400, "rejected"),
        (413, "rejected"),
        (422, "rejected"),
        (401, "retry"),
        (403, "retry"),
        (404, "retry"),
        (408, "retry"),
        (429, "retry"),
        (500, "retry"),
        (502, "retry"),
        (503, "retry"),
    ],
)
def test_classify(status: int, kind: str) -> None:
    body = b"a f=1i 1\nb f=2i 2"
    if kind == "retry":
        with pytest.raises(RetryableWriteError) as e:
            classify(status, "busy", body, 2)
        assert e.value.status == status
    else:
        outcome = classify(status, '{"error":"x"}', body, 2)
        assert isinstance(outcome, Written if kind == "written" else Rejected)
        assert outcome.lines == 2


@pytest.mark.parametrize(
    ("body", "message", "line"),
    [
        (b"a f=1i 1\nb f= 2", '{"error":"unable to parse \'b f= 2\': missing field value"}', "b f= 2"),
        (
            b'm,x=1 g=1i 1\nm,x=1 f="s" 2\nm f=1i 3',
            'partial write: field type conflict: input field "f" on measurement "m" is type string, '
            "already exists as type integer dropped=1",
            'm,x=1 f="s" 2',
        ),
        (
            b"my\\ m g=1i 1\nmy\\ m,t=a\\ b h=2,f=1i 2",
            'partial write: field type conflict: input field "f" on measurement "my m" is type integer, '
            "already exists as type float dropped=1",
            "my\\ m,t=a\\ b h=2,f=1i 2",
        ),
        (b"a f=1i 1\nb f=2i 2", "something else", "a f=1i 1 (first line of the batch)"),
    ],
)
def test_first_bad_line(body: bytes, message: str, line: str) -> None:
    assert first_bad_line(body, message) == line


@pytest.mark.parametrize(
    ("attempt", "jitter", "delay"),
    [
        (0, 0.0, 0.25),
        (0, 0.999, 0.49975),
        (1, 0.0, 0.5),
        (3, 1.0, 4.0),
        (6, 1.0, 30.0),
        (10, 0.0, 15.0),
        (500, 1.0, 30.0),
    ],
)
def test_backoff(attempt: int, jitter: float, delay: float) -> None:
    assert Backoff(base_s=0.5, cap_s=30.0).delay(attempt, jitter) == pytest.approx(delay)
